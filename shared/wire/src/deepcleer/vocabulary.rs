//! DeepCleer's closed vocabularies and codes.

use crate::enums::{Vocabulary, code_enum, string_enum};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

string_enum! {
    /// Risk detection types (`type`), joined with underscores on the wire.
    RiskType "detection type" {
        Polity => "POLITY",
        Erotic => "EROTIC",
        Advert => "ADVERT",
        Ban => "BAN",
        Violent => "VIOLENT",
        Moan => "MOAN",
        AudioPolitical => "AUDIOPOLITICAL",
        Anthen => "ANTHEN",
        Dirty => "DIRTY",
        Adlaw => "ADLAW",
        Sing => "SING",
        Minor => "MINOR",
        BanedAudio => "BANEDAUDIO",
        CopyrightSongs => "COPYRIGHTSONGS",
        Voice => "VOICE",
        /// Legacy: the `audioTags` section says `gender` is returned "when type includes GENDER".
        Gender => "GENDER",
        /// Legacy: `audioTags.timbre` is returned "when type includes TIMBRE".
        Timbre => "TIMBRE",
        /// Legacy: `audioTags.language` is returned "when type includes LANGUAGE".
        Language => "LANGUAGE",
    }
}

string_enum! {
    /// Business detection types (`businessType`), joined with underscores.
    BusinessType "business detection type" {
        Gender => "GENDER",
        Age => "AGE",
        Timbre => "TIMBRE",
        Sing => "SING",
        Language => "LANGUAGE",
        Voice => "VOICE",
        AudioScene => "AUDIOSCENE",
    }
}

string_enum! {
    /// Where the audio comes from (`data.streamType`).
    StreamType "stream type" {
        Normal => "NORMAL",
        Zego => "ZEGO",
        Agora => "AGORA",
        Trtc => "TRTC",
        Volc => "VOLC",
        Gin => "GIN",
        Ali => "ALI",
        Yunxin => "YUNXIN",
    }
}

impl StreamType {
    /// The `data` field holding this stream type's pull configuration.
    pub fn param_field(&self) -> Option<&'static str> {
        match self {
            StreamType::Zego => Some("zegoParam"),
            StreamType::Agora => Some("agoraParam"),
            StreamType::Trtc => Some("trtcParam"),
            StreamType::Volc => Some("volcParam"),
            StreamType::Gin => Some("ginParam"),
            StreamType::Ali => Some("aliParam"),
            StreamType::Yunxin => Some("yunxinParam"),
            StreamType::Normal | StreamType::Unknown(_) => None,
        }
    }
}

string_enum! {
    /// Audio stream language (`data.lang`); also Zego's `AudioLanguage`.
    Lang "language" {
        Zh => "zh", En => "en", Ar => "ar", Hi => "hi", Es => "es", Fr => "fr",
        Ru => "ru", Pt => "pt", Id => "id", De => "de", Ja => "ja", Tr => "tr",
        Vi => "vi", It => "it", Th => "th", Tl => "tl", Ko => "ko", Ms => "ms",
        /// Automatic detection; must be enabled by DeepCleer.
        Auto => "auto",
    }
}

string_enum! {
    /// Language of returned labels (`acceptLang`); also Zego's `LabelLanguage`.
    AcceptLang "label language" {
        En => "en",
        Zh => "zh",
    }
}

string_enum! {
    /// RTC subscription mode of `agoraParam` / `volcParam`.
    SubscribeMode "subscribe mode" {
        Auto => "AUTO",
        Untrusted => "UNTRUSTED",
        Trusted => "TRUSTED",
    }
}

code_enum! {
    /// `code` of every synchronous response and of callbacks.
    ResponseCode "response code" {
        Success = 1100,
        /// "QPS or stream-count limit exceeded" (video close: "QPS limit exceeded").
        LimitExceeded = 1901,
        InvalidParameters = 1902,
        ServiceFailure = 1903,
        /// Audio: "Stream pull failure". Video close: "Stream count limit exceeded".
        StreamFailure = 1904,
        Unauthorized = 9101,
    }
}

code_enum! {
    /// User level (`data.level`), for per-level interception strategies.
    UserLevel "user level" {
        /// Newly registered, inactive, or level-0 users.
        Lowest = 0,
        Lower = 1,
        Mid = 2,
        Higher = 3,
        /// Paying or VIP users.
        Highest = 4,
    }
}

code_enum! {
    /// User gender (`data.gender`).
    Gender "gender" {
        Unspecified = 0,
        Male = 1,
        Female = 2,
    }
}

code_enum! {
    /// `detail.errorCode` of a start response.
    DetailCode "detail error code" {
        /// The stream is already in moderation; `dupRequestId` names that task.
        DuplicateStream = 1001,
    }
}

code_enum! {
    /// Why a stream ended (`auxInfo.errorCode` of the stream-end callback).
    StreamEndCode "stream-end code" {
        /// Stream URL access failure (HTTP 404 / 403).
        UrlAccessFailure = 3001,
        /// Invalid stream data ("Invalid data found when processing input").
        InvalidStreamData = 3002,
        /// Stream not found (e.g. Zego error 197612).
        StreamNotFound = 3003,
        /// The stream returned no audio data.
        NoAudioData = 3004,
        /// Pull token invalid or expired: refresh the token and resubmit.
        TokenInvalidOrExpired = 3005,
    }
}

