//! The providers' control APIs over HTTP. DeepCleer: start
//! (`/audiostream/v4`, 5 s) and close (`/finish_audiostream/v4`, 1 s;
//! `/finish_videostream/v4` on the video cluster, 7 s). Zego:
//! `?Action=StartCensorAudioV2|StopCensorAudioV2`, each call signed with a
//! fresh nonce and timestamp.

use crate::domain::Secret;
use crate::ports::{ProviderError, StreamProvider};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
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

/// The providers' answers are a few hundred bytes; anything past this is not
/// an answer, and is not read into memory.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The shared client stack ([`super::https`]): the same hyper, rustls and
/// aws-lc the AWS SDK calls go through; a second client library such as
/// reqwest added about 0.4 MB to every package.
type Client = hyper_util::client::legacy::Client<super::https::HttpsConnector, Full<Bytes>>;

#[derive(Debug, Clone)]
pub struct HttpProvider {
    /// No timeouts of its own: each whole exchange is bounded in `post`, connecting included.
    http: Client,
    endpoints: Endpoints,
    access_key: Secret,
    zego: Option<ZegoClient>,
}

impl HttpProvider {
    pub fn new(endpoints: Endpoints, access_key: Secret, zego: Option<ZegoClient>) -> Self {
        HttpProvider {
            http: super::https::client(None),
            endpoints,
            access_key,
            zego,
        }
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

    /// POSTs JSON and reads a JSON answer, all within `timeout`.
    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        url: String,
        body: &impl serde::Serialize,
        timeout: Duration,
    ) -> Result<T, ProviderError> {
        let body = serde_json::to_vec(body)
            .map_err(|error| ProviderError::Unreachable(format!("request not serialisable: {error}")))?;
        let request = http::Request::post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|error| ProviderError::Unreachable(format!("invalid provider URL: {error}")))?;
        let exchange = async {
            let response = self.http.request(request).await.map_err(classify)?;
            let status = response.status();
            let bytes = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|error| match error.downcast::<LengthLimitError>() {
                    Ok(_) => ProviderError::BadAnswer(format!("HTTP {status}: answer over {MAX_ANSWER_BYTES} bytes")),
                    // The request was sent; the provider may have acted on it.
                    Err(_) => ProviderError::Timeout,
                })?
                .to_bytes();
            serde_json::from_slice(&bytes)
                .map_err(|error| ProviderError::BadAnswer(format!("HTTP {status}: {error}; {} bytes", bytes.len())))
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(ProviderError::Timeout))
    }
}

/// A failed connection is `Unreachable` (nothing was sent); any other
/// failure may come after the request was sent, so it is a `Timeout` (the
/// provider may have acted on it, and a retry must be safe).
fn classify(error: hyper_util::client::legacy::Error) -> ProviderError {
    if error.is_connect() {
        ProviderError::Unreachable(error.to_string())
    } else {
        ProviderError::Timeout
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

#[cfg(test)]
mod tests {
    //! The adapter against a raw TCP peer on loopback, so each failure mode of
    //! the wire can be produced exactly.

    use super::*;
    use crate::adapters::test_peer::{http_answer, listener, read_request};
    use tokio::io::AsyncWriteExt;
    use wire::deepcleer::ResponseCode;

    const SECOND: Duration = Duration::from_secs(1);

    fn provider(base_url: &str, timeout: Duration) -> HttpProvider {
        let endpoints = Endpoints {
            audio_base_url: base_url.into(),
            video_base_url: base_url.into(),
            start_timeout: timeout,
            close_timeout: timeout,
            video_close_timeout: timeout,
        };
        HttpProvider::new(endpoints, Secret::new("test-access-key"), None)
    }

    /// A peer that reads one request, answers `answer` (if any) and hands the
    /// request back; without an answer it holds the connection open.
    async fn peer(answer: Option<Vec<u8>>) -> (String, tokio::task::JoinHandle<String>) {
        let (listener, url) = listener().await;
        let served = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let request = read_request(&mut stream).await;
            match answer {
                Some(answer) => stream.write_all(&answer).await.unwrap(),
                None => std::future::pending().await,
            }
            request
        });
        (url, served)
    }

    #[tokio::test]
    async fn close_posts_json_with_the_access_key_and_reads_the_answer() {
        let answer = http_answer("200 OK", br#"{"code":1100,"message":"ok","requestId":"close-1"}"#);
        let (url, served) = peer(Some(answer)).await;
        let response = provider(&url, SECOND).close("task-1", MediaKind::Audio).await.unwrap();
        assert_eq!(response.code, ResponseCode::Success);
        assert_eq!(response.request_id, "close-1");
        let request = served.await.unwrap();
        assert!(
            request.starts_with(&format!("POST {CLOSE_AUDIO_PATH} HTTP/1.1")),
            "{request}"
        );
        assert!(
            request.to_ascii_lowercase().contains("content-type: application/json"),
            "{request}"
        );
        assert!(
            request.ends_with(r#"{"accessKey":"test-access-key","requestId":"task-1"}"#),
            "{request}"
        );
    }

    #[tokio::test]
    async fn an_answer_that_is_not_json_is_a_bad_answer_naming_the_status() {
        let (url, _served) = peer(Some(http_answer("502 Bad Gateway", b"<html>bad gateway</html>"))).await;
        let error = provider(&url, SECOND)
            .close("task-1", MediaKind::Audio)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ProviderError::BadAnswer(message) if message.contains("HTTP 502")),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn an_answer_over_the_limit_is_refused() {
        let body = vec![b' '; MAX_ANSWER_BYTES + 1];
        let (url, _served) = peer(Some(http_answer("200 OK", &body))).await;
        let error = provider(&url, SECOND)
            .close("task-1", MediaKind::Audio)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ProviderError::BadAnswer(message) if message.contains("over")),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn a_refused_connection_is_unreachable_so_nothing_was_sent() {
        let (listener, url) = listener().await;
        drop(listener);
        let error = provider(&url, SECOND)
            .close("task-1", MediaKind::Audio)
            .await
            .unwrap_err();
        assert!(matches!(error, ProviderError::Unreachable(_)), "{error:?}");
    }

    #[tokio::test]
    async fn no_answer_within_the_timeout_is_a_timeout() {
        let (url, _served) = peer(None).await;
        let error = provider(&url, Duration::from_millis(200))
            .close("task-1", MediaKind::Audio)
            .await
            .unwrap_err();
        assert!(matches!(error, ProviderError::Timeout), "{error:?}");
    }

    #[tokio::test]
    async fn a_connection_closed_before_the_answer_is_a_timeout_as_the_request_may_have_been_acted_on() {
        let (url, _served) = peer(Some(Vec::new())).await;
        let error = provider(&url, SECOND)
            .close("task-1", MediaKind::Audio)
            .await
            .unwrap_err();
        assert!(matches!(error, ProviderError::Timeout), "{error:?}");
    }
}
