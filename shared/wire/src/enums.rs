//! Macros for the provider's closed vocabularies.
//!
//! Every enum keeps values it does not know (`Unknown`), so a new value the
//! provider starts sending never fails a parse and survives a round trip.
//! Whether an unknown value is acceptable is a validation question, not a
//! parsing one.

/// A string vocabulary: `string_enum!(Name "what it is" { Variant => "WIRE", ... })`.
///
/// Parsing is exact unless `@case_insensitive` is given before the name
/// (then case and surrounding space are ignored).
macro_rules! string_enum {
    ($(#[$meta:meta])* @case_insensitive $name:ident $what:literal { $($body:tt)* }) => {
        string_enum!(@impl true, $(#[$meta])* $name $what { $($body)* });
    };
    ($(#[$meta:meta])* $name:ident $what:literal { $($body:tt)* }) => {
        string_enum!(@impl false, $(#[$meta])* $name $what { $($body)* });
    };
    (@impl $ci:literal, $(#[$meta:meta])* $name:ident $what:literal { $($(#[$vmeta:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this crate does not know; kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// Every documented value, in documentation order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];
            /// What the vocabulary is, for error messages.
            pub const WHAT: &'static str = $what;

            /// The value as it goes on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)+
                    $name::Unknown(other) => other,
                }
            }

            /// Parses a wire value; never fails. A case-insensitive vocabulary
            /// also ignores surrounding space; an unknown value is kept as given.
            pub fn parse(value: &str) -> Self {
                let read = if $ci { value.trim() } else { value };
                $(if (if $ci { read.eq_ignore_ascii_case($wire) } else { read == $wire }) { return $name::$variant; })+
                $name::Unknown(value.to_owned())
            }

            /// Whether the value is one the reference documents.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Unknown(_))
            }

            /// The documented values joined for an error message.
            pub fn known_list() -> String {
                [$($wire),+].join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::enums::Vocabulary for $name {
            const WHAT: &'static str = $what;
            fn parse(value: &str) -> Self { $name::parse(value) }
            fn as_str(&self) -> &str { $name::as_str(self) }
            fn is_known(&self) -> bool { $name::is_known(self) }
            fn known_list() -> String { $name::known_list() }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
                Ok($name::parse(&value))
            }
        }

        #[cfg(test)]
        impl proptest::arbitrary::Arbitrary for $name {
            type Parameters = ();
            type Strategy = proptest::strategy::BoxedStrategy<Self>;
            fn arbitrary_with(_: ()) -> Self::Strategy {
                use proptest::prelude::*;
                prop_oneof![
                    4 => proptest::sample::select($name::KNOWN.to_vec()),
                    1 => "x[a-z0-9]{1,8}".prop_map(|s| $name::Unknown(s)),
                ]
                .boxed()
            }
        }
    };
}

/// A numeric code vocabulary: `code_enum!(Name "what" { Variant = 1100, ... })`.
///
/// Deserialises from a JSON number or a numeric string (providers are not
/// consistent); serialises as a number.
macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident $what:literal { $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A code this crate does not know; kept verbatim.
            Unknown(i64),
        }

        impl $name {
            /// Every documented code, in documentation order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];
            /// What the vocabulary is, for error messages.
            pub const WHAT: &'static str = $what;

            /// The numeric code.
            pub fn code(self) -> i64 {
                match self {
                    $($name::$variant => $code,)+
                    $name::Unknown(other) => other,
                }
            }

            /// Maps a numeric code; never fails.
            pub fn from_code(code: i64) -> Self {
                match code {
                    $($code => $name::$variant,)+
                    other => $name::Unknown(other),
                }
            }

            /// Whether the code is one the reference documents.
            pub fn is_known(self) -> bool {
                !matches!(self, $name::Unknown(_))
            }
        }

        impl From<i64> for $name {
            fn from(code: i64) -> Self {
                $name::from_code(code)
            }
        }

        impl From<$name> for i64 {
            fn from(code: $name) -> i64 {
                code.code()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.code())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_i64(self.code())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $crate::lenient::integer(deserializer).map($name::from_code)
            }
        }

        #[cfg(test)]
        impl proptest::arbitrary::Arbitrary for $name {
            type Parameters = ();
            type Strategy = proptest::strategy::BoxedStrategy<Self>;
            fn arbitrary_with(_: ()) -> Self::Strategy {
                use proptest::prelude::*;
                prop_oneof![
                    4 => proptest::sample::select($name::KNOWN.to_vec()),
                    1 => any::<i64>().prop_map($name::from_code),
                ]
                .boxed()
            }
        }
    };
}

/// What the underscore-joined sets and validation need from a vocabulary.
pub trait Vocabulary: Sized + Clone {
    /// What the vocabulary is, for error messages.
    const WHAT: &'static str;
    /// Parses a wire value; never fails.
    fn parse(value: &str) -> Self;
    /// The value as it goes on the wire.
    fn as_str(&self) -> &str;
    /// Whether the value is one the reference documents.
    fn is_known(&self) -> bool;
    /// The documented values joined for an error message.
    fn known_list() -> String;
}

pub(crate) use code_enum;
pub(crate) use string_enum;
