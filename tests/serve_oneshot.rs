//! The oneshot readiness path (what the loop uses where the poller has no edge triggering, as
//! on Windows), forced on Linux with `WAITRESS_RS_POLL_ONESHOT=1`: keep-alive, pipelining, a
//! client's EOF behind pipelined requests, a spilled upload followed by another request, a
//! reset half-request, and the idle timeout.

mod support;

use std::io::{Read, Write};
use std::time::Duration;

use support::{Conn, Echoed, Server, binary, connect, get, read_response};

fn oneshot(extra: &[&str]) -> Server {
    let mut args = vec!["--listen", "127.0.0.1:0", "--app", "echo"];
    args.extend_from_slice(extra);
    Server::start_with(binary().env("WAITRESS_RS_POLL_ONESHOT", "1").args(&args), 1)
}

#[test]
fn keep_alive_and_pipelining() {
    let server = oneshot(&[]);
    let mut conn = Conn::open(server.addr());
    for i in 0..50 {
        let res = conn.roundtrip(format!("GET /{i} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes());
        assert_eq!(
            Echoed::parse(&res).get("PATH_INFO"),
            Some(format!("/{i}").as_str())
        );
    }
    let burst: String = (0..25)
        .map(|i| format!("GET /p{i} HTTP/1.1\r\nHost: a\r\n\r\n"))
        .collect();
    conn.send(burst.as_bytes());
    for i in 0..25 {
        let res = conn.response(false);
        assert_eq!(
            Echoed::parse(&res).get("PATH_INFO"),
            Some(format!("/p{i}").as_str())
        );
    }
}

#[test]
fn eof_after_pipelined_requests_answers_them_then_closes() {
    let server = oneshot(&[]);
    let mut stream = connect(server.addr());
    stream
        .write_all(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
        .unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let all = support::read_to_close(&mut stream);
    let mut reader = std::io::BufReader::new(&all[..]);
    for (path, body) in [("/1", ""), ("/2", "abc")] {
        let seen = Echoed::parse(&read_response(&mut reader, false));
        assert_eq!(seen.get("PATH_INFO"), Some(path));
        assert_eq!(seen.body(), body);
    }
}

#[test]
fn spilled_upload_then_another_request_on_the_connection() {
    let server = oneshot(&["--inbuf-overflow", "1000"]);
    let body = vec![b'x'; 3 << 20];
    let mut wire = format!(
        "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    wire.extend_from_slice(&body);
    wire.extend_from_slice(b"GET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    let stream = connect(server.addr());
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || writer.write_all(&wire));
    let mut reader = std::io::BufReader::new(stream);
    let first = Echoed::parse(&read_response(&mut reader, false));
    assert_eq!(first.body().len(), body.len());
    let second = Echoed::parse(&read_response(&mut reader, false));
    assert_eq!(second.get("PATH_INFO"), Some("/after"));
    sender.join().unwrap().unwrap();
}

#[test]
fn a_reset_half_request_frees_its_slot_and_idle_connections_time_out() {
    let server = oneshot(&[
        "--connection-limit",
        "1",
        "--channel-timeout",
        "1",
        "--cleanup-interval",
        "1",
    ]);
    let stream = connect(server.addr());
    (&stream).write_all(b"GET / HTTP/1.1\r\nHost:").unwrap();
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(stream);
    assert_eq!(get(server.addr(), "/next").status, 200);
    // A keep-alive connection left idle after a response is closed by channel_timeout.
    let mut conn = Conn::open(server.addr());
    assert_eq!(
        conn.roundtrip(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").status,
        200
    );
    let mut buf = [0u8; 1];
    conn.reader
        .get_mut()
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert!(matches!(conn.reader.read(&mut buf), Ok(0) | Err(_)));
}
