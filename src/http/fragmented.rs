//! The framing decisions do not depend on how a client's bytes are split into reads.
//!
//! The server parses incrementally: [`HeadScanner`] keeps its place between reads, and the
//! body decoders keep theirs. If where the reads split the bytes ever changed a decision (where
//! a head ends, how long a body is, which error answers it, where the next pipelined request
//! starts), a client could make two parsers that see the same bytes disagree: request
//! smuggling. So each input here goes through a model of the connection's read loop
//! (`server::channel`: scan, parse, decode, drop everything after an error) whole, one byte at
//! a time and at random split points, and every way must give the same outcomes.
//!
//! Deterministic (fixed seeds) and bounded (fixed counts), so every `cargo test` runs it.

use super::body::{BodyDecoder, Step};
use super::error::HttpError;
use super::request::{Framing, Head, HeadScanner, HeadStatus, Limits, parse_head};

/// Random splittings of each corpus input, besides whole and byte by byte.
const SPLITTINGS_PER_INPUT: usize = 200;

/// Mutants derived from the corpus (byte flips, inserted line ends and separators, deletions,
/// truncations).
const MUTANTS: usize = 4000;

/// Random splittings of each mutant, besides whole and byte by byte.
const SPLITTINGS_PER_MUTANT: usize = 8;

/// Most edits applied to one mutant.
const MAX_EDITS: usize = 3;

/// The limits every input is run with: large enough for the corpus to pass, and small enough
/// that heads and bodies cross `max_request_header_size` and `max_request_body_size` at many
/// different points of their bytes.
const LIMITS: [Limits; 2] = [
    Limits {
        max_header_size: 1000,
        max_body_size: 1000,
    },
    Limits {
        max_header_size: 64,
        max_body_size: 16,
    },
];

/// splitmix64: a small, fixed, well-mixed generator, so a failure reproduces from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// What the connection made of its bytes, in order.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// A request with its whole body; `end` is where the next request starts in the stream.
    Request {
        head: Head,
        body: Vec<u8>,
        end: usize,
    },
    /// The request that was refused, and how; nothing after it is read.
    Refused(HttpError),
}

/// Where the connection was once all the bytes had arrived.
#[derive(Debug, PartialEq)]
enum Left {
    /// Stopped after an error.
    Stopped,
    /// Waiting for the rest of a head, with this many bytes of it buffered.
    Head { buffered: usize },
    /// Waiting for the rest of a body, with this much of it decoded and `buffered` bytes not
    /// yet consumed.
    Body { decoded: Vec<u8>, buffered: usize },
}

enum Reading {
    Head,
    Body {
        head: Box<Head>,
        decoder: BodyDecoder,
        body: Vec<u8>,
    },
    Stopped,
}

/// The parsing half of `server::channel::Channel`, without the socket, the spool and the
/// lookahead (which decide when parsing happens, not what it finds).
struct Conn {
    limits: Limits,
    scanner: HeadScanner,
    reading: Reading,
    /// Bytes received and not yet consumed.
    inbuf: Vec<u8>,
    /// Where `inbuf` starts in the stream.
    offset: usize,
    outcomes: Vec<Outcome>,
}

impl Conn {
    fn new(limits: Limits) -> Self {
        Conn {
            limits,
            scanner: HeadScanner::new(),
            reading: Reading::Head,
            inbuf: Vec::new(),
            offset: 0,
            outcomes: Vec::new(),
        }
    }

    /// One read's bytes, handled as the channel's `read_some` handles them.
    fn read(&mut self, piece: &[u8]) {
        match self.reading {
            Reading::Stopped => return,
            // Body bytes go to the decoder without a stop in `inbuf`, as in the channel.
            Reading::Body { .. } if self.inbuf.is_empty() => {
                let consumed = self.feed_body(piece);
                self.offset += consumed;
                if !matches!(self.reading, Reading::Stopped) {
                    self.inbuf.extend_from_slice(&piece[consumed..]);
                }
            }
            _ => self.inbuf.extend_from_slice(piece),
        }
        loop {
            let progressed = match self.reading {
                Reading::Stopped => false,
                Reading::Head => self.parse_head(),
                Reading::Body { .. } => {
                    let input = std::mem::take(&mut self.inbuf);
                    let before = self.outcomes.len();
                    let consumed = self.feed_body(&input);
                    self.offset += consumed;
                    if !matches!(self.reading, Reading::Stopped) {
                        self.inbuf = input[consumed..].to_vec();
                    }
                    self.outcomes.len() > before
                }
            };
            if !progressed {
                break;
            }
        }
    }

