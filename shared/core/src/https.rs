//! The one HTTP client stack of every outbound call: the AWS SDK's (DynamoDB,
//! SQS, SSM) and the providers'. hyper's pooled client over rustls with
//! aws-lc, trusting the Mozilla root program compiled into the binary
//! (`webpki-roots`), so nothing is read or parsed at start.
//!
//! Why not the SDK's default client: it reads and parses every file under
//! `/etc/ssl/certs` when the first SDK client is built, and parses the roots
//! again for every client; that was 3.2 ms of the callback's 10 ms cold start
//! on the benchmark machine (docs/performance.md). The roots now change with
//! the `webpki-roots` crate (a `cargo update`), not with the OS image.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::retries::ErrorKind;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// TCP, then TLS for `https` URLs (plain `http` passes through: moto, the simulator).
pub type HttpsConnector = hyper_rustls::HttpsConnector<TcpConnector>;

/// How long an idle pooled connection is kept. Below the 60 s after which
/// AWS load balancers and most servers drop idle connections, so a reused
/// connection is rarely one the peer has just closed.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(50);

/// The TLS settings of every client: aws-lc-rs (the crypto the SDK links
/// anyway), TLS 1.2 and 1.3, the compiled-in roots. Building them copies a
/// static table: microseconds.
fn tls_config() -> rustls::ClientConfig {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("aws-lc-rs supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// A connector for `http` and `https` URLs, HTTP/1.1, with an optional connect timeout.
fn connector(connect_timeout: Option<Duration>) -> HttpsConnector {
    let mut tcp = TcpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(connect_timeout);
    hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls_config())
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp)
}

/// A pooled client (plain http or TLS, HTTP/1.1) for bodies of type `B`.
pub fn client<B>(connect_timeout: Option<Duration>) -> hyper_util::client::legacy::Client<HttpsConnector, B>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
{
    hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .pool_timer(TokioTimer::new())
        .build(connector(connect_timeout))
}

/// The HTTP client to give the AWS SDK (`SdkConfig::builder().http_client(..)`).
/// Every SDK client built from one `SdkConfig` shares its connection pools.
pub fn sdk_http_client() -> SharedHttpClient {
    SharedHttpClient::new(SdkHttpClient::default())
}

/// Connect and read timeouts, as the SDK sets them.
type Timeouts = (Option<Duration>, Option<Duration>);

/// One connector per distinct timeout setting the SDK asks for (in practice one).
#[derive(Debug, Default)]
struct SdkHttpClient {
    connectors: Mutex<HashMap<Timeouts, SharedHttpConnector>>,
}

impl HttpClient for SdkHttpClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, _components: &RuntimeComponents) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self.connectors.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        connectors
            .entry(key)
            .or_insert_with(|| {
                SharedHttpConnector::new(SdkConnector {
                    client: client(settings.connect_timeout()),
                    read_timeout: settings.read_timeout(),
                })
            })
            .clone()
    }
}

#[derive(Clone)]
struct SdkConnector {
    client: hyper_util::client::legacy::Client<HttpsConnector, SdkBody>,
    /// From sending the request to the response's head.
    read_timeout: Option<Duration>,
}

impl std::fmt::Debug for SdkConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SdkConnector")
            .field("read_timeout", &self.read_timeout)
            .finish_non_exhaustive()
    }
}

impl HttpConnector for SdkConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(error) => return HttpConnectorFuture::ready(Err(ConnectorError::user(error.into()))),
        };
        let response = self.client.request(request);
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let response = match read_timeout {
                None => response.await,
                Some(limit) => tokio::time::timeout(limit, response)
                    .await
                    .map_err(|_| ConnectorError::timeout(format!("no response within {limit:?}").into()))?,
            }
            .map_err(classify)?;
            HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|error| ConnectorError::other(error.into(), None))
        })
    }
}

/// Sorts a failed exchange the way the SDK's retry strategy expects:
/// timeouts and I/O failures (refused, reset, closed) are retried as
/// transient, a request hyper refused to send is the caller's fault, and a
/// truncated answer is transient too.
fn classify(error: hyper_util::client::legacy::Error) -> ConnectorError {
    let timed_out = source::<std::io::Error>(&error).is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        || source::<hyper::Error>(&error).is_some_and(hyper::Error::is_timeout);
    if timed_out {
        return ConnectorError::timeout(error.into());
    }
    if error.is_connect() {
        return ConnectorError::io(error.into());
    }
    if let Some(hyper_error) = source::<hyper::Error>(&error) {
        if hyper_error.is_user() {
            return ConnectorError::user(error.into());
        }
        if hyper_error.is_incomplete_message() {
            return ConnectorError::other(error.into(), Some(ErrorKind::TransientError));
        }
        if hyper_error.is_closed() || hyper_error.is_canceled() {
            return ConnectorError::io(error.into());
        }
    }
    if source::<std::io::Error>(&error).is_some() {
        return ConnectorError::io(error.into());
    }
    ConnectorError::other(error.into(), None)
}

