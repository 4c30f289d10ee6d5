//! The providers' control APIs over HTTP. DeepCleer: start
//! (`/audiostream/v4`, 5 s) and close (`/finish_audiostream/v4`, 1 s;
//! `/finish_videostream/v4` on the video cluster, 7 s). Zego:
//! `?Action=StartCensorAudioV2|StopCensorAudioV2`, each call signed with a
//! fresh nonce and timestamp.

use crate::domain::Secret;
use crate::ports::{ProviderError, StreamProvider};
use std::time::Duration;
use wire::deepcleer::{
    CLOSE_AUDIO_PATH, CLOSE_VIDEO_PATH, CloseRequest, CloseResponse, MediaKind, START_PATH, StartRequest, SyncResponse,
};
use wire::zego::{CommonParams, START_ACTION, STOP_ACTION, StartCensorAudio, StopCensorAudio, ZegoResponse};

/// Where and how long to wait.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub audio_base_url: String,
    pub video_base_url: String,
    pub start_timeout: Duration,
    pub close_timeout: Duration,
    pub video_close_timeout: Duration,
}

/// Zego's server API: where, and the credentials that sign each call.
#[derive(Debug, Clone)]
pub struct ZegoClient {
    pub base_url: String,
    pub app_id: u32,
    pub server_secret: Secret,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct HttpProvider {
    /// Built on first use: building it loads the system's root certificates
    /// (several milliseconds), which init should not pay for a provider
    /// reached over plain http (DeepCleer's endpoints) or not at all.
    http: std::sync::OnceLock<reqwest::Client>,
    endpoints: Endpoints,
    access_key: Secret,
    zego: Option<ZegoClient>,
}

impl HttpProvider {
    pub fn new(endpoints: Endpoints, access_key: Secret, zego: Option<ZegoClient>) -> Self {
        HttpProvider {
            http: std::sync::OnceLock::new(),
            endpoints,
            access_key,
            zego,
        }
    }

    fn client(&self) -> &reqwest::Client {
        self.http.get_or_init(|| {
            reqwest::Client::builder()
                .pool_idle_timeout(Duration::from_secs(50))
                .build()
                .expect("an HTTP client")
        })
    }

    /// One signed Zego call: fresh nonce and timestamp each time.
    async fn zego_call(&self, action: &str, body: &impl serde::Serialize) -> Result<ZegoResponse, ProviderError> {
        let zego = self
            .zego
            .as_ref()
            .ok_or_else(|| ProviderError::Unreachable("Zego is not configured".into()))?;
        let nonce = uuid::Uuid::new_v4().simple().to_string()[..16].to_owned();
        let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let params = CommonParams::signed(action, zego.app_id, &nonce, zego.server_secret.expose(), timestamp);
        let url = format!("{}/?{}", zego.base_url, params.to_query());
        self.post(url, body, zego.timeout).await
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        url: String,
        body: &impl serde::Serialize,
        timeout: Duration,
    ) -> Result<T, ProviderError> {
        let response = self
            .client()
            .post(url)
            .json(body)
            .timeout(timeout)
            .send()
            .await
            .map_err(classify)?;
        let status = response.status();
        let text = response.text().await.map_err(classify)?;
        serde_json::from_str(&text)
            .map_err(|error| ProviderError::BadAnswer(format!("HTTP {status}: {error}; {} bytes", text.len())))
    }
}

/// A timeout, or a failure after the request may have been sent, is a
/// `Timeout` (the provider may have acted on it); a failed connection is
/// `Unreachable` (nothing was sent).
fn classify(error: reqwest::Error) -> ProviderError {
    let error = error.without_url();
    if error.is_connect() {
        ProviderError::Unreachable(error.to_string())
    } else if error.is_timeout() || error.is_request() || error.is_body() {
        ProviderError::Timeout
    } else {
        ProviderError::BadAnswer(error.to_string())
    }
}

impl StreamProvider for HttpProvider {
    async fn start(&self, request: &StartRequest) -> Result<SyncResponse, ProviderError> {
        let url = format!("{}{START_PATH}", self.endpoints.audio_base_url);
        self.post(url, request, self.endpoints.start_timeout).await
    }

    async fn close(&self, request_id: &str, media: MediaKind) -> Result<CloseResponse, ProviderError> {
        let (url, timeout) = match media {
            MediaKind::Audio => (
                format!("{}{CLOSE_AUDIO_PATH}", self.endpoints.audio_base_url),
                self.endpoints.close_timeout,
            ),
            MediaKind::Video => (
                format!("{}{CLOSE_VIDEO_PATH}", self.endpoints.video_base_url),
                self.endpoints.video_close_timeout,
            ),
        };
        let body = CloseRequest {
            access_key: self.access_key.expose().to_owned(),
            request_id: request_id.to_owned(),
            other: Default::default(),
        };
        self.post(url, &body, timeout).await
    }

    async fn zego_start(&self, body: &StartCensorAudio) -> Result<ZegoResponse, ProviderError> {
        self.zego_call(START_ACTION, body).await
    }

    async fn zego_stop(&self, task_id: &str) -> Result<ZegoResponse, ProviderError> {
        self.zego_call(
            STOP_ACTION,
            &StopCensorAudio {
                task_id: task_id.to_owned(),
                other: Default::default(),
            },
        )
        .await
    }
}
