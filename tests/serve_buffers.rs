//! Buffers and memory: request bodies past `inbuf_overflow` and responses past
//! `outbuf_overflow` go to temp files so the server's RSS stays flat, and an app writing to a
//! client that does not read is blocked at `outbuf_high_watermark`.
//!
//! The upload and the download move 1 GiB each (a few seconds each over loopback, measured
//! in debug builds too).

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use support::{InProcess, Server, connect, deleted_files, read_response, rss_kib, temp_dir};
use waitress_rs::app::{AppError, Request, Response};

const MIB: u64 = 1 << 20;
const BIG: u64 = 1024 * MIB;
/// How much the server's RSS may grow over its baseline while moving `BIG` bytes.
const RSS_SLACK_KIB: u64 = 64 * 1024;

fn static_server(dir: &std::path::Path, extra: &[&str]) -> Server {
    let app = format!("static:{}", dir.display());
    let mut args = vec!["--listen", "127.0.0.1:0", "--app", app.as_str()];
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// Warms the server up with a couple of requests and returns its RSS afterwards.
fn baseline_rss(server: &Server) -> u64 {
    for _ in 0..3 {
        let res = support::get(server.addr(), "/small.txt");
        assert_eq!(res.status, 200);
    }
    rss_kib(server.pid())
}

#[test]
fn huge_upload_is_spooled_to_disk_with_flat_rss() {
    let dir = temp_dir();
    std::fs::write(dir.path().join("small.txt"), b"small").unwrap();
    // The limit must be above BIG (a body >= the limit is refused up front).
    let limit = (BIG + MIB).to_string();
    let server = static_server(dir.path(), &["--max-request-body-size", &limit]);
    let base = baseline_rss(&server);
    let pid = server.pid();

    let mut stream = connect(server.addr());
    stream
        .set_write_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "POST /small.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: {BIG}\r\n\r\n"
    )
    .unwrap();
    let chunk = vec![b'u'; 64 * 1024];
    let mut sent = 0u64;
    let mut peak = base;
    let mut saw_spool = false;
    let start = Instant::now();
    while sent < BIG {
        stream.write_all(&chunk).unwrap();
        sent += chunk.len() as u64;
        if sent % (8 * MIB) == 0 {
            peak = peak.max(rss_kib(server.pid()));
            saw_spool |= deleted_files(pid) > 0;
        }
    }
    let res = read_response(&mut BufReader::new(stream), false);
    let elapsed = start.elapsed();
    peak = peak.max(rss_kib(server.pid()));
    // The static app answers POST itself (not 413/400: the body was accepted and spooled).
    assert!(res.status < 500 && res.status != 413, "{}", res.status_line);
    eprintln!(
        "upload of {} MiB: RSS {base} KiB -> peak {peak} KiB in {elapsed:?}",
        BIG / MIB
    );
    assert!(saw_spool, "the body never went to a temp file");
    assert!(
        peak < base + RSS_SLACK_KIB,
        "RSS grew from {base} KiB to {peak} KiB while receiving {} MiB",
        BIG / MIB
    );
    assert!(elapsed < Duration::from_secs(300), "took {elapsed:?}");
    // The spool file is gone once the request is done.
    let deadline = Instant::now() + Duration::from_secs(10);
    while deleted_files(pid) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(deleted_files(pid), 0, "spool file left open");
}