    fn parse_head(&mut self) -> bool {
        let (start, end) = match self.scanner.scan(&self.inbuf, &self.limits) {
            Ok(HeadStatus::Partial) => return false,
            Ok(HeadStatus::Complete { start, end }) => (start, end),
            Err(e) => {
                self.fail(e);
                return true;
            }
        };
        let parsed = parse_head(&self.inbuf[start..end], &self.limits);
        self.inbuf.drain(..end);
        self.offset += end;
        self.scanner.reset();
        match parsed {
            Err(e) => self.fail(e),
            Ok(head) if head.framing == Framing::None => self.outcomes.push(Outcome::Request {
                head,
                body: Vec::new(),
                end: self.offset,
            }),
            Ok(head) => {
                let decoder =
                    BodyDecoder::new(head.framing, self.limits.max_body_size, head.version);
                self.reading = Reading::Body {
                    head: Box::new(head),
                    decoder,
                    body: Vec::new(),
                };
            }
        }
        true
    }

    /// Decodes body bytes from `input`, which starts at `offset` in the stream; returns how
    /// many it consumed.
    fn feed_body(&mut self, input: &[u8]) -> usize {
        let Reading::Body { decoder, body, .. } = &mut self.reading else {
            return 0;
        };
        let mut consumed = 0;
        loop {
            let rest = &input[consumed..];
            match decoder.step(rest) {
                Ok((n, Step::Data(range))) => {
                    assert!(range.end <= n && n <= rest.len(), "{range:?} of {n}");
                    body.extend_from_slice(&rest[range]);
                    consumed += n;
                }
                Ok((n, Step::NeedMore)) => {
                    assert_eq!(n, rest.len(), "NeedMore consumes everything");
                    return consumed + n;
                }
                Ok((n, Step::Done)) => {
                    consumed += n;
                    let Reading::Body { head, body, .. } =
                        std::mem::replace(&mut self.reading, Reading::Head)
                    else {
                        unreachable!("matched above");
                    };
                    self.outcomes.push(Outcome::Request {
                        head: *head,
                        body,
                        end: self.offset + consumed,
                    });
                    return consumed;
                }
                Err(e) => {
                    self.fail(e);
                    return consumed;
                }
            }
        }
    }

    fn fail(&mut self, error: HttpError) {
        // A body's error answers the request it belongs to, as the channel's `fail` does.
        let error = match &self.reading {
            Reading::Body { head, .. } => error.answering(head.version, head.is_head()),
            Reading::Head | Reading::Stopped => error,
        };
        self.outcomes.push(Outcome::Refused(error));
        self.reading = Reading::Stopped;
        self.inbuf = Vec::new();
    }

    fn finish(self) -> (Vec<Outcome>, Left) {
        let left = match self.reading {
            Reading::Stopped => Left::Stopped,
            Reading::Head => Left::Head {
                buffered: self.inbuf.len(),
            },
            Reading::Body { body, .. } => Left::Body {
                decoded: body,
                buffered: self.inbuf.len(),
            },
        };
        (self.outcomes, left)
    }
}

/// Feeds `input` in the pieces that `cuts` (increasing positions inside it) mark.
fn run(input: &[u8], cuts: &[usize], limits: Limits) -> (Vec<Outcome>, Left) {
    let mut conn = Conn::new(limits);
    let mut from = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        if cut > from {
            conn.read(&input[from..cut]);
            from = cut;
        }
    }
    conn.finish()
}

