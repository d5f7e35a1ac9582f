//! A server that runs out of file descriptors: `accept` fails while connections wait in the
//! listen queue. The loop pauses accepting (5 ms, doubling to 500 ms) instead of retrying on
//! every wait, warns once per pause when `log_socket_errors` is on and never when it is off,
//! and serves the waiting clients once descriptors are free again.
#![cfg(target_os = "linux")]

mod support;

use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use support::{Server, binary, connect, cpu_ticks, fd_count, get};

/// The server's descriptor limit: its own (stdio, poller, listener, signal pipe) take about
/// ten, so a score of connections exhausts it.
const FD_LIMIT: usize = 32;

/// Connections the test opens: more than fit under `FD_LIMIT`, so some wait in the queue.
const CLIENTS: usize = 40;

const WARNING: &str = "server accept() threw an exception";

/// The binary, run by `sh` with its descriptor limit lowered to `FD_LIMIT`, with `env` set.
fn start_starved(extra: &[&str], env: &[(&str, &str)]) -> Server {
    let exe = binary().get_program().to_owned();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -n {FD_LIMIT} && exec \"$0\" \"$@\""))
        .arg(exe)
        .args(["--listen", "127.0.0.1:0", "--app", "echo"])
        .args(extra)
        .envs(env.iter().copied());
    Server::start_with(&mut cmd, 1)
}

/// Opens `CLIENTS` connections and waits (up to 10 s) until the server holds all the
/// descriptors it may.
fn exhaust(server: &Server) -> Vec<TcpStream> {
    let clients: Vec<TcpStream> = (0..CLIENTS).map(|_| connect(server.addr())).collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while fd_count(server.pid()) < FD_LIMIT {
        assert!(
            Instant::now() < deadline,
            "the server never used its {FD_LIMIT} descriptors (has {})",
            fd_count(server.pid())
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    clients
}

fn warnings(server: &Server) -> usize {
    server.log().matches(WARNING).count()
}

#[test]
fn running_out_of_descriptors_pauses_accepting_and_recovers() {
    pauses_and_recovers(&[]);
}

/// The same with oneshot readiness, the path Windows takes (see tests/serve_oneshot.rs): the
/// listener is re-armed, not left armed, when the pause ends.
#[test]
fn with_oneshot_readiness_too() {
    pauses_and_recovers(&[("WAITRESS_RS_POLL_ONESHOT", "1")]);
}

fn pauses_and_recovers(env: &[(&str, &str)]) {
    let server = start_starved(&[], env);
    let clients = exhaust(&server);
    assert!(
        server.wait_for_log(WARNING, Duration::from_secs(5)),
        "no warning for the failed accept; log:\n{}",
        server.log()
    );

    // Exhausted for a second and a half: the pauses (5, 10, ... 320, 500 ms) allow about ten
    // failed accepts; retrying on every wait makes hundreds of thousands, a CPU's worth.
    let (before, ticks) = (warnings(&server), cpu_ticks(server.pid()));
    std::thread::sleep(Duration::from_millis(1500));
    let (during, used) = (warnings(&server) - before, cpu_ticks(server.pid()) - ticks);
    assert!(
        during <= 12,
        "{during} failed accepts in 1.5 s; log tail:\n{}",
        tail(&server.log())
    );
    assert!(
        used < 50,
        "the loop used {used} ticks of CPU in 1.5 s while paused"
    );

    // Descriptors free again: the clients still queued and a new one are served.
    drop(clients);
    let res = get(server.addr(), "/after");
    assert_eq!(res.status, 200, "{}", res.summary());
    assert!(server.log().contains("accepting again in 500 ms"));
    server.stop();
}

#[test]
fn with_log_socket_errors_off_a_failed_accept_is_not_logged() {
    let server = start_starved(&["--no-log-socket-errors"], &[]);
    let clients = exhaust(&server);
    std::thread::sleep(Duration::from_millis(500));
    drop(clients);
    assert_eq!(get(server.addr(), "/after").status, 200);
    assert_eq!(warnings(&server), 0, "log:\n{}", server.log());
    server.stop();
}

/// The last few lines of `log`.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(5)..].join("\n")
}
