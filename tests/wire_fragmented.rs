//! The same bytes get the same answers however the network splits them: the binary running the
//! echo app is sent each input whole, one byte per write and in random pieces (small pauses
//! between writes, so the server mostly reads them apart), and the responses must match. The
//! parser's property test (src/http/fragmented.rs) covers far more inputs; this checks that the
//! channel feeds the parser the same way over a real socket.

mod support;

use std::io::{BufRead, Cursor, Write};
use std::net::Shutdown;
use std::time::Duration;

use support::{Response, Server, connect, read_response, read_to_close};

/// Random splittings of each input, besides whole and one byte per write.
const SPLITTINGS_PER_INPUT: usize = 3;

/// Most pieces a random splitting sends.
const MAX_PIECES: usize = 12;

/// Pause between two writes, so that the pieces arrive in separate reads more often than not.
const PAUSE: Duration = Duration::from_micros(300);

/// Small limits, so heads and bodies in the inputs cross them.
const MAX_HEADER: &str = "256";
const MAX_BODY: &str = "64";

/// splitmix64, seeded: a failure reproduces.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

/// Sends `input` in the pieces `cuts` marks, half-closes, and reads every response until the
/// server closes. Returns each response's status, its headers but `Date`, and its body with
/// `REMOTE_PORT` (a new one per connection) blanked.
fn exchange_in_pieces(server: &Server, input: &[u8], cuts: &[usize]) -> Vec<String> {
    let mut stream = connect(server.addr());
    stream.set_nodelay(true).unwrap();
    let mut from = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        if cut > from {
            if from > 0 {
                std::thread::sleep(PAUSE);
            }
            // A server that refused the request may close before all is sent.
            if stream.write_all(&input[from..cut]).is_err() {
                break;
            }
            from = cut;
        }
    }
    let _ = stream.shutdown(Shutdown::Write);
    let raw = read_to_close(&mut stream);
    let mut reader = Cursor::new(raw);
    let mut out = Vec::new();
    while !reader.fill_buf().unwrap().is_empty() {
        out.push(normalise(&read_response(&mut reader, false)));
    }
    out
}

fn normalise(res: &Response) -> String {
    let mut text = res.status_line.clone();
    for (name, value) in &res.headers {
        if !name.eq_ignore_ascii_case("Date") {
            text.push_str(&format!("\n{name}: {value}"));
        }
    }
    let body = res.text();
    let body = match body.find("\"REMOTE_PORT\":\"") {
        Some(at) => {
            let value = at + "\"REMOTE_PORT\":\"".len();
            let end = body[value..].find('"').map_or(body.len(), |e| value + e);
            format!("{}PORT{}", &body[..value], &body[end..])
        }
        None => body,
    };
    text.push_str("\n\n");
    text.push_str(&body);
    text
}

fn random_cuts(rng: &mut Rng, len: usize) -> Vec<usize> {
    if len < 2 {
        return Vec::new();
    }
    let count = 1 + rng.below(MAX_PIECES.min(len) - 1);
    let mut cuts: Vec<usize> = (0..count).map(|_| 1 + rng.below(len - 1)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

/// Inputs and the statuses they are answered with, one per response.
fn cases() -> Vec<(Vec<u8>, Vec<u16>)> {
    const NEXT: &str = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
    let chunked = "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    let long = "v".repeat(300);
    let cases: Vec<(String, &[u16])> = vec![
        (
            format!(
                "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n{NEXT}"
            ),
            &[200, 200, 200],
        ),
        (
            "GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n".to_owned(),
            &[200, 200],
        ),
        (
            format!("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello{NEXT}"),
            &[200, 200],
        ),
        (
            // The body looks like a request; it is body all the same.
            format!("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 31\r\n\r\n{NEXT}"),
            &[200],
        ),
        (
            format!(
                "{chunked}4;ext=1\r\nWiki\r\n5;a=\"b c\"\r\npedia\r\n0\r\nX-T: y\r\n\r\n{NEXT}"
            ),
            &[200, 200],
        ),
        (
            format!("{chunked}5\r\n0\r\n\r\n\r\n0\r\n\r\n{NEXT}"),
            &[200, 200],
        ),
        (
            "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n".to_owned(),
            &[200],
        ),
        (
            format!(
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{NEXT}"
            ),
            &[400],
        ),
        (
            format!(
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nX: x\nContent-Length: 0\r\n\r\n{NEXT}"
            ),
            &[400],
        ),
        (
            format!(
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab{NEXT}"
            ),
            &[400],
        ),
        (format!("{chunked}0x4\r\nWiki\r\n0\r\n\r\n{NEXT}"), &[400]),
        (format!("{chunked}1\n\r\nZ\r\n0\r\n\r\n{NEXT}"), &[400]),
        (format!("{chunked}41\r\n"), &[413]),
        (format!("{NEXT}GARBAGE\r\n\r\n{NEXT}"), &[200, 400]),
        (
            format!("{NEXT}GET / HTTP/1.1\r\nHost: a\r\nX: {long}\r\n\r\n"),
            &[200, 431],
        ),
        (
            format!("GET / HTTP/1.1\nHost: a\r\nX: {long}\r\n\r\n"),
            &[400],
        ),
        (format!("GET / HTTP/1.1\r\nHost: a\r\nX: {long}\n"), &[431]),
    ];
    cases
        .into_iter()
        .map(|(raw, statuses)| (raw.into_bytes(), statuses.to_vec()))
        .collect()
}

#[test]
fn requests_get_the_same_answers_however_the_bytes_are_split() {
    let server = Server::echo_with(&[
        "--max-request-header-size",
        MAX_HEADER,
        "--max-request-body-size",
        MAX_BODY,
    ]);
    let mut rng = Rng(0xf4a9_3e17_0000_0044);
    for (input, statuses) in cases() {
        let context = String::from_utf8_lossy(&input).into_owned();
        let whole = exchange_in_pieces(&server, &input, &[]);
        let got: Vec<u16> = whole
            .iter()
            .map(|r| r[9..12].parse().expect("status"))
            .collect();
        assert_eq!(got, statuses, "{context:?}\n{whole:#?}");
        let mut splittings = vec![(1..input.len()).collect::<Vec<_>>()];
        splittings.extend((0..SPLITTINGS_PER_INPUT).map(|_| random_cuts(&mut rng, input.len())));
        for cuts in splittings {
            let split = exchange_in_pieces(&server, &input, &cuts);
            assert_eq!(split, whole, "{context:?} cut at {cuts:?}");
        }
    }
}
