//! Shared terminals on a real machine: typing, resizing, detaching and
//! reattaching to the same shell with its jobs, several viewers, and the
//! end of a shell reaching every viewer. Runs when `PROCTOR_TEST_DOCKER=1`.

use std::time::Duration;

use proctor::{
    runtime::{Runtime, TerminalSize},
    terminals::{Attachment, TerminalEvent, Terminals},
};
use tokio::time::Instant;

use crate::docker_runtime::{sh, started};

/// Reads a viewer's output until it contains `needle` (after `from` bytes
/// already seen), failing at a deadline; returns everything read so far.
async fn read_until(viewer: &mut Attachment, seen: &mut String, needle: &str) -> String {
    let from = seen.len();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !seen[from..].contains(needle) {
        match tokio::time::timeout_at(deadline, viewer.events.recv()).await {
            Ok(Ok(TerminalEvent::Output(bytes))) => seen.push_str(&String::from_utf8_lossy(&bytes)),
            Ok(other) => panic!("the terminal stopped before {needle:?} arrived: {other:?}\n{seen}"),
            Err(_) => panic!("no {needle:?} in time; the terminal showed:\n{seen}"),
        }
    }
    seen.clone()
}

/// The number after `prefix` in the output, e.g. `pid=` in `pid=42`.
fn number_after(text: &str, prefix: &str) -> Option<u32> {
    text.match_indices(prefix).find_map(|(i, _)| {
        let digits: String = text[i + prefix.len()..].chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    })
}

/// Waits for the terminal's end and returns its reason.
async fn ended(viewer: &mut Attachment) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(deadline, viewer.events.recv()).await.expect("an end in time") {
            Ok(TerminalEvent::Ended(reason)) => return reason,
            Ok(TerminalEvent::Output(_)) => {}
            Err(e) => panic!("the viewer lost the terminal without an end: {e}"),
        }
    }
}

#[tokio::test]
async fn a_shell_survives_its_viewers_and_its_end_reaches_them() {
    let Some((docker, id, _guard)) = started("a_shell_survives_its_viewers_and_its_end_reaches_them", "term").await else {
        return;
    };
    let terminals = Terminals::default();
    let term = terminals.open(&docker, &id, "main", TerminalSize { cols: 80, rows: 24 }).await.unwrap();
    let mut viewer = terminals.attach(&id, &term).unwrap();
    let mut seen = String::new();

    viewer.input.write(b"echo $((6*7))\n").await.unwrap();
    read_until(&mut viewer, &mut seen, "42").await;
    // Output that looks like a multiplexed frame header (a learner `cat`ing
    // a binary) passes through and the terminal goes on.
    viewer.input.write(b"printf '\\001\\000\\000\\000\\377\\377\\377\\377'; echo bin\"\"ary-ok\n").await.unwrap();
    read_until(&mut viewer, &mut seen, "binary-ok").await;
    assert!(terminals.last_input(&id).is_some());
    viewer.input.resize(TerminalSize { cols: 120, rows: 40 }).await.unwrap();
    viewer.input.write(b"stty size; pwd\n").await.unwrap();
    // In the machine's working directory (the prompt may show it too, so
    // the whole output is matched).
    read_until(&mut viewer, &mut seen, "40 120\r\n/workspace\r\n").await;
    // Quotes split the marker so that only the output, not the echo of
    // the typed line, contains it.
    viewer.input.write(b"sleep 1000 & echo pid=$$ \"mark\"\"er\"\n").await.unwrap();
    let before = read_until(&mut viewer, &mut seen, "marker").await;
    let shell = number_after(&before.replace("pid=$$", ""), "pid=").expect("the shell's pid");

    drop(viewer); // the browser goes away
    let mut back = terminals.attach(&id, &term).unwrap();
    let replay = String::from_utf8_lossy(&back.scrollback).into_owned();
    assert!(replay.contains("42") && replay.contains(&format!("pid={shell}")), "scrollback:\n{replay}");
    let mut again = String::new();
    back.input.write(b"echo again=$$; jobs\n").await.unwrap();
    let after = read_until(&mut back, &mut again, "Running").await;
    assert_eq!(number_after(&after.replace("again=$$", ""), "again="), Some(shell), "the same shell:\n{after}");

    // A second viewer sees what the first types.
    let mut second = terminals.attach(&id, &term).unwrap();
    let mut second_seen = String::new();
    back.input.write(b"echo both-$((1+1))\n").await.unwrap();
    read_until(&mut second, &mut second_seen, "both-2").await;
    assert_eq!(terminals.list(&id)[0].viewers, 2);

    back.input.write(b"exit 7\n").await.unwrap();
    for viewer in [&mut back, &mut second] {
        assert_eq!(ended(viewer).await, "the shell exited with status 7");
    }
    assert!(terminals.list(&id).is_empty(), "an ended terminal is forgotten");
    docker.destroy(&id).await.unwrap();
}

#[tokio::test]
async fn closing_a_session_ends_its_shells_and_their_jobs() {
    let Some((docker, id, _guard)) = started("closing_a_session_ends_its_shells_and_their_jobs", "term-close").await else {
        return;
    };
    let terminals = Terminals::default();
    let term = terminals.open(&docker, &id, "main", TerminalSize::default()).await.unwrap();
    let mut viewer = terminals.attach(&id, &term).unwrap();
    let mut seen = String::new();
    viewer.input.write(b"sleep 2000 & echo st\"\"arted\n").await.unwrap();
    read_until(&mut viewer, &mut seen, "started").await;

    terminals.close(&id).await;
    assert_eq!(ended(&mut viewer).await, "the session ended");
    let left = docker.exec(&id, &sh("ps -eo args | grep -c '^sleep 2000' || true")).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&left.stdout.0).trim(), "0", "the shell's job ended with it");
    docker.destroy(&id).await.unwrap();
}
