//! Raw TCP peers for the adapters' tests: each failure mode of the wire can
//! be produced exactly, which a real server would not do on demand.

use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

/// A listener on a free loopback port, and its `http://` URL.
pub async fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

/// An HTTP/1.1 answer with `status` (`"200 OK"`) and `body`, by content-length.
pub fn http_answer(status: &str, body: &[u8]) -> Vec<u8> {
    let mut answer = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n\r\n", body.len()).into_bytes();
    answer.extend_from_slice(body);
    answer
}

/// Reads one request (head and body by content-length), or what came before
/// the client closed the connection.
pub async fn read_request(stream: &mut tokio::net::TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read = stream.read(&mut buffer).await.unwrap();
        received.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&received);
        if let Some(head_end) = text.find("\r\n\r\n") {
            let length = text[..head_end]
                .lines()
                .find_map(|line| {
                    line.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_owned)
                })
                .map_or(0, |value| value.trim().parse::<usize>().unwrap());
            if received.len() >= head_end + 4 + length {
                return text.into_owned();
            }
        }
        if read == 0 {
            return text.into_owned();
        }
    }
}
