//! DeepCleer's control API over HTTP: start (`/audiostream/v4`, 5 s) and
//! close (`/finish_audiostream/v4`, 1 s; `/finish_videostream/v4` on the
//! video cluster, 7 s).

use crate::domain::Secret;
use crate::ports::{ProviderError, StreamProvider};
use std::time::Duration;
use wire::deepcleer::{
    CLOSE_AUDIO_PATH, CLOSE_VIDEO_PATH, CloseRequest, CloseResponse, MediaKind, START_PATH, StartRequest, SyncResponse,
};

/// Where and how long to wait.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub audio_base_url: String,
    pub video_base_url: String,
    pub start_timeout: Duration,
    pub close_timeout: Duration,
    pub video_close_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct HttpProvider {
    http: reqwest::Client,
    endpoints: Endpoints,
    access_key: Secret,
}

impl HttpProvider {
    pub fn new(endpoints: Endpoints, access_key: Secret) -> Self {
        let http = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(50))
            .build()
            .expect("an HTTP client");
        HttpProvider {
            http,
            endpoints,
            access_key,
        }
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        url: String,
        body: &impl serde::Serialize,
        timeout: Duration,
    ) -> Result<T, ProviderError> {
        let response = self
            .http
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
}
