//! A terminal's WebSocket from the client side, for the terminal and
//! workshop tests.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

/// A terminal's WebSocket as a client holds it.
pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the WebSocket at `path` with `auth` as the `Authorization` value.
pub async fn connect(port: u16, path: &str, auth: &str) -> Socket {
    let mut request = format!("ws://127.0.0.1:{port}{path}").into_client_request().unwrap();
    request.headers_mut().insert("Authorization", auth.parse().unwrap());
    tokio_tungstenite::connect_async(request).await.expect("the WebSocket opens").0
}

/// Reads output until it contains `needle`; everything read, or a panic at
/// the deadline.
pub async fn read_until(socket: &mut Socket, needle: &str) -> String {
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !seen.contains(needle) {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} in the terminal; it showed {seen:?}"));
        match message {
            Some(Ok(Message::Binary(bytes))) => seen.push_str(&String::from_utf8_lossy(&bytes)),
            Some(Ok(Message::Close(frame))) => panic!("closed ({frame:?}) before {needle:?}; it showed {seen:?}"),
            Some(Ok(_)) => {}
            other => panic!("the socket failed: {other:?}; it showed {seen:?}"),
        }
    }
    seen
}

/// Types `keys`.
pub async fn send(socket: &mut Socket, keys: &str) {
    socket.send(Message::Binary(keys.as_bytes().to_vec().into())).await.unwrap();
}


/// Whether opening the WebSocket at `path` with `auth` is refused.
pub async fn refused(port: u16, path: &str, auth: &str) -> bool {
    let mut request = format!("ws://127.0.0.1:{port}{path}").into_client_request().unwrap();
    request.headers_mut().insert("Authorization", auth.parse().unwrap());
    tokio_tungstenite::connect_async(request).await.is_err()
}
