//! File bodies (`--app static`) arrive byte-exact whichever way the server sends them: copied
//! through the event loop's buffer to a loopback TCP client, with `sendfile` to a Unix-socket
//! client (Linux), whole or as a range, to a client that lets the socket fill before it reads,
//! so the server meets partial writes and resumes from the right offset.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use support::{READ_TIMEOUT, Server, temp_dir};

/// More than a loopback socket's send buffer grows to (4 MiB) and the client's receive
/// window, so the server meets a full socket mid-block; many of its 512 KiB copy blocks and a
/// partial last one.
const SIZE: usize = 12 * 1024 * 1024 + 12_345;

/// A file in which every byte says where it is: each 8-byte word is its own offset, so a
/// block sent from the wrong offset, twice or not at all cannot go unnoticed.
fn patterned(dir: &Path) -> Vec<u8> {
    let data: Vec<u8> = (0..SIZE.div_ceil(8) as u64)
        .flat_map(|word| (word * 8).to_le_bytes())
        .take(SIZE)
        .collect();
    std::fs::write(dir.join("big.bin"), &data).unwrap();
    data
}

/// Sends `request`, waits while the server fills the socket, then reads to the end; returns
/// the head and the body.
fn fetch(mut stream: impl Read + Write, request: &str) -> (String, Vec<u8>) {
    stream.write_all(request.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut all = Vec::new();
    stream.read_to_end(&mut all).unwrap();
    let end = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head")
        + 4;
    let body = all.split_off(end);
    (String::from_utf8(all).unwrap(), body)
}

fn get(path: &str, range: Option<&str>) -> String {
    let range = range.map(|r| format!("Range: {r}\r\n")).unwrap_or_default();
    format!("GET {path} HTTP/1.1\r\nHost: a\r\n{range}Connection: close\r\n\r\n")
}

fn assert_same(body: &[u8], expected: &[u8]) {
    assert_eq!(body.len(), expected.len(), "body length");
    if let Some(at) = body.iter().zip(expected).position(|(a, b)| a != b) {
        panic!("first wrong byte at offset {at} of the body");
    }
}

fn tcp(server: &Server) -> TcpStream {
    let stream = support::connect(server.addr());
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    stream
}

#[test]
fn a_file_reaches_a_loopback_tcp_client_byte_exact_whole_and_as_a_range() {
    let dir = temp_dir();
    let data = patterned(dir.path());
    let app = format!("static:{}", dir.path().display());
    let server = Server::start(&["--listen", "127.0.0.1:0", "--app", &app]);

    let (head, body) = fetch(tcp(&server), &get("/big.bin", None));
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_same(&body, &data);

    let (head, body) = fetch(
        tcp(&server),
        &get("/big.bin", Some("bytes=1000001-9600000")),
    );
    assert!(head.starts_with("HTTP/1.1 206 "), "{head}");
    assert_same(&body, &data[1_000_001..=9_600_000]);
}

#[cfg(unix)]
#[test]
fn a_file_reaches_a_unix_socket_client_byte_exact_whole_and_as_a_range() {
    use std::os::unix::net::UnixStream;
    let dir = temp_dir();
    let data = patterned(dir.path());
    let socket = dir.path().join("s.sock");
    let app = format!("static:{}", dir.path().display());
    let _server = Server::start(&["--unix-socket", socket.to_str().unwrap(), "--app", &app]);
    let connect = || {
        let stream = UnixStream::connect(&socket).unwrap();
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        stream
    };

    let (head, body) = fetch(connect(), &get("/big.bin", None));
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_same(&body, &data);

    let (head, body) = fetch(connect(), &get("/big.bin", Some("bytes=777-")));
    assert!(head.starts_with("HTTP/1.1 206 "), "{head}");
    assert_same(&body, &data[777..]);
}
