//! The generic, incremental `text/event-stream` parser: bytes in, each event's `data` out.

use crate::{Error, Result};

/// An incremental `text/event-stream` parser that keeps only the `data` of each event (the
/// vendor sends no event names or ids). Each byte is scanned for a line end once (`memchr`), so
/// a single huge line costs linear time, and an event's size is checked as it grows.
///
/// An event whose data is one line (every frame the vendor sends) is returned as a slice of the
/// receive buffer, without a copy or an allocation; the data of a multi-line event, or of a line
/// that was still in the buffer when the next chunk arrived, is gathered in one reused string.
#[derive(Debug)]
pub struct Parser {
    /// Received bytes; `buf[start..]` is not consumed yet, and `buf[scanned..]` has not been
    /// searched for a line end yet.
    buf: Vec<u8>,
    start: usize,
    scanned: usize,
    /// The data of the event being built.
    data: Data,
    /// Where the data of an event of more than one line (or of a line no longer in `buf`) is
    /// joined by `\n`; cleared, never freed, between events.
    joined: String,
    /// A `\r` ended the last line: a `\n` right after it belongs to that line end.
    after_cr: bool,
    at_start: bool,
    max_event_bytes: u64,
}

/// The data of the event being built.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Data {
    /// No `data` line yet.
    None,
    /// One `data` line, whose value is `buf[from..to]` (already checked to be UTF-8).
    Line { from: usize, to: usize },
    /// In `joined`.
    Joined,
}

impl Parser {
    /// A parser whose events may hold at most `max_event_bytes` of data (and unfinished line).
    pub fn new(max_event_bytes: u64) -> Self {
        Parser {
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            data: Data::None,
            joined: String::new(),
            after_cr: false,
            at_start: true,
            max_event_bytes,
        }
    }

    /// Adds received bytes. Consumed bytes are dropped here, once per chunk, so that moving the
    /// unconsumed tail costs at most what the chunk brought; an event's one data line, if it is
    /// among them, moves to `joined` first (once: then the event's data is there).
    pub fn push(&mut self, chunk: &[u8]) {
        if self.start > 0 {
            if let Data::Line { from, to } = self.data {
                self.joined.clear();
                self.joined.push_str(line_str(&self.buf[from..to]));
                self.data = Data::Joined;
            }
            if self.start == self.buf.len() {
                self.buf.clear();
            } else {
                self.buf.drain(..self.start);
            }
            self.scanned -= self.start;
            self.start = 0;
        }
        self.buf.extend_from_slice(chunk);
        if self.at_start && self.buf.len() >= 3 {
            if self.buf.starts_with(b"\xEF\xBB\xBF") {
                self.start = 3;
                self.scanned = self.scanned.max(3);
            }
            self.at_start = false;
        }
    }

