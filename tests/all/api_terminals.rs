//! Terminals over the API on a real engine: open one, type into it over a
//! WebSocket and see the answer, resize it, drop the connection and attach
//! again to find the same shell and its scrollback, and see it close when
//! the session ends. Runs when `PROCTOR_TEST_DOCKER=1`.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use proctor::config::Config;
use proctor_tests::{
    docker_enabled,
    http::{self, guest, request},
    terminal_socket::{connect, read_until, refused, send},
};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_terminal_answers_resizes_survives_a_dropped_connection_and_ends_with_its_session() {
    if !docker_enabled("a_terminal_answers_resizes_survives_a_dropped_connection_and_ends_with_its_session") {
        return;
    }
    let (port, _sessions) = http::serve_bundled_labs(Config::default()).await;
    let (ann, id, _cleanup) = http::start_as_guest(port, "first-steps").await;
    let auth = [("Authorization", ann.as_str())];

    let opened = request(port, "POST", &format!("/api/v1/sessions/{id}/terminals"), &auth, Some(&json!({"cols": 100, "rows": 30}))).await;
    assert_eq!(opened.status, 201, "{opened:?}");
    let tid = opened.json["id"].as_str().unwrap().to_owned();
    let ws = format!("/api/v1/sessions/{id}/terminals/{tid}/ws");

    let mut first = connect(port, &ws, &ann).await;
    // Computed values, so the echo of the typed line never matches.
    send(&mut first, "echo answer=$((6*7)) pid=$$ end=$((1+1))\n").await;
    let shown = read_until(&mut first, "end=2").await;
    assert!(shown.contains("answer=42"), "{shown:?}");
    first.send(Message::Text(r#"{"type":"resize","cols":120,"rows":40}"#.into())).await.unwrap();
    send(&mut first, "stty size; sleep 1000 &\n").await;
    read_until(&mut first, "40 120").await;
    drop(first);

    // Attach again: the same shell, with what it printed before.
    let mut second = connect(port, &ws, &ann).await;
    let replay = read_until(&mut second, "answer=42").await;
    assert!(replay.contains("40 120"), "the scrollback comes first: {replay:?}");
    send(&mut second, "echo again=$$ jobs=$(jobs | grep -c sleep)\n").await;
    let pid = shown.rsplit("answer=42 pid=").next().and_then(|rest| rest.split_whitespace().next()).unwrap().to_owned();
    read_until(&mut second, &format!("again={pid} jobs=1")).await;

    // Someone else cannot attach.
    let bo = guest(port).await;
    assert!(refused(port, &ws, &bo).await, "another learner's terminal is not theirs");

    let listed = request(port, "GET", &format!("/api/v1/sessions/{id}/terminals"), &auth, None).await;
    assert_eq!(listed.json[0]["viewers"], 1, "{listed:?}");

    // Ending the session closes the terminal, with the reason.
    request(port, "DELETE", &format!("/api/v1/sessions/{id}"), &auth, None).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let reason = loop {
        match tokio::time::timeout_at(deadline, second.next()).await.expect("the socket closes") {
            Some(Ok(Message::Close(frame))) => break frame.map(|f| f.reason.to_string()).unwrap_or_default(),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break String::new(),
        }
    };
    assert!(reason.contains("session ended") || reason.contains("ended"), "{reason:?}");
    let gone = request(port, "GET", &format!("/api/v1/sessions/{id}/terminals"), &auth, None).await;
    assert_eq!(gone.json, json!([]));
}
