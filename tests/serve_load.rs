//! Load and abuse against the real binary: many concurrent keep-alive clients, an
//! accept-then-reset flood, clients vanishing mid-response. Afterwards the process's open
//! file descriptors are back at their baseline and it still answers.

mod support;

use std::io::{BufReader, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use support::{Server, connect, cpu_ticks, echo_value, fd_count, get, read_response, temp_dir};

/// Waits (up to 15 s) for `pid`'s fd count to come back to `baseline`; returns the last count.
fn settle_fds(pid: u32, baseline: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = fd_count(pid);
        if now == baseline || Instant::now() >= deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The fd count once the server has served a request and closed that connection: the
/// first value that holds for 500 ms (within 10 s).
fn baseline_fds(server: &Server) -> usize {
    assert_eq!(get(server.addr(), "/warmup").status, 200);
    stable_fds(server.pid())
}

fn stable_fds(pid: u32) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = fd_count(pid);
    let mut since = Instant::now();
    while Instant::now() < deadline && since.elapsed() < Duration::from_millis(500) {
        std::thread::sleep(Duration::from_millis(50));
        let now = fd_count(pid);
        if now != last {
            last = now;
            since = Instant::now();
        }
    }
    last
}

/// One keep-alive client: `requests` echo requests, the last asking to close.
fn client(addr: SocketAddr, id: usize, requests: usize) -> Result<(), String> {
    let stream = connect(addr);
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut w = stream.try_clone().unwrap();
    let mut r = BufReader::new(stream);
    for n in 0..requests {
        let close = if n + 1 == requests {
            "Connection: close\r\n"
        } else {
            ""
        };
        let body = format!("{id}-{n}");
        write!(
            w,
            "POST /c{id}/r{n} HTTP/1.1\r\nHost: a\r\n{close}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .map_err(|e| format!("client {id} request {n}: write: {e}"))?;
        let res = read_response(&mut r, false);
        let text = res.text();
        if res.status != 200
            || echo_value(&text, "PATH_INFO") != Some(format!("/c{id}/r{n}"))
            || echo_value(&text, "body") != Some(body)
        {
            return Err(format!(
                "client {id} request {n}: {} {text}",
                res.status_line
            ));
        }
    }
    let mut rest = Vec::new();
    r.read_to_end(&mut rest)
        .map_err(|e| format!("client {id}: after close: {e}"))?;
    if !rest.is_empty() {
        return Err(format!("client {id}: bytes after the last response"));
    }
    Ok(())
}

#[test]
fn many_concurrent_keep_alive_clients_all_served() {
    const CLIENTS: usize = 200;
    const REQUESTS: usize = 20;
    let server = Server::echo();
    let baseline = baseline_fds(&server);
    let addr = server.addr();
    let start = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|id| {
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || client(addr, id, REQUESTS))
                .unwrap()
        })
        .collect();
    let failures: Vec<String> = clients
        .into_iter()
        .filter_map(|c| c.join().unwrap().err())
        .collect();
    let elapsed = start.elapsed();
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(elapsed < Duration::from_secs(120), "took {elapsed:?}");
    let now = settle_fds(server.pid(), baseline);
    assert_eq!(now, baseline, "fds after the load");
    assert_eq!(get(addr, "/after").status, 200);
}

#[test]
fn accept_then_reset_flood_leaves_no_trace() {
    let server = Server::echo();
    let baseline = baseline_fds(&server);
    let addr = server.addr();
    for i in 0..2000 {
        let stream = connect(addr);
        if i % 2 == 1 {
            // Half of them send part of a request first.
            let _ = (&stream).write_all(b"GET / HTTP/1.1\r\nHost:");
        }
        socket2::SockRef::from(&stream)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(stream);
    }
    assert_eq!(get(addr, "/alive").status, 200);
    let now = settle_fds(server.pid(), baseline);
    assert_eq!(now, baseline, "fds after the flood");
    // No busy loop left behind: idle for 2 s costs far less than 1 s of CPU.
    let before = cpu_ticks(server.pid());
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_ticks(server.pid()) - before;
    assert!(used < 100, "{used} ticks of CPU while idle");
    assert_eq!(get(addr, "/still-alive").status, 200);
}

#[test]
fn clients_vanishing_mid_response_free_everything() {
    let dir = temp_dir();
    let file = std::fs::File::create(dir.path().join("big.bin")).unwrap();
    file.set_len(32 << 20).unwrap();
    let app = format!("static:{}", dir.path().display());
    let server = Server::start(&["--listen", "127.0.0.1:0", "--app", &app, "--threads", "2"]);
    let addr = server.addr();
    assert_eq!(get(addr, "/big.bin").body.len(), 32 << 20);
    let baseline = stable_fds(server.pid());
    let clients: Vec<_> = (0..50)
        .map(|i| {
            std::thread::spawn(move || {
                let mut stream = connect(addr);
                stream
                    .write_all(b"GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n")
                    .unwrap();
                let mut buf = vec![0u8; 64 * 1024];
                let mut got = 0;
                while got < 256 * 1024 {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got += n,
                    }
                }
                if i % 2 == 0 {
                    socket2::SockRef::from(&stream)
                        .set_linger(Some(Duration::ZERO))
                        .unwrap();
                }
                got
            })
        })
        .collect();
    for c in clients {
        assert!(c.join().unwrap() >= 256 * 1024);
    }
    let res = get(addr, "/big.bin");
    assert_eq!(res.status, 200);
    assert_eq!(res.body.len(), 32 << 20);
    let now = settle_fds(server.pid(), baseline);
    assert_eq!(now, baseline, "fds after the disconnects");
}
