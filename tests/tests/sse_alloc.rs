//! The raw `text/event-stream` parser allocates nothing for an event whose data is one line,
//! once its buffers have grown to the size of the chunks it is fed: checked with a counting
//! global allocator (this binary's only test, so no other test allocates meanwhile: which is why it
//! is a binary of its own, not a module of `it/`, whose suites run in threads of one process).

use cxkit::__bench::SseParser;
use peak_alloc::PeakAlloc;

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

/// Feeds `body` in `chunk`-byte pieces and returns how many events and data bytes came out.
fn parse(parser: &mut SseParser, body: &[u8], chunk: usize) -> (usize, usize) {
    let (mut events, mut bytes) = (0, 0);
    for piece in body.chunks(chunk) {
        parser.push(piece);
        while let Some(data) = parser.next_data() {
            bytes += data.expect("a well-formed event").len();
            events += 1;
        }
    }
    (events, bytes)
}

#[test]
fn a_single_line_event_allocates_nothing() {
    const DELTA: &str = "The quick brown fox jumps over the lazy dog; 0123456789.";
    let frame = format!(
        ": keep-alive\r\nevent: token\r\ndata: {{\"step\":\"assistant_stream\",\"delta\":\"{DELTA}\"}}\r\n\r\n"
    );
    let body = frame.repeat(1000);
    let data_len = frame.len() - ": keep-alive\r\nevent: token\r\ndata: \r\n\r\n".len();
    // Whole frames per chunk, and chunks cut anywhere (a line still unfinished when the next
    // chunk arrives).
    for chunk in [frame.len() * 100, 4096, 1000, 7] {
        let mut parser = SseParser::new(1 << 20);
        // The first pass grows the receive buffer (and the string a cut line moves to).
        assert_eq!(
            parse(&mut parser, body.as_bytes(), chunk),
            (1000, 1000 * data_len)
        );
        // The allocator is the whole process's: the test harness's own thread may free (or,
        // rarely, allocate) meanwhile. Reading the usage before resetting the peak keeps a free
        // from counting as growth; the least of three passes keeps a stray allocation out. A
        // parser that allocates per event grows in every pass (1,000 events each).
        let grew = (0..3)
            .map(|_| {
                let before = HEAP.current_usage();
                HEAP.reset_peak_usage();
                let parsed = parse(&mut parser, body.as_bytes(), chunk);
                assert_eq!(parsed, (1000, 1000 * data_len), "chunks of {chunk} bytes");
                HEAP.peak_usage().saturating_sub(before)
            })
            .min()
            .unwrap_or_default();
        assert_eq!(
            grew, 0,
            "1,000 single-line events in chunks of {chunk} bytes allocated {grew} bytes at peak"
        );
    }
}