#[test]
fn huge_download_to_a_slow_reader_keeps_rss_flat() {
    let dir = temp_dir();
    std::fs::write(dir.path().join("small.txt"), b"small").unwrap();
    let big = std::fs::File::create(dir.path().join("big.bin")).unwrap();
    big.set_len(BIG).unwrap(); // sparse: reads as zeros
    drop(big);
    let server = static_server(dir.path(), &[]);
    let base = baseline_rss(&server);

    let mut stream = connect(server.addr());
    stream
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .unwrap();
    // Do not read for a while: the server must not pull the file into memory meanwhile.
    std::thread::sleep(Duration::from_millis(1500));
    let mut peak = rss_kib(server.pid());
    let mut reader = BufReader::with_capacity(256 * 1024, stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
        assert!(!line.is_empty() && head.len() < 8192, "bad head {head:?}");
    }
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert!(head.contains(&format!("Content-Length: {BIG}")), "{head}");
    // Read slowly at first (64 KiB every 10 ms for a while), then at full speed.
    let mut buf = vec![0u8; 64 * 1024];
    let zeros = vec![0u8; 64 * 1024];
    let mut got = 0u64;
    let mut reads = 0u64;
    let start = Instant::now();
    loop {
        let n = reader.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        // Slice equality is a memcmp, fast even in debug builds.
        assert!(buf[..n] == zeros[..n], "non-zero byte in a sparse file");
        got += n as u64;
        reads += 1;
        if reads < 100 {
            std::thread::sleep(Duration::from_millis(10));
        }
        if reads % 256 == 0 {
            peak = peak.max(rss_kib(server.pid()));
        }
        assert!(got <= BIG, "more bytes than the file has");
    }
    assert_eq!(got, BIG);
    eprintln!(
        "download of {} MiB: RSS {base} KiB -> peak {peak} KiB",
        BIG / MIB
    );
    assert!(
        start.elapsed() < Duration::from_secs(300),
        "took {:?}",
        start.elapsed()
    );
    assert!(
        peak < base + RSS_SLACK_KIB,
        "RSS grew from {base} KiB to {peak} KiB while sending {} MiB",
        BIG / MIB
    );
}

/// The size of the parts [`writer`] writes.
const PART: usize = 64 * 1024;

/// The byte every position of part `index` holds: parts sent out of order, twice or not at
/// all show as wrong bytes (unless 251 parts apart).
fn part_byte(index: u64) -> u8 {
    (index % 251) as u8
}

/// An app that writes `total` bytes in [`PART`]-sized parts, each filled with its
/// [`part_byte`], counting what `write` accepted.
fn writer(
    total: u64,
    written: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
) -> impl waitress_rs::app::App {
    move |_req: &mut Request, res: &mut Response<'_>| -> Result<(), AppError> {
        res.start("200 OK", vec![("Content-Length".into(), total.to_string())])?;
        let mut part = vec![0; PART];
        let mut left = total;
        let mut index = 0;
        while left > 0 {
            let n = left.min(part.len() as u64) as usize;
            part.fill(part_byte(index));
            index += 1;
            res.write(&part[..n])?;
            left -= n as u64;
            written.fetch_add(n as u64, Ordering::SeqCst);
        }
        done.store(true, Ordering::SeqCst);
        Ok(())
    }
}

/// Waits until `counter` stops moving for `quiet`, at most `limit`; returns its value.
fn settle(counter: &AtomicU64, quiet: Duration, limit: Duration) -> u64 {
    let deadline = Instant::now() + limit;
    let mut last = counter.load(Ordering::SeqCst);
    let mut since = Instant::now();
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        let now = counter.load(Ordering::SeqCst);
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= quiet {
            break;
        }
    }
    last
}

#[test]
fn high_watermark_blocks_the_app_until_the_client_reads() {
    const TOTAL: u64 = 256 * MIB;
    let written = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let server = InProcess::serve(
        &[
            "--outbuf-high-watermark",
            "1048576",
            "--outbuf-overflow",
            "65536",
        ],
        writer(TOTAL, Arc::clone(&written), Arc::clone(&done)),
    );
    let mut stream = connect(server.addr);
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .unwrap();
    // The client does not read: the app must stall at the watermark plus what the socket
    // buffers hold (a few MiB on loopback), far below the total.
    let stalled = settle(
        &written,
        Duration::from_millis(700),
        Duration::from_secs(30),
    );
    eprintln!("high-water mark 1 MiB: the app stalled after {stalled} bytes");
    assert!(written.load(Ordering::SeqCst) > 0, "the app never started");
    assert!(
        !done.load(Ordering::SeqCst),
        "the app finished without the client reading"
    );
    assert!(
        stalled < 48 * MIB,
        "the app wrote {} MiB to a client that reads nothing",
        stalled / MIB
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        written.load(Ordering::SeqCst),
        stalled,
        "the app is not blocked"
    );

    // Once the client reads, the app resumes and everything arrives.
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::with_capacity(256 * 1024, stream);
    let mut head = String::new();
    while !head.ends_with("\r\n\r\n") {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0, "EOF in head");
        head.push_str(&line);
    }
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0u64;
    loop {
        let n = reader.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        // Compared a part's stretch at a time (a memcmp, fast even in debug builds).
        let mut at = 0;
        while at < n {
            let pos = got + at as u64;
            let index = pos / PART as u64;
            let stretch = (PART - (pos % PART as u64) as usize).min(n - at);
            assert!(
                buf[at..at + stretch] == vec![part_byte(index); stretch][..],
                "wrong bytes in part {index} (at offset {pos})"
            );
            at += stretch;
        }
        got += n as u64;
        assert!(got <= TOTAL);
    }
    assert_eq!(got, TOTAL);
    assert!(done.load(Ordering::SeqCst));
    assert_eq!(written.load(Ordering::SeqCst), TOTAL);
    assert!(server.stop_within(Duration::from_secs(15)));
}

