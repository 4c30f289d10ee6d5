//! Fetching a provider's media (a segment's audio) for the evidence archive,
//! over the one client stack ([`crate::https`]): bounded in size and time,
//! and answering what is worth another try.

use crate::ports::{BoxFuture, FetchError, Fetched, MediaFetcher};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, LengthLimitError, Limited};
use std::time::Duration;

type Client = hyper_util::client::legacy::Client<crate::https::HttpsConnector, Empty<Bytes>>;

/// [`MediaFetcher`] over HTTP(S).
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    http: Client,
}

impl Default for HttpFetcher {
    fn default() -> Self {
        HttpFetcher {
            http: crate::https::client(None),
        }
    }
}

impl MediaFetcher for HttpFetcher {
    fn fetch<'a>(
        &'a self,
        url: &'a str,
        limit: usize,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Fetched, FetchError>> {
        Box::pin(async move {
            let request = http::Request::get(url)
                .body(Empty::new())
                .map_err(|error| FetchError::Permanent(format!("not a URL that can be fetched: {error}")))?;
            let exchange = async {
                let response = self
                    .http
                    .request(request)
                    .await
                    .map_err(|error| FetchError::Transient(format!("the fetch failed: {error}")))?;
                let status = response.status();
                if status.is_server_error() || status == http::StatusCode::TOO_MANY_REQUESTS {
                    return Err(FetchError::Transient(format!("HTTP {status}")));
                }
                if !status.is_success() {
                    return Err(FetchError::Permanent(format!("HTTP {status}")));
                }
                let content_type = response
                    .headers()
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_owned);
                let bytes = Limited::new(response.into_body(), limit)
                    .collect()
                    .await
                    .map_err(|error| match error.downcast::<LengthLimitError>() {
                        Ok(_) => FetchError::Permanent(format!("more than {limit} bytes")),
                        Err(error) => FetchError::Transient(format!("the body broke off: {error}")),
                    })?
                    .to_bytes();
                Ok(Fetched {
                    bytes: bytes.to_vec(),
                    content_type,
                })
            };
            tokio::time::timeout(timeout, exchange)
                .await
                .unwrap_or_else(|_| Err(FetchError::Transient(format!("no answer within {timeout:?}"))))
        })
    }
}
