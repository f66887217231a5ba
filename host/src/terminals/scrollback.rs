//! The bounded memory of a terminal's output that a viewer replays when it
//! attaches.

use std::collections::VecDeque;

/// How far into a cut scrollback to look for a line break to start at.
const LINE_START_SEARCH: usize = 4096;

/// The last `cap` bytes of a terminal's output.
#[derive(Debug)]
pub(super) struct Scrollback {
    bytes: VecDeque<u8>,
    cap: usize,
    /// Whether older output was dropped.
    cut: bool,
}

impl Scrollback {
    pub(super) fn new(cap: usize) -> Scrollback {
        Scrollback { bytes: VecDeque::with_capacity(cap.min(1 << 16)), cap, cut: false }
    }

    pub(super) fn push(&mut self, data: &[u8]) {
        let data = &data[data.len().saturating_sub(self.cap)..];
        let overflow = (self.bytes.len() + data.len()).saturating_sub(self.cap);
        if overflow > 0 {
            self.bytes.drain(..overflow);
            self.cut = true;
        }
        self.bytes.extend(data);
    }

    /// What to replay. Once older output was dropped, the replay starts
    /// after the first line break (when there is one near the start), so it
    /// does not open with half a line or half an escape sequence.
    pub(super) fn replay(&self) -> bytes::Bytes {
        let (front, back) = self.bytes.as_slices();
        let mut all = Vec::with_capacity(self.bytes.len());
        all.extend_from_slice(front);
        all.extend_from_slice(back);
        if self.cut
            && let Some(nl) = all.iter().take(LINE_START_SEARCH).position(|b| *b == b'\n')
        {
            all.drain(..=nl);
        }
        all.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_bytes_and_starts_a_cut_replay_on_a_line() {
        let mut s = Scrollback::new(10);
        s.push(b"abc\n");
        assert_eq!(&s.replay()[..], b"abc\n");
        s.push(b"defg\nhij");
        assert_eq!(&s.replay()[..], b"defg\nhij", "cut to `c\\ndefg\\nhij`, replayed from the first full line");
        s.push(b"0123456789ABCDEF");
        assert_eq!(&s.replay()[..], b"6789ABCDEF", "no line break: replayed as it is");
    }
}