/// The first error of type `E` in `error`'s source chain, `error` included.
fn source<'a, E: StdError + 'static>(error: &'a (dyn StdError + 'static)) -> Option<&'a E> {
    let mut next = Some(error);
    while let Some(current) = next {
        if let Some(found) = current.downcast_ref::<E>() {
            return Some(found);
        }
        next = current.source();
    }
    None
}

#[cfg(test)]
mod tests {
    //! The SDK's calls through this client against raw TCP peers on loopback:
    //! answers, pooling, and how each failure is reported to the retry strategy.

    use super::*;
    use crate::test_peer::{http_answer, listener, read_request};
    use aws_sdk_dynamodb::config::retry::RetryConfig;
    use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn dynamodb(endpoint: &str, attempts: u32, timeouts: TimeoutConfig) -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .endpoint_url(endpoint)
            .http_client(sdk_http_client())
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(attempts)
                    .with_initial_backoff(Duration::from_millis(1)),
            )
            .timeout_config(timeouts)
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }

    type GetItemFailure = aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::get_item::GetItemError>;

    async fn get_item(
        client: &aws_sdk_dynamodb::Client,
    ) -> Result<aws_sdk_dynamodb::operation::get_item::GetItemOutput, GetItemFailure> {
        client
            .get_item()
            .table_name("tasks")
            .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("STREAM#room-1".into()))
            .send()
            .await
    }

    /// The connector's own error inside a failed call.
    fn connector_error(error: &GetItemFailure) -> &ConnectorError {
        match error {
            aws_sdk_dynamodb::error::SdkError::DispatchFailure(failure) => {
                failure.as_connector_error().expect("a connector error")
            }
            other => panic!("not a dispatch failure: {other:?}"),
        }
    }

    #[tokio::test]
    async fn sdk_calls_go_out_signed_and_reuse_one_connection() {
        let (listener, url) = listener().await;
        let served = tokio::spawn(async move {
            // One connection only: the second call must come over the same one.
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut requests = Vec::new();
            for _ in 0..2 {
                requests.push(read_request(&mut stream).await);
                let answer = http_answer("200 OK", br#"{"Item":{"pk":{"S":"STREAM#room-1"}}}"#);
                stream.write_all(&answer).await.unwrap();
            }
            requests
        });
        let client = dynamodb(&url, 1, TimeoutConfig::builder().build());
        for _ in 0..2 {
            let output = get_item(&client).await.unwrap();
            assert_eq!(
                output.item.unwrap()["pk"],
                aws_sdk_dynamodb::types::AttributeValue::S("STREAM#room-1".into())
            );
        }
        let requests = served.await.unwrap();
        let first = requests[0].to_ascii_lowercase();
        assert!(first.starts_with("post / http/1.1\r\n"), "{first}");
        assert!(first.contains("x-amz-target: dynamodb_20120810.getitem"), "{first}");
        assert!(
            first.contains("authorization: aws4-hmac-sha256 credential=test/"),
            "{first}"
        );
        assert!(first.contains(r#""tablename":"tasks""#), "{first}");
    }

    #[tokio::test]
    async fn a_connection_dropped_before_the_answer_is_retried_as_transient() {
        let (listener, url) = listener().await;
        let requests = Arc::new(AtomicUsize::new(0));
        let seen = requests.clone();
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                read_request(&mut stream).await;
                seen.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        let error = get_item(&dynamodb(&url, 3, TimeoutConfig::builder().build()))
            .await
            .unwrap_err();
        let failure = connector_error(&error);
        // hyper: "connection closed before message completed".
        assert_eq!(failure.as_other(), Some(ErrorKind::TransientError), "{failure:?}");
        assert_eq!(requests.load(Ordering::SeqCst), 3, "each attempt reached the peer");
    }

    #[tokio::test]
    async fn a_refused_connection_is_an_io_failure() {
        let (listener, url) = listener().await;
        drop(listener);
        let error = get_item(&dynamodb(&url, 1, TimeoutConfig::builder().build()))
            .await
            .unwrap_err();
        let failure = connector_error(&error);
        assert!(failure.is_io(), "{failure:?}");
    }

    #[tokio::test]
    async fn a_peer_silent_past_the_read_timeout_is_a_timeout() {
        let (listener, url) = listener().await;
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            read_request(&mut stream).await;
            std::future::pending::<()>().await;
        });
        let timeouts = TimeoutConfig::builder()
            .read_timeout(Duration::from_millis(100))
            .build();
        let error = get_item(&dynamodb(&url, 1, timeouts)).await.unwrap_err();
        let failure = connector_error(&error);
        assert!(failure.is_timeout(), "{failure:?}");
    }

    #[tokio::test]
    async fn https_urls_are_spoken_to_in_tls() {
        let (listener, url) = listener().await;
        let first_byte = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            stream.read_u8().await.unwrap()
        });
        let https_url = url.replace("http://", "https://");
        let client = client::<http_body_util::Empty<bytes::Bytes>>(None);
        let outcome = client.get(https_url.parse().unwrap()).await;
        // 0x16: a TLS handshake record (the ClientHello); the peer then hangs up.
        assert_eq!(first_byte.await.unwrap(), 0x16);
        assert!(outcome.unwrap_err().is_connect());
    }
}
