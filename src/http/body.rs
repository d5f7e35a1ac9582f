//! Request body decoding: `Content-Length` and chunked (RFC 9112 §6, §7.1), sans-IO and
//! zero-copy. The caller feeds whatever bytes it has; the decoder says how many it consumed
//! and which of them are body data.

use std::ops::Range;

use super::error::HttpError;
use super::request::{Framing, Version};
use super::{is_field_value_byte, is_tchar};

/// Most hex digits in a chunk size: 16 fill a u64, so more can only be padding or an overflow
/// attempt (h11 allows 20; waitress allows any number, with quadratic cost).
pub const MAX_CHUNK_SIZE_DIGITS: u8 = 16;

/// Most bytes of chunk extensions on one size line (RFC 9112 §7.1.1: a server ought to limit
/// extension length and answer 4xx past the limit).
pub const MAX_CHUNK_EXT_LINE: usize = 4 * 1024;

/// Most bytes of chunk extensions in one body, so many small chunks with extensions cannot
/// make the server parse an unbounded amount of metadata (hyper's limit: 16 KiB).
pub const MAX_CHUNK_EXT_BODY: usize = 16 * 1024;

/// Most bytes of trailer section (RFC 9112 §7.1.2), which is validated and discarded; past it,
/// 431 (hyper's limit: 16 KiB).
pub const MAX_TRAILER_SIZE: usize = 16 * 1024;

/// What one [`BodyDecoder::step`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `input[range]` is body data.
    Data(Range<usize>),
    /// Every input byte was consumed; the body continues in the next bytes.
    NeedMore,
    /// The body ended; the bytes after the consumed ones belong to the next request.
    Done,
}

/// Decodes one request body.
#[derive(Debug, Clone)]
pub enum BodyDecoder {
    /// `Content-Length` framing (or no body: `remaining` 0).
    Length {
        /// Body bytes still to come.
        remaining: u64,
        /// Body bytes passed on so far.
        decoded: u64,
    },
    /// Chunked transfer coding.
    Chunked(ChunkedDecoder),
}

impl BodyDecoder {
    /// The decoder for a head's framing. `max_body_size` is `max_request_body_size`, checked
    /// again here for chunked bodies (a Content-Length was checked with the head); `version`
    /// is put on errors so they are answered with the request's version.
    pub fn new(framing: Framing, max_body_size: u64, version: Version) -> Self {
        match framing {
            Framing::None => BodyDecoder::Length {
                remaining: 0,
                decoded: 0,
            },
            Framing::Length(n) => BodyDecoder::Length {
                remaining: n,
                decoded: 0,
            },
            Framing::Chunked => BodyDecoder::Chunked(ChunkedDecoder::new(max_body_size, version)),
        }
    }

    /// Consumes a prefix of `input`. Returns how many bytes were consumed and what they were.
    /// Call again with the unconsumed rest (plus any new bytes) until `Done` or an error.
    pub fn step(&mut self, input: &[u8]) -> Result<(usize, Step), HttpError> {
        match self {
            BodyDecoder::Length { remaining, decoded } => {
                if *remaining == 0 {
                    return Ok((0, Step::Done));
                }
                if input.is_empty() {
                    return Ok((0, Step::NeedMore));
                }
                let n = usize::try_from(*remaining).map_or(input.len(), |r| r.min(input.len()));
                *remaining -= n as u64;
                *decoded += n as u64;
                Ok((n, Step::Data(0..n)))
            }
            BodyDecoder::Chunked(c) => c.step(input),
        }
    }

    /// Body bytes decoded so far (the `CONTENT_LENGTH` a chunked body ends up with).
    pub fn decoded_len(&self) -> u64 {
        match self {
            BodyDecoder::Length { decoded, .. } => *decoded,
            BodyDecoder::Chunked(c) => c.decoded,
        }
    }

    /// Whether the whole body has been decoded.
    pub fn is_done(&self) -> bool {
        match self {
            BodyDecoder::Length { remaining, .. } => *remaining == 0,
            BodyDecoder::Chunked(c) => c.state == ChunkState::Done,
        }
    }
}