    /// The data of the next complete event, if the buffer holds one; an error once the event
    /// being built (its data so far and its unfinished line) passes the cap. The data is
    /// borrowed from the parser until the next call.
    pub fn next_data(&mut self) -> Option<Result<&str>> {
        loop {
            if self.after_cr && self.start < self.buf.len() {
                if self.buf[self.start] == b'\n' {
                    self.start += 1;
                    self.scanned = self.scanned.max(self.start);
                }
                self.after_cr = false;
            }
            let from = self.scanned.max(self.start);
            let Some(end) = memchr::memchr2(b'\n', b'\r', &self.buf[from..]).map(|i| from + i)
            else {
                self.scanned = self.buf.len();
                let unfinished = self.buf.len() - self.start;
                if (self.data_len() + unfinished) as u64 > self.max_event_bytes {
                    return Some(Err(self.too_large()));
                }
                return None;
            };
            let mut next = end + 1;
            if self.buf[end] == b'\r' {
                match self.buf.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            let line_start = self.start;
            self.start = next;
            self.scanned = next;
            // A byte-order mark counts only at the very start of the stream.
            self.at_start = false;
            let line = &self.buf[line_start..end];
            if line.is_empty() {
                match std::mem::replace(&mut self.data, Data::None) {
                    Data::None => continue,
                    Data::Line { from, to } => return Some(Ok(line_str(&self.buf[from..to]))),
                    Data::Joined => return Some(Ok(&self.joined)),
                }
            }
            if std::str::from_utf8(line).is_err() {
                return Some(Err(Error::Decode {
                    message: "the event stream is malformed: not UTF-8".into(),
                }));
            }
            if line[0] == b':' {
                continue;
            }
            let (field, mut value) = match memchr::memchr(b':', line) {
                Some(colon) => (&line[..colon], line_start + colon + 1),
                None => (line, end),
            };
            if field != b"data" {
                continue;
            }
            if self.buf.get(value) == Some(&b' ') && value < end {
                value += 1;
            }
            match self.data {
                Data::None => {
                    self.data = Data::Line {
                        from: value,
                        to: end,
                    }
                }
                Data::Line { from, to } => {
                    self.joined.clear();
                    self.joined.push_str(line_str(&self.buf[from..to]));
                    self.joined.push('\n');
                    self.joined.push_str(line_str(&self.buf[value..end]));
                    self.data = Data::Joined;
                }
                Data::Joined => {
                    self.joined.push('\n');
                    self.joined.push_str(line_str(&self.buf[value..end]));
                }
            }
            if self.data_len() as u64 > self.max_event_bytes {
                return Some(Err(self.too_large()));
            }
        }
    }

    /// The size of the event's data so far.
    fn data_len(&self) -> usize {
        match self.data {
            Data::None => 0,
            Data::Line { from, to } => to - from,
            Data::Joined => self.joined.len(),
        }
    }

    fn too_large(&self) -> Error {
        Error::ResponseTooLarge {
            limit: self.max_event_bytes,
            setting: "HttpConfig::max_event_bytes",
        }
    }
}

/// A part of a line already checked to be UTF-8 (a whole line, or what follows its first `:`
/// or the one space after it, which cannot split a character).
fn line_str(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event's data from `input` fed in `cuts` pieces, or the first error.
    fn parse_in_pieces(input: &[u8], cuts: &[usize], cap: u64) -> Result<Vec<String>> {
        let mut parser = Parser::new(cap);
        let mut out = Vec::new();
        let mut at = 0;
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        bounds.sort_unstable();
        bounds.push(input.len());
        for end in bounds {
            parser.push(&input[at..end.max(at)]);
            at = end.max(at);
            while let Some(data) = parser.next_data() {
                out.push(data?.to_owned());
            }
        }
        Ok(out)
    }

    #[test]
    fn line_endings_comments_and_multi_line_data_follow_the_standard() {
        let input =
            b"\xEF\xBB\xBF: comment\r\ndata: a\r\ndata:b\r\rdata: c\n\nevent: x\nid: 1\n\ndata\n\n";
        for cut in 0..input.len() {
            assert_eq!(
                parse_in_pieces(input, &[cut], 1024).unwrap(),
                ["a\nb", "c", ""],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn an_event_past_the_cap_is_a_typed_error() {
        let big = format!("data: {}", "x".repeat(100));
        let err = parse_in_pieces(big.as_bytes(), &[10, 50], 64).unwrap_err();
        assert!(
            matches!(err, Error::ResponseTooLarge { limit: 64, .. }),
            "{err:?}"
        );
        // Many small events add up to more than the cap without being one large event.
        let many = "data: 0123456789\n\n".repeat(100);
        assert_eq!(
            parse_in_pieces(many.as_bytes(), &[7], 64).unwrap().len(),
            100
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn any_input_in_any_pieces_never_panics(
                input in proptest::collection::vec(any::<u8>(), 0..400),
                cuts in proptest::collection::vec(any::<usize>(), 0..8),
                cap in 1u64..512,
            ) {
                let _ = parse_in_pieces(&input, &cuts, cap);
            }

            #[test]
            fn how_the_body_is_cut_never_changes_the_events(
                datas in proptest::collection::vec("[^\r\n]{0,40}", 1..8),
                ending in prop::sample::select(vec!["\n", "\r\n", "\r"]),
                cuts in proptest::collection::vec(any::<usize>(), 0..8),
            ) {
                let input: String = datas
                    .iter()
                    .map(|d| format!(": keep-alive{ending}data: {d}{ending}{ending}"))
                    .collect();
                let whole = parse_in_pieces(input.as_bytes(), &[], 1 << 20).unwrap();
                prop_assert_eq!(&whole, &datas);
                prop_assert_eq!(parse_in_pieces(input.as_bytes(), &cuts, 1 << 20).unwrap(), whole);
            }
        }
    }
}