#[test]
fn app_errors_out_when_a_blocked_client_goes_away() {
    let written = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicBool::new(false));
    let inner = writer(64 * MIB, Arc::clone(&written), Arc::clone(&done));
    let flag = Arc::clone(&finished);
    let app = move |req: &mut Request, res: &mut Response<'_>| -> Result<(), AppError> {
        let result = waitress_rs::app::App::call(&inner, req, res);
        flag.store(true, Ordering::SeqCst);
        result
    };
    let server = InProcess::serve(&["--outbuf-high-watermark", "1048576"], app);
    let mut stream = connect(server.addr);
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    settle(
        &written,
        Duration::from_millis(500),
        Duration::from_secs(30),
    );
    assert!(!done.load(Ordering::SeqCst));
    drop(stream);
    // The blocked write fails and the worker is released.
    let deadline = Instant::now() + Duration::from_secs(15);
    while !finished.load(Ordering::SeqCst) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(finished.load(Ordering::SeqCst), "the app stayed blocked");
    assert!(!done.load(Ordering::SeqCst));
    // The server still serves.
    let res = support::get(server.addr, "/");
    assert_eq!(res.status, 200);
    assert!(server.stop_within(Duration::from_secs(15)));
}

#[test]
fn pending_output_past_outbuf_overflow_goes_to_a_temp_file() {
    // The binary: echo a 4 MiB body to a client that does not read the response.
    let server = Server::echo_with(&["--outbuf-overflow", "65536"]);
    let pid = server.pid();
    let before = deleted_files(pid);
    let body = vec![b'e'; 4 * MIB as usize];
    let mut stream = connect(server.addr());
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(&body).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while deleted_files(pid) <= before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        deleted_files(pid) > before,
        "no temp file while output is pending"
    );
    let res = read_response(&mut BufReader::new(stream), false);
    assert_eq!(res.status, 200);
    assert!(res.body.len() > 4 * MIB as usize);
    let deadline = Instant::now() + Duration::from_secs(10);
    while deleted_files(pid) > before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(deleted_files(pid), before, "temp file left open");
}

#[test]
fn unread_pipelined_flood_keeps_rss_flat() {
    // S5: many pipelined requests whose responses are never read.
    let dir = temp_dir();
    std::fs::write(dir.path().join("small.txt"), b"small").unwrap();
    let server = static_server(dir.path(), &[]);
    let base = baseline_rss(&server);
    let mut stream = connect(server.addr());
    stream
        .set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let one = b"GET /small.txt HTTP/1.1\r\nHost: a\r\n\r\n";
    let batch: Vec<u8> = one.iter().copied().cycle().take(one.len() * 1000).collect();
    let mut sent = 0usize;
    for _ in 0..200 {
        match stream.write(&batch) {
            Ok(n) => sent += n,
            Err(_) => break, // the server stopped reading: backpressure
        }
    }
    assert!(sent > 0);
    std::thread::sleep(Duration::from_millis(500));
    let peak = rss_kib(server.pid());
    assert!(
        peak < base + RSS_SLACK_KIB,
        "RSS grew from {base} KiB to {peak} KiB after {sent} pipelined bytes"
    );
    drop(stream);
    assert_eq!(support::get(server.addr(), "/small.txt").status, 200);
}