/// Where the chunked decoder is (RFC 9112 §7.1):
///
/// ```text
/// chunked-body = *chunk last-chunk trailer-section CRLF
/// chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
/// chunk-ext    = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Reading the hex digits of a chunk size.
    Size,
    /// Reading chunk extensions after the size.
    Ext(ExtState),
    /// The size line's CR was read; LF must follow.
    SizeLf,
    /// Passing chunk data through.
    Data,
    /// After the data, CR must follow.
    DataCr,
    /// After the data's CR, LF must follow.
    DataLf,
    /// At the start of a trailer line (or of the final empty line).
    TrailerStart,
    /// In a trailer field name.
    TrailerName,
    /// In a trailer field value.
    TrailerValue,
    /// A trailer line's CR was read; LF must follow.
    TrailerLf,
    /// The final empty line's CR was read; LF must follow.
    FinalLf,
    /// The body is complete.
    Done,
    /// An error was reported; the connection is to be closed.
    Failed,
}

/// Where the extension parser is within `chunk-ext`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExtState {
    /// BWS, then `;` must follow (after the size or a value).
    BeforeSemi,
    /// After `;`: BWS, then a name.
    NameStart,
    /// In a name.
    Name,
    /// BWS after a name: `=` or `;` must follow.
    AfterName,
    /// After `=`: BWS, then a token or quoted-string.
    ValueStart,
    /// In a token value.
    Token,
    /// In a quoted-string value.
    Quoted,
    /// After a backslash in a quoted-string.
    QuotedEscape,
    /// After the closing quote.
    AfterQuoted,
}