/// Random cut points: sometimes a few, sometimes many, so both long and very short reads
/// occur.
fn random_cuts(rng: &mut Rng, len: usize) -> Vec<usize> {
    if len < 2 {
        return Vec::new();
    }
    let most = if rng.below(4) == 0 { len - 1 } else { 8 };
    let count = 1 + rng.below(most.min(len - 1));
    let mut cuts: Vec<usize> = (0..count).map(|_| 1 + rng.below(len - 1)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

/// Checks that `input` gives the same outcomes whole, byte by byte and at `splittings` random
/// splits, under each of the [`LIMITS`]. Returns how many requests the whole run accepted.
fn check_splits(input: &[u8], splittings: usize, rng: &mut Rng) -> usize {
    let mut accepted = 0;
    for limits in LIMITS {
        let whole = run(input, &[], limits);
        accepted += whole
            .0
            .iter()
            .filter(|o| matches!(o, Outcome::Request { .. }))
            .count();
        let bytewise: Vec<usize> = (1..input.len()).collect();
        let mut splits = vec![bytewise];
        splits.extend((0..splittings).map(|_| random_cuts(rng, input.len())));
        for cuts in splits {
            let got = run(input, &cuts, limits);
            assert!(
                got == whole,
                "{limits:?}\ninput {}\ncuts {cuts:?}\nwhole {whole:#?}\nsplit {got:#?}",
                input.escape_ascii()
            );
        }
    }
    accepted
}

/// A chunked POST with `body` as its coded body, then a GET pipelined after it.
fn chunked_then_get(body: &[u8]) -> Vec<u8> {
    let mut raw = b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    raw.extend_from_slice(body);
    raw.extend_from_slice(b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n");
    raw
}

/// A POST with `fields` (CRLF-terminated lines) and `rest` after its head.
fn post_then(fields: &[u8], rest: &[u8]) -> Vec<u8> {
    let mut raw = b"POST / HTTP/1.1\r\nHost: a\r\n".to_vec();
    raw.extend_from_slice(fields);
    raw.extend_from_slice(b"\r\n");
    raw.extend_from_slice(rest);
    raw
}

/// Valid requests, pipelined sequences, chunked bodies with extensions and trailers, and the
/// malformed and hardening vectors of the parser's unit tables and http-hardening.md.
fn corpus() -> Vec<Vec<u8>> {
    const NEXT: &[u8] = b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
    let mut c: Vec<Vec<u8>> = Vec::new();
    let mut add = |raw: &[u8]| c.push(raw.to_vec());

    // Valid heads and pipelines.
    add(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    add(b"GET /a%20b/?q=1&r=%41#frag HTTP/1.1\r\nHost: example.com:9000\r\nX-Multi: a\r\nx-multi: b\r\n\r\n");
    add(b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
    add(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n");
    add(b"HEAD / HTTP/1.1\r\nHost: a\r\nCookie: a=1\r\ncookie: b=2\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    add(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
    add(b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
    add(b"GET http://h:8/p?q HTTP/1.1\r\nHost: other\r\n\r\n");
    add(b"GET / HTTP/1.1\r\nHost: a\r\nX-Latin: caf\xe9\r\nX-Tab:\tv\t\r\nEmpty:\r\n\r\n");
    add(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
    add(b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc");
    add(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nshort");
    add(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    add(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /unfinished HTTP/1.1\r\nHo");
    add(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\r");
    add(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\r\n\r");
    let mut twenty = Vec::new();
    for n in 0..20 {
        let body = format!("#{n}");
        twenty.extend_from_slice(
            format!(
                "POST /{n} HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
    }
    add(&twenty);

    // Chunked bodies, valid (body.rs's table) and not, each followed by a pipelined GET.
    for body in [
        &b"0\r\n\r\n"[..],
        b"4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n",
        b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer-X: y\r\n\r\n",
        b"000004\r\nWiki\r\n0000\r\n\r\n",
        b"A\r\n0123456789\r\n0\r\n\r\n",
        b"1;a=b;c=\"d e\"\r\nx\r\n0\r\n\r\n",
        b"1;a=\"q\\\"uote\"\r\nx\r\n0\r\n\r\n",
        b"1;a=\"\xe9\"\r\nx\r\n0\r\n\r\n",
        b"1 ;a = b\r\nx\r\n0\r\n\r\n",
        b"1\t; a ;b\r\nx\r\n0\r\n\r\n",
        b"1  ;a\r\nx\r\n0\r\n\r\n",
        b"0;last\r\n\r\n",
        b"1\r\nx\r\n0\r\nA: 1\r\nB-2: \t\xe9 v \r\nC:\r\n\r\n",
        b"3\r\n\r\n\n\r\n0\r\n\r\n",
        b"10\r\n0123456789abcdef\r\n0\r\n\r\n",
        b"5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n",
        // CVE-2022-24761 and the rest of body.rs's invalid table.
        b"0x4\r\nWiki\r\n0\r\n\r\n",
        b"+4\r\nWiki\r\n0\r\n\r\n",
        b" 4\r\nWiki\r\n0\r\n\r\n",
        b"4_0\r\n",
        b"\xef\xbc\x94\r\n",
        b"\r\n",
        b"4\r\nWiki\r\n\r\n0\r\n\r\n",
        b";a\r\n",
        b"00000000000000001\r\nx\r\n",
        b"fffffffffffffffff\r\n",
        b"4 \r\nWiki\r\n0\r\n\r\n",
        b"4;\r\nWiki\r\n0\r\n\r\n",
        b"4;invalid=\r\nWiki\r\n0\r\n\r\n",
        b"4;a=b \r\n",
        b"4;a=\"unbalanced\r\n",
        b"4;a=\"x\"y\r\n",
        b"1\n\r\nZ\r\n0\r\n\r\n",
        b"1;a\n\r\nZ\r\n0\r\n\r\n",
        b"4\rWiki\r\n0\r\n\r\n",
        b"0\n\r\n\r\n",
        b"0\r\n\n",
        b"0\r\n\r\r\n",
        b"4\r\nWikiX\r\n0\r\n\r\n",
        b"4\r\nWiki\n0\r\n\r\n",
        b"4\r\nWik\r\n0\r\n\r\n",
        b"0\r\nX : y\r\n\r\n",
        b"0\r\nNoColon\r\n\r\n",
        b"0\r\nX: a\x00b\r\n\r\n",
        b"0\r\nX: a\nY: b\r\n\r\n",
        b"0\r\nX: a\r\n folded\r\n\r\n",
        b"3E8\r\n",
        b"100000000\r\n",
    ] {
        add(&chunked_then_get(body));
    }

    // Content-Length (hardening §2), with the body and a request after it.
    for line in [
        &b"Content-Length: 1\r\nContent-Length: 2\r\n"[..],
        b"Content-Length: 1, 2\r\n",
        b"Content-Length: 3\r\nContent-Length: 3\r\n",
        b"Content-Length: 3, 3\r\n",
        b"Content-Length: +3\r\n",
        b"Content-Length: -1\r\n",
        b"Content-Length: 0x3\r\n",
        b"Content-Length: 1_0\r\n",
        b"Content-Length: \r\n",
        b"Content-Length: 4 2\r\n",
        b"Content-Length: 1000000000000000000000\r\n",
        b"Content-Length: 003\r\n",
        b"Content-Length : 3\r\n",
        b"Content-Length:\x0b3\r\n",
        b"Content-Length: 1073741824\r\n",
        b"Content-Length: \xa03\r\n",
        b"Content-Length:\t3\t\r\n",
        b"Content-Length: 17\r\n",
    ] {
        add(&post_then(line, &[b"abc", NEXT].concat()));
    }

    // Transfer-Encoding, including smuggling attempts with a Content-Length beside it.
    for line in [
        &b"Transfer-Encoding: gzip, chunked\r\n"[..],
        b"Transfer-Encoding: chunked, chunked\r\n",
        b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
        b"Transfer-Encoding: chunked, gzip\r\n",
        b"Transfer-Encoding: gzip\r\n",
        b"Transfer-Encoding: ,chunked\r\n",
        b"Transfer-Encoding: \r\n",
        b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
        b"Transfer-Encoding:\x0bchunked\r\nContent-Length: 3\r\n",
        b"Transfer-Encoding: \x85chunked\xa0\r\n",
        b"Transfer-Encoding: chun\xe2\x84\xaaed\r\n",
        b"Transfer-Encoding: CHUNKED\r\n",
    ] {
        add(&post_then(line, &[b"3\r\nabc\r\n0\r\n\r\n", NEXT].concat()));
    }
    add(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");

    // Line ends, fields and request lines (CVE-2019-16785 first).
    add(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\nX-Header: x\nContent-Length: 0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n");
    for raw in [
        &b"GET / HTTP/1.1\nHost: a\n\n"[..],
        b"GET / HTTP/1.1\r\nHost: a\n\r\n",
        b"GET / HTTP/1.1\rHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\r\n\r\n",
        b"\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"\rXGET / HTTP/1.1\r\n\r\n",
        b"\nGET / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n folded\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX : a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nBad-header: xxxxxxxxxxxxxxx\x10\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nUser: \x85admin\xa0\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX_Forwarded_For: 6.6.6.6\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: y\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
        b"get / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"\x00 / HTTP/............0596.7407.\r\n\r\n",
        b"\x0b\x0cGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
        b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET h:443 HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET * HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /\r\n\r\n",
        b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"GET / HTTP/1.2\r\nHost: a\r\n\r\n",
        b"GET http://u@h/ HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GARBAGE\r\n\r\n",
        b"\r\n",
        b"\n",
        b"\r",
    ] {
        c.push(raw.to_vec());
    }
    // Heads around the limits, some with a bare LF inside and the terminator well after it.
    let long_value = vec![b'v'; 1200];
    c.push(
        [
            b"GET / HTTP/1.1\r\nHost: a\r\nX: ".as_ref(),
            &long_value,
            b"\r\n\r\n",
            NEXT,
        ]
        .concat(),
    );
    c.push(
        [
            b"GET / HTTP/1.1\nHost: a\r\nX: ".as_ref(),
            &long_value,
            b"\r\n\r\n",
        ]
        .concat(),
    );
    c.push(
        [
            b"GET / HTTP/1.1\r\nHost: a\r\nX: ".as_ref(),
            &long_value,
            b"\n\r\n\r\n",
        ]
        .concat(),
    );
    c.push([b"GET / HTTP/1.1\r\nHost: a\r\nX: ".as_ref(), &long_value].concat());
    c.push(
        [
            b"GET / HTTP/1.1\r\nHost: a\r\nX: ".as_ref(),
            &long_value,
            b"\rx",
        ]
        .concat(),
    );
    c.push(
        [
            b"\r\n".repeat(40).as_slice(),
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        ]
        .concat(),
    );
    c.push(
        [
            b"\r\n".repeat(40).as_slice(),
            b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        ]
        .concat(),
    );
    c.push([b"\r\n".repeat(600).as_slice(), b"\nGET"].concat());
    c.push(b"a".repeat(1100));
    c
}

/// Random edits of the sort that break framing: a flipped byte, an inserted line end,
/// separator or NUL, a deleted byte, a truncation, a duplicated stretch.
fn mutate(input: &[u8], rng: &mut Rng) -> Vec<u8> {
    const INSERTS: [u8; 8] = [b'\r', b'\n', 0, b' ', b':', b'\t', b';', b'0'];
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(MAX_EDITS) {
        let at = rng.below(out.len() + 1);
        match rng.below(6) {
            0 if at < out.len() => out[at] ^= 1 << rng.below(8),
            1 => out.insert(at, INSERTS[rng.below(INSERTS.len())]),
            2 => out.splice(at..at, *b"\r\n").for_each(drop),
            3 if at < out.len() => {
                out.remove(at);
            }
            4 => out.truncate(at),
            5 if at < out.len() => {
                let end = (at + 1 + rng.below(16)).min(out.len());
                let stretch = out[at..end].to_vec();
                out.splice(at..at, stretch).for_each(drop);
            }
            _ => out.insert(at, b'\n'),
        }
    }
    out
}

#[test]
fn corpus_gives_the_same_outcomes_however_it_is_split() {
    let mut rng = Rng(0x5eed_0f5b_1175_u64);
    let corpus = corpus();
    let mut accepted = 0;
    for input in &corpus {
        accepted += check_splits(input, SPLITTINGS_PER_INPUT, &mut rng);
    }
    // The property only means something if the corpus is mostly requests that get through.
    assert!(accepted > corpus.len(), "only {accepted} requests accepted");
}

#[test]
fn mutants_give_the_same_outcomes_however_they_are_split() {
    let mut rng = Rng(0x0bad_c0de_f00d_u64);
    let corpus = corpus();
    for _ in 0..MUTANTS {
        let input = mutate(&corpus[rng.below(corpus.len())], &mut rng);
        check_splits(&input, SPLITTINGS_PER_MUTANT, &mut rng);
    }
}