#[test]
fn a_client_that_stops_reading_is_timed_out_and_frees_its_worker() {
    // S3 (slow read): with one worker, a client that never reads a large response must not
    // hold the worker forever; `channel_timeout` without write progress closes it.
    let written = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let server = InProcess::serve(
        &[
            "--threads",
            "1",
            "--channel-timeout",
            "1",
            "--cleanup-interval",
            "1",
            "--outbuf-high-watermark",
            "1048576",
        ],
        writer(64 * MIB, Arc::clone(&written), Arc::clone(&done)),
    );
    let mut stalled = connect(server.addr);
    stalled
        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    settle(
        &written,
        Duration::from_millis(300),
        Duration::from_secs(30),
    );
    assert!(!done.load(Ordering::SeqCst));
    // A second client is served once the stalled one is timed out (the body is read whole).
    let start = Instant::now();
    let mut other = connect(server.addr);
    other
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    other
        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut got = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match other.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got += n as u64,
            Err(e) => panic!("second client starved after {:?}: {e}", start.elapsed()),
        }
    }
    assert!(got > 64 * MIB, "second client got {got} bytes");
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    // The stalled client's connection was closed: after the bytes already in flight, EOF.
    stalled
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert!(
        support::read_to_close(&mut stalled).len() < 64 * MIB as usize,
        "the stalled client got the whole response"
    );
    assert!(server.stop_within(Duration::from_secs(15)));
}

#[test]
fn inbuf_overflow_decides_memory_or_temp_file() {
    let app = |req: &mut Request, res: &mut Response<'_>| -> Result<(), AppError> {
        let spooled = req.body.is_spooled();
        let len = req.body.read_all()?.len();
        res.start("200 OK", vec![])?;
        res.send(format!("{len} {}", if spooled { "file" } else { "memory" }).as_bytes())
    };
    let server = InProcess::serve(&["--inbuf-overflow", "1000"], app);
    for (len, chunked, want) in [
        (500, false, "500 memory"),
        (5000, false, "5000 file"),
        (500, true, "500 memory"),
        (5000, true, "5000 file"),
    ] {
        let body = vec![b'b'; len];
        let mut req = if chunked {
            format!(
                "POST / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n{len:x}\r\n"
            )
            .into_bytes()
        } else {
            format!(
                "POST / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: {len}\r\n\r\n"
            )
            .into_bytes()
        };
        req.extend_from_slice(&body);
        if chunked {
            req.extend_from_slice(b"\r\n0\r\n\r\n");
        }
        let res = support::request(server.addr, &req);
        assert_eq!(res.status, 200);
        assert_eq!(res.text(), want, "len {len} chunked {chunked}");
    }
    assert!(server.stop_within(Duration::from_secs(10)));
}

#[test]
fn spilled_bodies_arrive_byte_exact_and_pipelined_requests_after_them_are_served() {
    // Bodies past inbuf_overflow are read in large blocks straight to the temp file; the
    // bytes after each body (the next request) must be left for the parser, whole.
    let app = |req: &mut Request, res: &mut Response<'_>| -> Result<(), AppError> {
        let body = req.body.read_all()?;
        let sum = body.iter().fold(0u64, |acc, &b| {
            acc.wrapping_mul(31).wrapping_add(u64::from(b))
        });
        res.start("200 OK", vec![])?;
        res.send(format!("{} {sum}", body.len()).as_bytes())
    };
    let server = InProcess::serve(&["--inbuf-overflow", "1000"], app);
    let pattern = |len: usize| -> Vec<u8> { (0..len).map(|i| (i * 7 % 251) as u8).collect() };
    let expect = |body: &[u8]| {
        let sum = body.iter().fold(0u64, |acc, &b| {
            acc.wrapping_mul(31).wrapping_add(u64::from(b))
        });
        format!("{} {sum}", body.len())
    };
    let big = pattern(3 * MIB as usize + 17);
    let chunked = pattern(2 * MIB as usize + 5);
    let mut wire = format!(
        "POST /cl HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
        big.len()
    )
    .into_bytes();
    wire.extend_from_slice(&big);
    wire.extend_from_slice(
        b"POST /chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    for piece in chunked.chunks(300_001) {
        wire.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        wire.extend_from_slice(piece);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\n\r\nGET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    let stream = connect(server.addr);
    let mut w = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || w.write_all(&wire));
    let mut reader = BufReader::new(stream);
    assert_eq!(read_response(&mut reader, false).text(), expect(&big));
    assert_eq!(read_response(&mut reader, false).text(), expect(&chunked));
    assert_eq!(read_response(&mut reader, false).text(), expect(b""));
    sender.join().unwrap().unwrap();
    assert!(server.stop_within(Duration::from_secs(10)));
}