/// The chunked transfer coding decoder. Keeps all parsing state between calls, so each input
/// byte is looked at once even when the client sends one byte at a time.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    /// Where in the grammar the next byte falls.
    state: ChunkState,
    /// The chunk size being read, then the data bytes left in the current chunk.
    size: u64,
    /// Hex digits read for the current size.
    digits: u8,
    /// Extension bytes on the current size line.
    ext_line: usize,
    /// Extension bytes in the whole body.
    ext_body: usize,
    /// Trailer section bytes so far.
    trailer: usize,
    /// Data bytes decoded so far.
    decoded: u64,
    /// `max_request_body_size`.
    max_body: u64,
    /// The request's version, for the errors.
    version: Version,
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body.
    pub fn new(max_body: u64, version: Version) -> Self {
        ChunkedDecoder {
            state: ChunkState::Size,
            size: 0,
            digits: 0,
            ext_line: 0,
            ext_body: 0,
            trailer: 0,
            decoded: 0,
            max_body,
            version,
        }
    }

    fn fail(&mut self, err: HttpError) -> Result<(usize, Step), HttpError> {
        self.state = ChunkState::Failed;
        Err(err.with_version(self.version))
    }

    /// See [`BodyDecoder::step`].
    pub fn step(&mut self, input: &[u8]) -> Result<(usize, Step), HttpError> {
        let mut i = 0;
        loop {
            if self.state == ChunkState::Data {
                if self.size == 0 {
                    self.state = ChunkState::DataCr;
                    continue;
                }
                let avail = input.len().saturating_sub(i);
                if avail == 0 {
                    return Ok((i, Step::NeedMore));
                }
                let n = usize::try_from(self.size).map_or(avail, |s| s.min(avail));
                self.size -= n as u64;
                self.decoded += n as u64;
                return Ok((i + n, Step::Data(i..i + n)));
            }
            match self.state {
                ChunkState::Done => return Ok((i, Step::Done)),
                ChunkState::Failed => {
                    return Err(HttpError::bad_request("Chunked body already failed")
                        .with_version(self.version));
                }
                _ => {}
            }
            let Some(&b) = input.get(i) else {
                return Ok((i, Step::NeedMore));
            };
            i += 1;
            if let Err(e) = self.byte(b) {
                return self.fail(e);
            }
        }
    }

    /// Advances the control-line state machine by one byte (never called in `Data`).
    fn byte(&mut self, b: u8) -> Result<(), HttpError> {
        use ChunkState as S;
        let bad_size = || HttpError::bad_request("Invalid chunk size");
        let bad_ext = || HttpError::bad_request("Invalid chunk extension");
        let bare = || HttpError::bad_request("Bare CR or LF found in HTTP message");
        let unterminated = || HttpError::bad_request("Chunk not properly terminated");
        match self.state {
            S::Size => {
                if let Some(v) = hex_value(b) {
                    if self.digits >= MAX_CHUNK_SIZE_DIGITS {
                        return Err(bad_size());
                    }
                    self.digits += 1;
                    // Cannot overflow: at most 16 digits of 4 bits.
                    self.size = (self.size << 4) | u64::from(v);
                    return Ok(());
                }
                // 1*HEXDIG: an empty size line, a sign, a prefix or a space first is invalid.
                if self.digits == 0 {
                    return Err(bad_size());
                }
                match b {
                    b'\r' => self.state = S::SizeLf,
                    b';' => self.ext(ExtState::NameStart)?,
                    b' ' | b'\t' => self.ext(ExtState::BeforeSemi)?,
                    b'\n' => return Err(bare()),
                    _ => return Err(bad_size()),
                }
            }
            S::Ext(ext) => {
                use ExtState as E;
                if b == b'\r' {
                    // CRLF may end the line after a name or a value, nowhere else: `4;` and
                    // `4;a=` are invalid, and BWS is only allowed before `;` or `=`.
                    return match ext {
                        E::Name | E::Token | E::AfterQuoted => {
                            self.state = S::SizeLf;
                            Ok(())
                        }
                        _ => Err(bad_ext()),
                    };
                }
                if b == b'\n' {
                    return Err(bare());
                }
                let next = match (ext, b) {
                    (E::BeforeSemi | E::AfterName, b' ' | b'\t') => ext,
                    (E::BeforeSemi | E::AfterName, b';') => E::NameStart,
                    (E::AfterName, b'=') => E::ValueStart,
                    (E::NameStart | E::ValueStart, b' ' | b'\t') => ext,
                    (E::NameStart | E::Name, c) if is_tchar(c) => E::Name,
                    (E::Name, b';') => E::NameStart,
                    (E::Name, b'=') => E::ValueStart,
                    (E::Name, b' ' | b'\t') => E::AfterName,
                    (E::ValueStart, b'"') => E::Quoted,
                    (E::ValueStart | E::Token, c) if is_tchar(c) => E::Token,
                    (E::Token | E::AfterQuoted, b';') => E::NameStart,
                    (E::Token | E::AfterQuoted, b' ' | b'\t') => E::BeforeSemi,
                    (E::Quoted, b'"') => E::AfterQuoted,
                    (E::Quoted, b'\\') => E::QuotedEscape,
                    // qdtext and quoted-pair: HTAB, SP, VCHAR, obs-text (RFC 9110 §5.6.4).
                    (E::Quoted | E::QuotedEscape, c) if is_field_value_byte(c) => E::Quoted,
                    _ => return Err(bad_ext()),
                };
                self.ext(next)?;
            }
            S::SizeLf => {
                if b != b'\n' {
                    return Err(bare());
                }
                self.ext_line = 0;
                self.digits = 0;
                if self.size == 0 {
                    self.state = S::TrailerStart;
                } else {
                    // Refuse before the data arrives (waitress only notices afterwards).
                    if self.decoded.saturating_add(self.size) >= self.max_body {
                        return Err(HttpError::entity_too_large(self.max_body));
                    }
                    self.state = S::Data;
                }
            }
            S::DataCr => {
                if b != b'\r' {
                    return Err(unterminated());
                }
                self.state = S::DataLf;
            }
            S::DataLf => {
                if b != b'\n' {
                    return Err(unterminated());
                }
                self.size = 0;
                self.state = S::Size;
            }
            S::TrailerStart => {
                self.count_trailer()?;
                self.state = match b {
                    b'\r' => S::FinalLf,
                    // RFC 9112 §5.2 obs-fold, in a trailer as in the head.
                    b' ' | b'\t' => {
                        return Err(HttpError::bad_request(
                            "Obsolete line folding is not allowed",
                        ));
                    }
                    b'\n' => return Err(bare()),
                    c if is_tchar(c) => S::TrailerName,
                    _ => return Err(HttpError::bad_request("Invalid trailer")),
                };
            }
            S::TrailerName => {
                self.count_trailer()?;
                self.state = match b {
                    b':' => S::TrailerValue,
                    b'\n' => return Err(bare()),
                    c if is_tchar(c) => S::TrailerName,
                    _ => return Err(HttpError::bad_request("Invalid trailer")),
                };
            }
            S::TrailerValue => {
                self.count_trailer()?;
                match b {
                    b'\r' => self.state = S::TrailerLf,
                    b'\n' => return Err(bare()),
                    c if is_field_value_byte(c) => {}
                    _ => return Err(HttpError::bad_request("Invalid trailer")),
                }
            }
            S::TrailerLf | S::FinalLf => {
                self.count_trailer()?;
                if b != b'\n' {
                    return Err(bare());
                }
                self.state = if self.state == S::FinalLf {
                    S::Done
                } else {
                    S::TrailerStart
                };
            }
            S::Data | S::Done | S::Failed => {}
        }
        Ok(())
    }

    /// Moves to an extension state, counting the byte against both extension caps.
    fn ext(&mut self, next: ExtState) -> Result<(), HttpError> {
        self.ext_line += 1;
        self.ext_body += 1;
        if self.ext_line > MAX_CHUNK_EXT_LINE || self.ext_body > MAX_CHUNK_EXT_BODY {
            return Err(HttpError::bad_request("Chunk extensions too long"));
        }
        self.state = ChunkState::Ext(next);
        Ok(())
    }

    fn count_trailer(&mut self) -> Result<(), HttpError> {
        self.trailer += 1;
        if self.trailer > MAX_TRAILER_SIZE {
            return Err(HttpError::header_fields_too_large(format!(
                "trailers exceed {MAX_TRAILER_SIZE} bytes"
            )));
        }
        Ok(())
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIG: u64 = 1 << 30;

    /// Feeds `input` to a fresh decoder in pieces of `piece` bytes, as a caller would: keeping
    /// the unconsumed rest and appending the next piece. Returns the body and the bytes consumed
    /// once Done, `Ok(None)` if the body did not end.
    fn run(
        framing: Framing,
        max_body: u64,
        input: &[u8],
        piece: usize,
    ) -> Result<Option<(Vec<u8>, usize)>, HttpError> {
        let mut dec = BodyDecoder::new(framing, max_body, Version::Http11);
        let mut body = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut fed = 0;
        let mut consumed_total = 0;
        loop {
            let (n, step) = dec.step(&buf)?;
            match &step {
                Step::Data(r) => body.extend_from_slice(&buf[r.clone()]),
                Step::Done => {
                    assert_eq!(dec.decoded_len(), body.len() as u64);
                    assert!(dec.is_done());
                    return Ok(Some((body, consumed_total + n)));
                }
                Step::NeedMore => assert_eq!(n, buf.len(), "NeedMore consumes everything"),
            }
            buf.drain(..n);
            consumed_total += n;
            if step == Step::NeedMore {
                if fed == input.len() {
                    return Ok(None);
                }
                let end = (fed + piece).min(input.len());
                buf.extend_from_slice(&input[fed..end]);
                fed = end;
            }
        }
    }

    /// Runs whole and byte by byte; both must agree.
    fn chunked(input: &[u8]) -> Result<Option<(Vec<u8>, usize)>, HttpError> {
        let whole = run(Framing::Chunked, BIG, input, input.len().max(1));
        let bytewise = run(Framing::Chunked, BIG, input, 1);
        assert_eq!(whole, bytewise, "{input:?}");
        whole
    }

    #[test]
    fn valid_chunked_bodies() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"0\r\n\r\n", b""),
            (b"4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n", b"Wikipedia"),
            (
                b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer-X: y\r\n\r\n",
                b"Wikipedia",
            ),
            (b"000004\r\nWiki\r\n0000\r\n\r\n", b"Wiki"),
            (b"A\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
            (b"a\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
            (b"0000000000000001\r\nx\r\n0\r\n\r\n", b"x"),
            (b"1;a\r\nx\r\n0\r\n\r\n", b"x"),
            (b"1;a;b\r\nx\r\n0\r\n\r\n", b"x"),
            (b"1;a=b;c=\"d e\"\r\nx\r\n0\r\n\r\n", b"x"),
            (b"1;a=\"q\\\"uote\"\r\nx\r\n0\r\n\r\n", b"x"),
            (b"1;a=\"\xe9\"\r\nx\r\n0\r\n\r\n", b"x"),
            // RFC 9112 BWS around `;` and `=` is valid (waitress rejects it).
            (b"1 ;a = b\r\nx\r\n0\r\n\r\n", b"x"),
            (b"1\t; a ;b\r\nx\r\n0\r\n\r\n", b"x"),
            (b"0;last\r\n\r\n", b""),
            (b"1\r\nx\r\n0\r\nA: 1\r\nB-2: \t\xe9 v \r\nC:\r\n\r\n", b"x"),
            (b"3\r\n\r\n\n\r\n0\r\n\r\n", b"\r\n\n"),
        ];
        for (input, want) in cases {
            let (body, consumed) = chunked(input)
                .unwrap_or_else(|e| panic!("{input:?}: {e}"))
                .unwrap_or_else(|| panic!("{input:?}: not done"));
            assert_eq!(body, *want, "{input:?}");
            assert_eq!(consumed, input.len(), "{input:?}");
        }
    }

    #[test]
    fn bytes_after_the_body_are_left_alone() {
        let input = b"1\r\nx\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
        let (body, consumed) = chunked(input).unwrap().unwrap();
        assert_eq!((body.as_slice(), consumed), (&b"x"[..], 11));
    }

    #[test]
    fn incomplete_bodies_ask_for_more() {
        for input in [
            &b""[..],
            b"4",
            b"4\r",
            b"4\r\nWi",
            b"4\r\nWiki",
            b"4\r\nWiki\r",
            b"4\r\nWiki\r\n0\r\n",
            b"4\r\nWiki\r\n0\r\nX: y\r\n",
            b"0\r\n\r",
        ] {
            assert_eq!(chunked(input), Ok(None), "{input:?}");
        }
    }

    #[test]
    fn invalid_chunked_bodies() {
        let size = "Invalid chunk size";
        let ext = "Invalid chunk extension";
        let bare = "Bare CR or LF found in HTTP message";
        let term = "Chunk not properly terminated";
        let cases: &[(&[u8], u16, &str)] = &[
            // CVE-2022-24761: prefixes and signs.
            (b"0x4\r\nWiki\r\n0\r\n\r\n", 400, size),
            (b"+0x04\r\nWiki\r\n0\r\n\r\n", 400, size),
            (b"x04\r\nWiki\r\n0\r\n\r\n", 400, size),
            (b"+4\r\nWiki\r\n0\r\n\r\n", 400, size),
            (b"-4\r\nWiki\r\n0\r\n\r\n", 400, size),
            (b" 4\r\nWiki\r\n0\r\n\r\n", 400, size),
            (b" 0x04\r\nWiki\r\n0\r\n\r\n", 400, size),
            (b"4_0\r\n", 400, size),
            (b"g\r\n", 400, size),
            (b"4x\r\n", 400, size),
            (b"\xef\xbc\x94\r\n", 400, size),
            // An empty size line (httparse reads it as 0; waitress skips it).
            (b"\r\n", 400, size),
            (b"4\r\nWiki\r\n\r\n0\r\n\r\n", 400, size),
            (b";a\r\n", 400, size),
            (b"00000000000000001\r\nx\r\n", 400, size),
            (b"fffffffffffffffff\r\n", 400, size),
            // Whitespace after the size with no extension.
            (b"4 \r\nWiki\r\n0\r\n\r\n", 400, ext),
            (b"4\t\r\nWiki\r\n0\r\n\r\n", 400, ext),
            // Extensions.
            (b"4;\r\nWiki\r\n0\r\n\r\n", 400, ext),
            (b"4;invalid=\r\nWiki\r\n0\r\n\r\n", 400, ext),
            (b"4;a\x00\r\nWiki\r\n0\r\n\r\n", 400, ext),
            (b"4;a=\x01\r\n", 400, ext),
            (b"4;a=b c\r\n", 400, ext),
            (b"4;a \r\n", 400, ext),
            (b"4;a=b \r\n", 400, ext),
            (b"4;=b\r\n", 400, ext),
            (b"4;a==b\r\n", 400, ext),
            (b"4;a=\"unbalanced\r\n", 400, ext),
            (b"4;a=\"x\"y\r\n", 400, ext),
            (b"4;a=\"\x7f\"\r\n", 400, ext),
            (b"4;a@b\r\n", 400, ext),
            (b"4;;a\r\n", 400, ext),
            // Bare CR / LF in chunk lines (waitress accepts `1\n` through Python's `$`).
            (b"1\n\r\nZ\r\n0\r\n\r\n", 400, bare),
            (b"1;a\n\r\nZ\r\n0\r\n\r\n", 400, bare),
            (b"1;\n\r\nZ\r\n0\r\n\r\n", 400, bare),
            (b"4\rWiki\r\n0\r\n\r\n", 400, bare),
            (b"4;a\rWiki\r\n0\r\n\r\n", 400, bare),
            (b"0\n\r\n\r\n", 400, bare),
            (b"0\r\n\n", 400, bare),
            (b"0\r\n\r\r\n", 400, bare),
            // Data not followed by exactly CRLF.
            (b"4\r\nWikiX\r\n0\r\n\r\n", 400, term),
            (b"4\r\nWiki\n0\r\n\r\n", 400, term),
            (b"4\r\nWiki\rX0\r\n\r\n", 400, term),
            (b"4\r\nWik\r\n0\r\n\r\n", 400, term),
            // Trailers use field-line syntax.
            (b"0\r\nX : y\r\n\r\n", 400, "Invalid trailer"),
            (b"0\r\n: y\r\n\r\n", 400, "Invalid trailer"),
            (b"0\r\nNoColon\r\n\r\n", 400, "Invalid trailer"),
            (b"0\r\nX: a\x00b\r\n\r\n", 400, "Invalid trailer"),
            (b"0\r\nX: a\x7fb\r\n\r\n", 400, "Invalid trailer"),
            (b"0\r\nX: a\nY: b\r\n\r\n", 400, bare),
            (b"0\r\nX: a\rY: b\r\n\r\n", 400, bare),
            (
                b"0\r\nX: a\r\n folded\r\n\r\n",
                400,
                "Obsolete line folding is not allowed",
            ),
            (
                b"0\r\n\tX: a\r\n\r\n",
                400,
                "Obsolete line folding is not allowed",
            ),
        ];
        for (input, status, detail) in cases {
            let err = chunked(input).expect_err(&format!("{input:?} accepted"));
            assert_eq!((err.status, &*err.detail), (*status, *detail), "{input:?}");
            assert_eq!(err.version, Some(Version::Http11));
        }
    }

    #[test]
    fn extension_caps() {
        // One line: MAX_CHUNK_EXT_LINE bytes of extension pass, one more does not.
        let mut ok = b"1;".to_vec();
        ok.extend(std::iter::repeat_n(b'a', MAX_CHUNK_EXT_LINE - 1));
        ok.extend_from_slice(b"\r\nx\r\n0\r\n\r\n");
        assert!(chunked(&ok).unwrap().is_some());
        let mut bad = b"1;".to_vec();
        bad.extend(std::iter::repeat_n(b'a', MAX_CHUNK_EXT_LINE));
        bad.extend_from_slice(b"\r\nx\r\n0\r\n\r\n");
        assert_eq!(
            chunked(&bad).unwrap_err().detail,
            "Chunk extensions too long"
        );

        // Whole body: many lines, each under the line cap.
        let line_ext = 1000;
        let mut body = Vec::new();
        for _ in 0..(MAX_CHUNK_EXT_BODY / line_ext + 1) {
            body.extend_from_slice(b"1;");
            body.extend(std::iter::repeat_n(b'a', line_ext - 1));
            body.extend_from_slice(b"\r\nx\r\n");
        }
        body.extend_from_slice(b"0\r\n\r\n");
        assert_eq!(
            chunked(&body).unwrap_err().detail,
            "Chunk extensions too long"
        );
    }

    #[test]
    fn trailer_cap_is_431() {
        let mut body = b"0\r\n".to_vec();
        while body.len() < MAX_TRAILER_SIZE + 100 {
            body.extend_from_slice(b"X-Trailer: vvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\r\n");
        }
        body.extend_from_slice(b"\r\n");
        let err = chunked(&body).unwrap_err();
        assert_eq!(err.status, 431);

        let mut body = b"0\r\nX: ".to_vec();
        body.extend(std::iter::repeat_n(b'v', MAX_TRAILER_SIZE - 10));
        body.extend_from_slice(b"\r\n\r\n");
        assert!(chunked(&body).unwrap().is_some());
    }

    #[test]
    fn body_limit_is_checked_on_the_size_line() {
        // Decoded 999 bytes pass a 1000-byte limit; 1000 do not (waitress: `>=`).
        let mut ok = b"3E7\r\n".to_vec();
        ok.extend(std::iter::repeat_n(b'x', 999));
        ok.extend_from_slice(b"\r\n0\r\n\r\n");
        assert_eq!(
            run(Framing::Chunked, 1000, &ok, 7)
                .unwrap()
                .unwrap()
                .0
                .len(),
            999
        );

        // 413 as soon as the size line is complete, before any data arrives.
        let err = run(Framing::Chunked, 1000, b"3E8\r\n", 1).unwrap_err();
        assert_eq!(
            (err.status, &*err.detail),
            (413, "exceeds max_body of 1000")
        );

        // Counted across chunks.
        let mut dec = BodyDecoder::new(Framing::Chunked, 10, Version::Http10);
        let (n, step) = dec.step(b"5\r\nhello\r\n5\r\n").unwrap();
        assert_eq!((n, step), (8, Step::Data(3..8)));
        let err = dec.step(b"\r\n5\r\n").unwrap_err();
        assert_eq!((err.status, err.version), (413, Some(Version::Http10)));

        // A 4 GiB claim is refused up front.
        let err = run(Framing::Chunked, BIG, b"100000000\r\n", 64).unwrap_err();
        assert_eq!(err.status, 413);
    }

    #[test]
    fn a_megabyte_of_hex_digits_fails_fast() {
        let input = vec![b'f'; 1 << 20];
        let mut dec = BodyDecoder::new(Framing::Chunked, BIG, Version::Http11);
        let err = dec.step(&input).unwrap_err();
        assert_eq!((err.status, &*err.detail), (400, "Invalid chunk size"));
        // And fed in 8 KiB reads: the error comes with the first read.
        let mut dec = BodyDecoder::new(Framing::Chunked, BIG, Version::Http11);
        assert_eq!(dec.step(&input[..8192]).unwrap_err().status, 400);
        // After an error the decoder stays failed.
        assert!(dec.step(b"0\r\n\r\n").is_err());
    }

    #[test]
    fn byte_at_a_time_is_linear() {
        // 100k one-byte chunks fed one byte per call: each call does O(1) work.
        let mut input = Vec::new();
        for _ in 0..100_000 {
            input.extend_from_slice(b"1\r\nx\r\n");
        }
        input.extend_from_slice(b"0\r\n\r\n");
        let start = std::time::Instant::now();
        let (body, _) = run(Framing::Chunked, BIG, &input, 1).unwrap().unwrap();
        assert_eq!(body.len(), 100_000);
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn bws_may_be_more_than_one_space_or_tab() {
        // BWS = *( SP / HTAB ): runs of whitespace before `;` and around `=` are valid.
        for input in [
            &b"1  ;a\r\nx\r\n0\r\n\r\n"[..],
            b"1;a \t= b\r\nx\r\n0\r\n\r\n",
            b"1;a=b \t ;c\r\nx\r\n0\r\n\r\n",
        ] {
            let (body, consumed) = chunked(input)
                .unwrap_or_else(|e| panic!("{input:?}: {e}"))
                .unwrap_or_else(|| panic!("{input:?}: not done"));
            assert_eq!(
                (body.as_slice(), consumed),
                (&b"x"[..], input.len()),
                "{input:?}"
            );
        }
    }

    #[test]
    fn caps_are_the_documented_sizes() {
        // README: 4 KiB of extensions per size line, 16 KiB of trailers.
        let mut ext = b"1;".to_vec();
        ext.extend(std::iter::repeat_n(b'a', 4095));
        ext.extend_from_slice(b"\r\nx\r\n0\r\n\r\n");
        assert!(chunked(&ext).unwrap().is_some());
        let mut trailer = b"0\r\nX: ".to_vec();
        trailer.extend(std::iter::repeat_n(b'v', 16 * 1024 - 10));
        trailer.extend_from_slice(b"\r\n\r\n");
        assert!(chunked(&trailer).unwrap().is_some());
    }

    #[test]
    fn is_done_only_once_the_body_ended() {
        let mut dec = BodyDecoder::new(Framing::Length(2), BIG, Version::Http11);
        assert!(!dec.is_done());
        dec.step(b"ab").unwrap();
        assert!(dec.is_done());
        let mut dec = BodyDecoder::new(Framing::Chunked, BIG, Version::Http11);
        assert!(!dec.is_done());
        dec.step(b"0\r\n\r\n").unwrap();
        assert!(dec.is_done());
    }

    #[test]
    fn caps_are_inclusive() {
        // Exactly MAX_CHUNK_EXT_BODY bytes of extensions in a body pass (`;` counts, CRLF not):
        // four lines of MAX_CHUNK_EXT_LINE each; one byte more does not.
        let mut body = Vec::new();
        for _ in 0..MAX_CHUNK_EXT_BODY / MAX_CHUNK_EXT_LINE {
            body.extend_from_slice(b"1;");
            body.extend(std::iter::repeat_n(b'a', MAX_CHUNK_EXT_LINE - 1));
            body.extend_from_slice(b"\r\nx\r\n");
        }
        let mut over = body.clone();
        body.extend_from_slice(b"0\r\n\r\n");
        assert!(chunked(&body).unwrap().is_some());
        over.extend_from_slice(b"0;\r\n\r\n");
        assert_eq!(
            chunked(&over).unwrap_err().detail,
            "Chunk extensions too long"
        );

        // Exactly MAX_TRAILER_SIZE bytes after the last chunk's line (final CRLF included)
        // pass; one more is 431.
        let trailer = |len: usize| {
            let mut t = b"0\r\nX: ".to_vec();
            t.extend(std::iter::repeat_n(b'v', len - b"X: \r\n\r\n".len()));
            t.extend_from_slice(b"\r\n\r\n");
            t
        };
        assert!(chunked(&trailer(MAX_TRAILER_SIZE)).unwrap().is_some());
        assert_eq!(
            chunked(&trailer(MAX_TRAILER_SIZE + 1)).unwrap_err().status,
            431
        );
    }

    #[test]
    fn trailer_names_are_tokens() {
        let bare = "Bare CR or LF found in HTTP message";
        for (input, detail) in [
            (&b"0\r\n@X: y\r\n\r\n"[..], "Invalid trailer"),
            (b"0\r\n\"X: y\r\n\r\n", "Invalid trailer"),
            (b"0\r\nX\nY: y\r\n\r\n", bare),
        ] {
            let err = chunked(input).expect_err(&format!("{input:?} accepted"));
            assert_eq!((err.status, &*err.detail), (400, detail), "{input:?}");
        }
    }

    #[test]
    fn length_bodies() {
        let (body, consumed) = run(Framing::Length(5), BIG, b"helloNEXT", 9)
            .unwrap()
            .unwrap();
        assert_eq!((body.as_slice(), consumed), (&b"hello"[..], 5));
        let (body, _) = run(Framing::Length(5), BIG, b"hello", 1).unwrap().unwrap();
        assert_eq!(body, b"hello");
        assert_eq!(run(Framing::Length(5), BIG, b"hell", 1), Ok(None));

        let mut dec = BodyDecoder::new(Framing::Length(3), BIG, Version::Http11);
        assert_eq!(dec.step(b""), Ok((0, Step::NeedMore)));
        assert_eq!(dec.step(b"ab"), Ok((2, Step::Data(0..2))));
        assert_eq!(dec.step(b"cd"), Ok((1, Step::Data(0..1))));
        assert_eq!(dec.step(b"d"), Ok((0, Step::Done)));
        assert_eq!(dec.decoded_len(), 3);

        let mut dec = BodyDecoder::new(Framing::None, BIG, Version::Http11);
        assert_eq!(dec.step(b"GET"), Ok((0, Step::Done)));
        assert!(dec.is_done());
    }

    #[test]
    fn arbitrary_input_never_panics() {
        // A deterministic pseudo-random sweep over bytes drawn from the grammar's alphabet,
        // fed in random-sized pieces: the decoder must answer (data, more, done or an error).
        let alphabet = b"0123456789aAfFgx;= \t\"\\\r\n:\x00\x7f\xff";
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..2000 {
            let len = (next() % 64) as usize;
            let input: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let piece = 1 + (next() % 8) as usize;
            let _ = run(Framing::Chunked, 100, &input, piece);
        }
    }
}
