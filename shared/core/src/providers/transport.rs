//! The providers' calls over HTTP: a JSON body POSTed, a JSON answer read,
//! all within the call's timeout, on the one client stack of the functions
//! ([`crate::https`]). A trait, so the provider modules' mapping can be
//! tested against scripted answers (`crate::memory::ScriptedTransport`).

use crate::ports::{BoxFuture, ProviderError};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use std::time::Duration;

/// An answer: its HTTP status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

impl Answer {
    /// The body as the provider's JSON; otherwise a bad answer naming the status.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ProviderError> {
        serde_json::from_slice(&self.body).map_err(|error| {
            ProviderError::BadAnswer(format!("HTTP {}: {error}; {} bytes", self.status, self.body.len()))
        })
    }
}

/// How a provider's calls reach it.
pub trait Transport: Send + Sync {
    /// POSTs `body` (JSON) to `url` and reads the answer, all within `timeout`.
    fn post_json<'a>(
        &'a self,
        url: String,
        body: Vec<u8>,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Answer, ProviderError>>;
}

/// The providers' answers are a few hundred bytes; anything past this is not
/// an answer, and is not read into memory.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The shared client stack ([`crate::https`]): the same hyper, rustls and
/// aws-lc the AWS SDK calls go through; a second client library such as
/// reqwest added about 0.4 MB to every package.
type Client = hyper_util::client::legacy::Client<crate::https::HttpsConnector, Full<Bytes>>;

/// [`Transport`] over HTTP(S).
#[derive(Debug, Clone)]
pub struct HttpTransport {
    /// No timeouts of its own: each whole exchange is bounded in `post_json`, connecting included.
    http: Client,
}

impl Default for HttpTransport {
    fn default() -> Self {
        HttpTransport {
            http: crate::https::client(None),
        }
    }
}

impl Transport for HttpTransport {
    fn post_json<'a>(
        &'a self,
        url: String,
        body: Vec<u8>,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Answer, ProviderError>> {
        Box::pin(async move {
            let request = http::Request::post(url)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::from(body)))
                .map_err(|error| ProviderError::Unreachable(format!("invalid provider URL: {error}")))?;
            let exchange = async {
                let response = self.http.request(request).await.map_err(classify)?;
                let status = response.status();
                let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                    .collect()
                    .await
                    .map_err(|error| match error.downcast::<LengthLimitError>() {
                        Ok(_) => {
                            ProviderError::BadAnswer(format!("HTTP {status}: answer over {MAX_ANSWER_BYTES} bytes"))
                        }
                        // The request was sent; the provider may have acted on it.
                        Err(_) => ProviderError::Timeout,
                    })?
                    .to_bytes();
                Ok(Answer {
                    status: status.as_u16(),
                    body,
                })
            };
            tokio::time::timeout(timeout, exchange)
                .await
                .unwrap_or(Err(ProviderError::Timeout))
        })
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

#[cfg(test)]
mod tests {
    //! The adapter against a raw TCP peer on loopback, so each failure mode of
    //! the wire can be produced exactly.

    use super::*;
    use crate::test_peer::{http_answer, listener, read_request};
    use tokio::io::AsyncWriteExt;

    const SECOND: Duration = Duration::from_secs(1);

    /// POSTs a small JSON body to `base_url` and decodes the answer as JSON.
    async fn call(base_url: &str, timeout: Duration) -> Result<serde_json::Value, ProviderError> {
        let body = br#"{"accessKey":"test-access-key","requestId":"task-1"}"#.to_vec();
        HttpTransport::default()
            .post_json(format!("{base_url}/finish_audiostream/v4"), body, timeout)
            .await?
            .json()
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
    async fn a_json_body_is_posted_and_the_json_answer_read() {
        let answer = http_answer("200 OK", br#"{"code":1100,"message":"ok","requestId":"close-1"}"#);
        let (url, served) = peer(Some(answer)).await;
        let response = call(&url, SECOND).await.unwrap();
        assert_eq!(response["code"], 1100);
        assert_eq!(response["requestId"], "close-1");
        let request = served.await.unwrap();
        assert!(request.starts_with("POST /finish_audiostream/v4 HTTP/1.1"), "{request}");
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
        let error = call(&url, SECOND).await.unwrap_err();
        assert!(
            matches!(&error, ProviderError::BadAnswer(message) if message.contains("HTTP 502")),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn an_answer_over_the_limit_is_refused() {
        let body = vec![b' '; MAX_ANSWER_BYTES + 1];
        let (url, _served) = peer(Some(http_answer("200 OK", &body))).await;
        let error = call(&url, SECOND).await.unwrap_err();
        assert!(
            matches!(&error, ProviderError::BadAnswer(message) if message.contains("over")),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn a_refused_connection_is_unreachable_so_nothing_was_sent() {
        let (listener, url) = listener().await;
        drop(listener);
        let error = call(&url, SECOND).await.unwrap_err();
        assert!(matches!(error, ProviderError::Unreachable(_)), "{error:?}");
    }

    #[tokio::test]
    async fn no_answer_within_the_timeout_is_a_timeout() {
        let (url, _served) = peer(None).await;
        let error = call(&url, Duration::from_millis(200)).await.unwrap_err();
        assert!(matches!(error, ProviderError::Timeout), "{error:?}");
    }

    #[tokio::test]
    async fn a_connection_closed_before_the_answer_is_a_timeout_as_the_request_may_have_been_acted_on() {
        let (url, _served) = peer(Some(Vec::new())).await;
        let error = call(&url, SECOND).await.unwrap_err();
        assert!(matches!(error, ProviderError::Timeout), "{error:?}");
    }
}