#[test]
fn a_spilled_upload_followed_by_the_clients_eof_is_still_answered() {
    // The body is all received (and the EOF behind it) while the last of it is still being
    // written to the temp file: the connection must wait for it, not close as idle.
    let app = |req: &mut Request, res: &mut Response<'_>| -> Result<(), AppError> {
        let len = req.body.read_all()?.len();
        res.start("200 OK", vec![])?;
        res.send(len.to_string().as_bytes())
    };
    let server = InProcess::serve(&["--inbuf-overflow", "1000"], app);
    for round in 0..5 {
        let len = 8 * MIB as usize + round;
        let mut stream = connect(server.addr);
        stream
            .write_all(
                format!("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {len}\r\n\r\n").as_bytes(),
            )
            .unwrap();
        stream.write_all(&vec![b'u'; len]).unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let mut reader = BufReader::new(stream);
        assert_eq!(
            read_response(&mut reader, false).text(),
            len.to_string(),
            "round {round}"
        );
    }
    assert!(server.stop_within(Duration::from_secs(10)));
}

/// POSTs `len` bytes to `server` on a thread (the server may answer and close before it has
/// them all) and returns the response.
fn post_big(server: &Server, len: usize) -> support::Response {
    let stream = connect(server.addr());
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let head = format!("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: {len}\r\n\r\n");
        let _ = writer.write_all(head.as_bytes());
        let _ = writer.write_all(&vec![b'u'; len]);
    });
    let res = read_response(&mut BufReader::new(stream), false);
    sender.join().unwrap();
    res
}

#[test]
fn a_file_size_limit_fails_the_upload_not_the_server() {
    // Past `ulimit -f` a write raises SIGXFSZ, whose default action ends the process: the
    // server ignores it, so the spool's write fails instead and only that request does.
    // The limit is 512 KiB or 1 MiB (shells differ on the block size); the body is 8 MiB.
    let mut cmd = std::process::Command::new("sh");
    cmd.args([
        "-c",
        "ulimit -f 1024 && exec \"$0\" \"$@\"",
        env!("CARGO_BIN_EXE_waitress-rs"),
        "--listen",
        "127.0.0.1:0",
        "--app",
        "echo",
    ]);
    let server = Server::start_with(&mut cmd, 1);
    let res = post_big(&server, 8 * MIB as usize);
    // In the request's version, as every other answer to it.
    assert_eq!(res.status_line, "HTTP/1.1 500 Internal Server Error");
    assert_eq!(res.header("Connection"), Some("close"));
    assert!(
        server.wait_for_log(
            "ERROR:waitress:Could not store the request body of /upload in ",
            Duration::from_secs(10)
        ),
        "{}",
        server.log()
    );
    assert_eq!(support::get(server.addr(), "/").status, 200);
}

#[test]
fn an_unusable_tmpdir_falls_back_to_the_next_place_and_says_so() {
    // Python's tempfile (waitress's temp files) skips a TMPDIR it cannot create a file in.
    let missing = "/nonexistent/waitress-rs-test";
    let server = Server::start_with(
        support::binary()
            .env("TMPDIR", missing)
            .args(["--listen", "127.0.0.1:0", "--app", "echo"]),
        1,
    );
    let warning =
        format!("WARNING:waitress:Temp files go to /tmp: TMPDIR={missing} is not usable (");
    assert!(
        server.wait_for_log(&warning, Duration::from_secs(10)),
        "{}",
        server.log()
    );
    // Past inbuf_overflow (512 KiB): spooled to /tmp, where it used to be a 500.
    let len = 2 * MIB as usize;
    let res = post_big(&server, len);
    assert_eq!(res.status, 200, "{}", server.log());
    assert_eq!(support::Echoed::parse(&res).body().len(), len);
}