impl StreamEndCode {
    /// A stable name for consumers (`TOKEN_INVALID_OR_EXPIRED`), or `UNKNOWN`.
    pub fn name(self) -> &'static str {
        match self {
            StreamEndCode::UrlAccessFailure => "URL_ACCESS_FAILURE",
            StreamEndCode::InvalidStreamData => "INVALID_STREAM_DATA",
            StreamEndCode::StreamNotFound => "STREAM_NOT_FOUND",
            StreamEndCode::NoAudioData => "NO_AUDIO_DATA",
            StreamEndCode::TokenInvalidOrExpired => "TOKEN_INVALID_OR_EXPIRED",
            StreamEndCode::Unknown(_) => "UNKNOWN",
        }
    }

    /// Why a stream ended, for consumers: `FINISHED` when no code was sent
    /// (a close, or the source ended), else the code's name.
    pub fn reason(code: Option<Self>) -> &'static str {
        code.map_or("FINISHED", Self::name)
    }
}

/// An underscore-joined set such as `POLITY_EROTIC_MOAN`. Order is kept as sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WordSet<T>(pub Vec<T>);

impl<T: Vocabulary + PartialEq> WordSet<T> {
    /// Whether the set holds `word`.
    pub fn contains(&self, word: &T) -> bool {
        self.0.contains(word)
    }

    /// The wire form, e.g. `GENDER_TIMBRE`.
    pub fn to_wire(&self) -> String {
        self.0.iter().map(Vocabulary::as_str).collect::<Vec<_>>().join("_")
    }

    /// Parses the wire form; an empty string is the empty set.
    pub fn from_wire(value: &str) -> Self {
        if value.is_empty() {
            return WordSet(Vec::new());
        }
        WordSet(value.split('_').map(T::parse).collect())
    }
}

impl<T: Vocabulary + PartialEq> Serialize for WordSet<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_wire())
    }
}

impl<'de, T: Vocabulary + PartialEq> Deserialize<'de> for WordSet<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(WordSet::from_wire(&value))
    }
}

#[cfg(test)]
impl<T: Vocabulary + PartialEq + proptest::arbitrary::Arbitrary + 'static> proptest::arbitrary::Arbitrary
    for WordSet<T>
{
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::prelude::*;
        proptest::collection::vec(any::<T>(), 1..5).prop_map(WordSet).boxed()
    }
}

/// Risk detection types (`type`).
pub type RiskTypes = WordSet<RiskType>;
/// Business detection types (`businessType`).
pub type BusinessTypes = WordSet<BusinessType>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deepcleer::{AudioCluster, VideoCluster};

    #[test]
    fn word_sets_split_and_join_on_underscores() {
        let set: RiskTypes = serde_json::from_str(r#""POLITY_EROTIC_MOAN""#).unwrap();
        assert_eq!(set.0, vec![RiskType::Polity, RiskType::Erotic, RiskType::Moan]);
        assert_eq!(serde_json::to_string(&set).unwrap(), r#""POLITY_EROTIC_MOAN""#);
        let business: BusinessTypes = serde_json::from_str(r#""GENDER_TIMBRE_SING_LANGUAGE""#).unwrap();
        assert!(business.contains(&BusinessType::Timbre));
        assert!(RiskTypes::from_wire("").0.is_empty());
    }

    #[test]
    fn unknown_words_are_kept_not_rejected() {
        let set = RiskTypes::from_wire("POLITY_NEWTHING");
        assert_eq!(set.0[1], RiskType::Unknown("NEWTHING".into()));
        assert!(!set.0[1].is_known());
        assert_eq!(set.to_wire(), "POLITY_NEWTHING");
    }

    #[test]
    fn codes_keep_unknown_values_and_accept_strings() {
        let code: ResponseCode = serde_json::from_str("1100").unwrap();
        assert_eq!(code, ResponseCode::Success);
        let code: ResponseCode = serde_json::from_str(r#""1901""#).unwrap();
        assert_eq!(code, ResponseCode::LimitExceeded);
        let code: ResponseCode = serde_json::from_str("1234").unwrap();
        assert_eq!(code, ResponseCode::Unknown(1234));
        assert_eq!(serde_json::to_string(&code).unwrap(), "1234");
        assert_eq!(StreamEndCode::from_code(3005).name(), "TOKEN_INVALID_OR_EXPIRED");
        assert_eq!(StreamEndCode::from_code(3999).name(), "UNKNOWN");
    }

    #[test]
    fn clusters_parse_from_configuration() {
        assert_eq!(AudioCluster::from_config("Singapore"), Some(AudioCluster::Singapore));
        assert_eq!(AudioCluster::from_config("gg"), Some(AudioCluster::SiliconValley));
        assert_eq!(AudioCluster::from_config("beijing"), None);
        assert!(VideoCluster::Shanghai.base_url().contains("videostream-sh"));
    }

    #[test]
    fn each_rtc_stream_type_has_its_param_field() {
        assert_eq!(StreamType::Trtc.param_field(), Some("trtcParam"));
        assert_eq!(StreamType::Normal.param_field(), None);
        let rtc: Vec<_> = StreamType::KNOWN.iter().filter_map(StreamType::param_field).collect();
        assert_eq!(rtc.len(), 7);
    }
}
