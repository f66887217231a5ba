//! A TCP tunnel to a port of a virtual machine through the API server:
//! KubeVirt's `portforward` subresource of the instance, a WebSocket
//! speaking `plain.kubevirt.io` (each binary message is bytes of the TCP
//! stream, nothing else). The server needs no route to the cluster's pod
//! network, only the API server's address and the right to this
//! subresource.
//!
//! kube's own WebSocket helper insists on the Kubernetes channel
//! protocols, so the upgrade is made here over the client's plain
//! `send`, which keeps its authentication and TLS.

use futures::{SinkExt, StreamExt};
use http::{HeaderValue, Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use kube::Client;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{Message, handshake::client::generate_key, protocol::Role},
};

use crate::runtime::RuntimeError;

/// KubeVirt's raw stream subprotocol.
const PLAIN_PROTOCOL: &str = "plain.kubevirt.io";
/// How many bytes the tunnel buffers on the local side.
const BUFFER: usize = 64 * 1024;

/// The portforward path of `port` on instance `vmi`.
pub fn path(ns: &str, vmi: &str, port: u16) -> String {
    format!("/apis/subresources.kubevirt.io/v1/namespaces/{ns}/virtualmachineinstances/{vmi}/portforward/{port}/tcp")
}

/// What a refused upgrade says: the API server's `Status` message when the
/// body is one, else the body.
fn refusal(status: StatusCode, body: &[u8]) -> RuntimeError {
    let said = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned());
    let message = format!("the API server refused the tunnel ({status}): {said}");
    match status {
        StatusCode::NOT_FOUND => RuntimeError::NotFound(message),
        // The instance exists but cannot take the connection yet (booting).
        StatusCode::BAD_REQUEST | StatusCode::CONFLICT | StatusCode::SERVICE_UNAVAILABLE | StatusCode::INTERNAL_SERVER_ERROR => RuntimeError::Unreachable(message),
        _ => RuntimeError::Engine(message),
    }
}

/// Opens a tunnel to `port` of instance `vmi`: the returned stream's bytes
/// are the TCP connection's. A task carries them until either side closes.
pub async fn open(client: &Client, ns: &str, vmi: &str, port: u16) -> Result<DuplexStream, RuntimeError> {
    let key = generate_key();
    let request = Request::get(path(ns, vmi, port))
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_VERSION, "13")
        .header(header::SEC_WEBSOCKET_KEY, &key)
        .header(header::SEC_WEBSOCKET_PROTOCOL, PLAIN_PROTOCOL)
        .body(kube::client::Body::empty())
        .map_err(|e| RuntimeError::Engine(format!("tunnel request: {e}")))?;
    let response = client.send(request).await.map_err(|e| RuntimeError::Unreachable(format!("open a tunnel to {vmi}: {e}")))?;
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        let status = response.status();
        let body = http_body_util::BodyExt::collect(response.into_body()).await.map(|b| b.to_bytes()).unwrap_or_default();
        return Err(refusal(status, &body));
    }
    let accepted = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    if response.headers().get(header::SEC_WEBSOCKET_ACCEPT) != Some(&HeaderValue::from_str(&accepted).expect("a base64 key is a header value")) {
        return Err(RuntimeError::Engine("the tunnel's handshake answer does not match its key".into()));
    }
    let upgraded = hyper::upgrade::on(response).await.map_err(|e| RuntimeError::Unreachable(format!("tunnel upgrade: {e}")))?;
    let socket = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Client, None).await;
    let (local, far) = tokio::io::duplex(BUFFER);
    tokio::spawn(carry(socket, far));
    Ok(local)
}

/// Moves bytes between the WebSocket and the local end until one closes.
async fn carry<S>(socket: WebSocketStream<S>, local: DuplexStream)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut sink, mut stream) = socket.split();
    let (mut reader, mut writer) = tokio::io::split(local);
    let outbound = async {
        let mut buf = vec![0u8; BUFFER];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if sink.send(Message::Binary(buf[..n].to_vec().into())).await.is_err() {
                        break;
                    }
                }
            }
        }
        sink.send(Message::Close(None)).await.ok();
    };
    let inbound = async {
        while let Some(Ok(message)) = stream.next().await {
            if message.is_close() || (message.is_binary() && writer.write_all(&message.into_data()).await.is_err()) {
                break;
            }
        }
        writer.shutdown().await.ok();
    };
    // Either direction ending ends the connection, as TCP's reset would.
    tokio::select! {
        () = outbound => {}
        () = inbound => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_keep_the_api_servers_words() {
        let status = br#"{"kind":"Status","status":"Failure","message":"VirtualMachineInstance web in namespace s is not running","code":400}"#;
        let e = refusal(StatusCode::BAD_REQUEST, status);
        assert!(matches!(&e, RuntimeError::Unreachable(m) if m.contains("is not running")), "{e}");
        assert!(matches!(refusal(StatusCode::NOT_FOUND, b"gone"), RuntimeError::NotFound(m) if m.contains("gone")));
        assert!(matches!(refusal(StatusCode::FORBIDDEN, b"{}"), RuntimeError::Engine(_)));
        assert_eq!(path("proctor-s1", "web", 22), "/apis/subresources.kubevirt.io/v1/namespaces/proctor-s1/virtualmachineinstances/web/portforward/22/tcp");
    }
}
