//! Listening: TCP forms, the `Serving on` lines, a port in use, Unix sockets, the listen
//! backlog, and sockets inherited by descriptor number or through systemd's `LISTEN_FDS`.

mod support;

use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::{
    READ_TIMEOUT, Server, Spawned, binary, echo_value, get, read_response, run, temp_dir,
};

fn echo_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = extra.to_vec();
    args.extend_from_slice(&["--app", "echo"]);
    args
}

/// Every `Serving on` URL in the log, in order.
fn serving_urls(server: &Server) -> Vec<String> {
    // The binary logs all of them together right after binding.
    std::thread::sleep(Duration::from_millis(200));
    server
        .log()
        .lines()
        .filter_map(|l| l.strip_prefix("INFO:waitress:Serving on "))
        .map(str::to_owned)
        .collect()
}

fn tcp_url_addr(url: &str) -> SocketAddr {
    url.strip_prefix("http://")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("not a TCP url: {url}"))
}

#[test]
fn listen_on_an_ephemeral_ipv4_port() {
    let server = Server::start(&echo_args(&["--listen", "127.0.0.1:0"]));
    let addr = server.addr();
    assert!(addr.ip().is_loopback() && addr.is_ipv4() && addr.port() != 0);
    assert_eq!(server.urls[0], format!("http://127.0.0.1:{}", addr.port()));
    let res = get(addr, "/");
    assert_eq!(res.status, 200);
    assert_eq!(
        echo_value(&res.text(), "SERVER_PORT"),
        Some(addr.port().to_string())
    );
}

#[test]
fn two_listeners_both_serve() {
    let server = Server::start_with(
        binary().args(echo_args(&[
            "--listen",
            "127.0.0.1:0",
            "--listen",
            "127.0.0.1:0",
        ])),
        2,
    );
    let (a, b) = (server.addr_of(0), server.addr_of(1));
    assert_ne!(a.port(), b.port());
    assert_eq!(serving_urls(&server).len(), 2);
    for addr in [a, b] {
        let res = get(addr, "/");
        assert_eq!(res.status, 200);
        assert_eq!(
            echo_value(&res.text(), "SERVER_PORT"),
            Some(addr.port().to_string())
        );
    }
}

#[test]
fn listen_on_ipv6_loopback() {
    if TcpListener::bind("[::1]:0").is_err() {
        println!("note: no IPv6 loopback (::1) on this machine; IPv6 listen not tested");
        return;
    }
    let server = Server::start(&echo_args(&["--listen", "[::1]:0"]));
    assert!(
        server.urls[0].starts_with("http://[::1]:"),
        "{}",
        server.urls[0]
    );
    let addr = server.addr();
    assert!(addr.is_ipv6());
    let res = get(addr, "/");
    assert_eq!(res.status, 200);
    assert_eq!(
        echo_value(&res.text(), "REMOTE_ADDR").as_deref(),
        Some("::1")
    );
}

#[test]
fn listen_on_localhost_serves_on_every_resolved_address() {
    let server = Server::start(&echo_args(&["--listen", "localhost:0"]));
    let urls = serving_urls(&server);
    assert!(!urls.is_empty());
    for url in &urls {
        let addr = tcp_url_addr(url);
        assert!(addr.ip().is_loopback(), "{url}");
        assert_eq!(get(addr, "/").status, 200, "{url}");
    }
}

#[test]
fn port_in_use_is_a_one_line_error_with_exit_69() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = taken.local_addr().unwrap().to_string();
    let (status, stdout, stderr) = run(&echo_args(&["--listen", &listen]));
    assert_eq!(status.code(), Some(69), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains(&listen), "{stderr}");
    assert!(!stderr.contains("Serving on"));
}

#[cfg(target_os = "linux")]
#[test]
fn an_address_the_system_refuses_as_invalid_exits_1_not_78() {
    // Linux's bind(2) answers EINVAL for a link-local IPv6 address without a scope: the
    // system refused, as for an address not on this host (EADDRNOTAVAIL, 1). Exit 78 says
    // the configuration is invalid, which the server did not find; it came from the error's
    // kind alone (without IPv6 at all, creating the socket fails, also 1).
    let (status, stdout, stderr) = run(&echo_args(&["--listen", "[fe80::1]:0"]));
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.starts_with("waitress-rs: error: cannot listen on http://[fe80::1]:0: "),
        "{stderr}"
    );
}

#[test]
fn workers_that_cannot_start_are_a_one_line_error_saying_so() {
    // 1000 thread stacks do not fit in 300 MB of address space.
    let out = std::process::Command::new("sh")
        .args([
            "-c",
            "ulimit -v 300000 && exec \"$0\" \"$@\"",
            env!("CARGO_BIN_EXE_waitress-rs"),
        ])
        .args(echo_args(&["--listen", "127.0.0.1:0", "--threads", "1000"]))
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("waitress-rs: error: could not start worker thread ")
            && lines[0].contains(" of 1000: "),
        "{stderr}"
    );
}

fn unix_request(path: &Path, request: &[u8]) -> support::Response {
    let mut stream = UnixStream::connect(path).expect("connect unix socket");
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    stream.write_all(request).unwrap();
    read_response(&mut BufReader::new(stream), false)
}

fn unix_get(path: &Path) -> support::Response {
    unix_request(
        path,
        b"GET /u HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
}

#[test]
fn unix_socket_perms_requests_and_removal() {
    let dir = temp_dir();
    let path = dir.path().join("w.sock");
    let path_str = path.to_str().unwrap();
    let server = Server::start(&echo_args(&[
        "--unix-socket",
        path_str,
        "--unix-socket-perms",
        "660",
    ]));
    assert_eq!(server.urls[0], format!("http://unix:{path_str}"));
    let meta = std::fs::symlink_metadata(&path).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o7777, 0o660);

    let res = unix_get(&path);
    assert_eq!(res.status, 200);
    let text = res.text();
    assert_eq!(
        echo_value(&text, "REMOTE_ADDR").as_deref(),
        Some("localhost")
    );
    assert_eq!(echo_value(&text, "SERVER_PORT").as_deref(), Some(path_str));
    assert_eq!(echo_value(&text, "PATH_INFO").as_deref(), Some("/u"));

    let status = server.stop();
    assert_eq!(status.code(), Some(0));
    assert!(!path.exists(), "socket file left after SIGTERM");
}

#[test]
fn an_instance_leaves_the_socket_file_of_the_one_that_replaced_it() {
    // A restart that overlaps the old instance's drain: the new one replaces the socket file,
    // and the old one's exit must not remove the new one's.
    let dir = temp_dir();
    let path = dir.path().join("r.sock");
    let args = echo_args(&["--unix-socket", path.to_str().unwrap()]);
    let old = Server::start(&args);
    let new = Server::start(&args);
    // Allowed, as in waitress, but not silently: the old one is no longer reachable.
    assert!(
        new.log().contains(&format!(
            "WARNING:waitress:Replacing the socket of a server still listening at {}",
            path.display()
        )),
        "{}",
        new.log()
    );
    assert_eq!(old.stop().code(), Some(0));
    assert!(
        path.exists(),
        "the old instance removed the new one's socket file"
    );
    assert_eq!(unix_get(&path).status, 200);
    assert_eq!(new.stop().code(), Some(0));
    assert!(!path.exists(), "socket file left after SIGTERM");
}

#[test]
fn a_live_socket_with_a_full_backlog_does_not_hold_up_the_start() {
    // A wedged old instance whose backlog is full: a blocking connect to see whether it is
    // live waited until it went away, and the new instance neither served nor logged.
    let dir = temp_dir();
    let path = dir.path().join("full.sock");
    let wedged = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None).unwrap();
    wedged
        .bind(&socket2::SockAddr::unix(&path).unwrap())
        .unwrap();
    wedged.listen(0).unwrap();
    // Fill the backlog: connects that nobody accepts, until one would wait.
    let mut queued = Vec::new();
    for _ in 0..8 {
        let client =
            socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None).unwrap();
        client.set_nonblocking(true).unwrap();
        match client.connect(&socket2::SockAddr::unix(&path).unwrap()) {
            Ok(()) => queued.push(client),
            Err(_) => break,
        }
    }
    let server = Server::start(&echo_args(&["--unix-socket", path.to_str().unwrap()]));
    assert!(
        server
            .log()
            .contains("Replacing the socket of a server still listening"),
        "{}",
        server.log()
    );
    assert_eq!(unix_get(&path).status, 200);
    assert_eq!(server.stop().code(), Some(0));
    drop(queued);
}

#[test]
fn unix_socket_default_perms_are_0600() {
    let dir = temp_dir();
    let path = dir.path().join("d.sock");
    let server = Server::start(&echo_args(&["--unix-socket", path.to_str().unwrap()]));
    let mode = std::fs::symlink_metadata(&path)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o600);
    assert_eq!(unix_get(&path).status, 200);
    drop(server);
}

#[test]
fn stale_unix_socket_is_replaced() {
    let dir = temp_dir();
    let path = dir.path().join("stale.sock");
    drop(UnixListener::bind(&path).unwrap()); // leaves the socket file behind
    assert!(
        UnixStream::connect(&path).is_err(),
        "the stale socket still answers"
    );
    let server = Server::start(&echo_args(&["--unix-socket", path.to_str().unwrap()]));
    assert_eq!(unix_get(&path).status, 200);
    assert!(!server.log().contains("Replacing"), "{}", server.log());
    assert_eq!(server.stop().code(), Some(0));
}

#[test]
fn regular_file_at_the_unix_socket_path_is_refused_and_kept() {
    let dir = temp_dir();
    let path = dir.path().join("data.txt");
    std::fs::write(&path, b"precious").unwrap();
    let (status, _stdout, stderr) = run(&echo_args(&["--unix-socket", path.to_str().unwrap()]));
    // As for a port in use: EX_UNAVAILABLE.
    assert_eq!(status.code(), Some(69), "{stderr}");
    assert!(stderr.contains(path.to_str().unwrap()), "{stderr}");
    assert!(!stderr.contains("Serving on"), "{stderr}");
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");
}

/// A command for the binary whose child has each of `fds` at descriptors 3, 4, ... (without
/// close-on-exec). With `systemd`, it also gets `LISTEN_FDS` and its own pid as `LISTEN_PID`,
/// by way of a shell that sets them and then `exec`s the binary (keeping its pid).
fn with_inherited(fds: &[i32], systemd: bool, args: &[&str]) -> Command {
    let fds = fds.to_vec();
    let mut cmd = if systemd {
        let mut sh = Command::new("/bin/sh");
        sh.arg("-c")
            .arg(format!(
                "LISTEN_PID=$$ LISTEN_FDS={} exec \"$0\" \"$@\"",
                fds.len()
            ))
            .arg(env!("CARGO_BIN_EXE_waitress-rs"))
            .args(args);
        sh
    } else {
        let mut cmd = binary();
        cmd.args(args);
        cmd
    };
    // SAFETY: only async-signal-safe calls (dup, dup2, fcntl) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // First move every source out of the way of the targets, then place them.
            let mut moved = Vec::with_capacity(fds.len());
            for &fd in &fds {
                let copy = libc::fcntl(fd, libc::F_DUPFD, 100);
                if copy < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                moved.push(copy);
            }
            for (i, &copy) in moved.iter().enumerate() {
                let target = 3 + i as i32;
                if libc::dup2(copy, target) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let flags = libc::fcntl(target, libc::F_GETFD);
                if flags < 0 || libc::fcntl(target, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::close(copy);
            }
            Ok(())
        });
    }
    cmd
}

#[test]
fn inherited_tcp_socket_by_number() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut cmd = with_inherited(
        &[listener.as_raw_fd()],
        false,
        &echo_args(&["--sockets", "3"]),
    );
    let server = Server::start_with(&mut cmd, 1);
    assert_eq!(server.urls[0], format!("http://{addr}"));
    drop(listener); // the child holds its own copy
    let res = get(addr, "/inherited");
    assert_eq!(res.status, 200);
    assert_eq!(
        echo_value(&res.text(), "PATH_INFO").as_deref(),
        Some("/inherited")
    );
    assert_eq!(server.stop().code(), Some(0));
}

#[test]
fn inherited_sockets_from_systemd() {
    let a = TcpListener::bind("127.0.0.1:0").unwrap();
    let b = TcpListener::bind("127.0.0.1:0").unwrap();
    let addrs = [a.local_addr().unwrap(), b.local_addr().unwrap()];
    let mut cmd = with_inherited(
        &[a.as_raw_fd(), b.as_raw_fd()],
        true,
        &echo_args(&["--sockets", "systemd"]),
    );
    let server = Server::start_with(&mut cmd, 2);
    drop((a, b));
    for (n, addr) in addrs.iter().enumerate() {
        assert_eq!(server.addr_of(n), *addr);
        assert_eq!(get(*addr, "/").status, 200);
    }
    assert_eq!(server.stop().code(), Some(0));
}

#[test]
fn systemd_sockets_for_another_pid_are_refused() {
    let a = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut cmd = with_inherited(
        &[a.as_raw_fd()],
        false,
        &echo_args(&["--sockets", "systemd"]),
    );
    let out = cmd
        .env("LISTEN_FDS", "1")
        .env("LISTEN_PID", "1")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Not 1: a restart cannot fix it, and Restart=on-failure would loop.
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    assert!(stderr.contains("LISTEN_PID"), "{stderr}");
}

#[test]
fn a_listen_fds_count_past_the_descriptor_limit_is_refused() {
    // 2^31 - 1 wrapped to no descriptor at all (the server ran with no listener, saying
    // nothing); 2^31 - 8 asked for 8 GB to list them.
    for count in ["2147483647", "2147483640", "1000000000"] {
        let mut sh = Command::new("/bin/sh");
        sh.arg("-c")
            .arg(format!(
                "LISTEN_PID=$$ LISTEN_FDS={count} exec \"$0\" \"$@\""
            ))
            .arg(env!("CARGO_BIN_EXE_waitress-rs"))
            .args(echo_args(&["--sockets", "systemd"]))
            .env_remove("RUST_LOG")
            .stderr(std::process::Stdio::piped());
        let mut child = support::Spawned(sh.spawn().unwrap());
        let status = child
            .exit_within(Duration::from_secs(10))
            .unwrap_or_else(|| panic!("LISTEN_FDS={count}: still running"));
        let mut stderr = String::new();
        child
            .0
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert_eq!(status.code(), Some(78), "{count}: {stderr}");
        assert!(
            stderr.contains("LISTEN_FDS counts more descriptors than this process may have open"),
            "{count}: {stderr}"
        );
    }
}

#[test]
fn inherited_unix_socket_serves() {
    let dir = temp_dir();
    let path = dir.path().join("inh.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let mut cmd = with_inherited(
        &[listener.as_raw_fd()],
        false,
        &echo_args(&["--sockets", "3"]),
    );
    let server = Server::start_with(&mut cmd, 1);
    assert_eq!(server.urls[0], format!("http://unix:{}", path.display()));
    let res = unix_get(&path);
    assert_eq!(res.status, 200);
    assert_eq!(
        echo_value(&res.text(), "REMOTE_ADDR").as_deref(),
        Some("localhost")
    );
    assert_eq!(server.stop().code(), Some(0));
    drop(listener);
}

#[test]
fn mixing_inherited_unix_and_tcp_sockets_is_refused() {
    let dir = temp_dir();
    let unix = UnixListener::bind(dir.path().join("mix.sock")).unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut cmd = with_inherited(
        &[tcp.as_raw_fd(), unix.as_raw_fd()],
        false,
        &echo_args(&["--sockets", "3 4"]),
    );
    let out = cmd.env_remove("RUST_LOG").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    assert!(stderr.contains("may not be mixed"), "{stderr}");
    assert!(!stderr.contains("Serving on"), "{stderr}");
}

#[test]
fn an_inherited_socket_that_was_never_bound_is_refused() {
    // listen(2) would bind it to a port the system picks, on every interface: the server
    // served where nobody would look and logged `Serving on http://0.0.0.0:0`.
    for domain in [socket2::Domain::IPV4, socket2::Domain::UNIX] {
        let unbound = socket2::Socket::new(domain, socket2::Type::STREAM, None).unwrap();
        let mut cmd = with_inherited(
            &[unbound.as_raw_fd()],
            false,
            &echo_args(&["--sockets", "3"]),
        );
        let dir = temp_dir();
        let log = std::fs::File::create(dir.path().join("stderr")).unwrap();
        let mut child = Spawned(cmd.env_remove("RUST_LOG").stderr(log).spawn().unwrap());
        // Bounded: before the check, the server served on and on.
        let status = child.exit_within(Duration::from_secs(20));
        let stderr = std::fs::read_to_string(dir.path().join("stderr")).unwrap();
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(78),
            "{domain:?}: {stderr}"
        );
        assert!(
            stderr.contains("inherited fd 3") && stderr.contains("not bound to an address"),
            "{domain:?}: {stderr}"
        );
        assert!(!stderr.contains("Serving on"), "{domain:?}: {stderr}");
    }
}

#[test]
fn an_inherited_connected_socket_is_refused_with_78() {
    // A connection, not a listening socket: what `sockets` names cannot be served, and a
    // restart will not change that.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let connected = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let mut cmd = with_inherited(
        &[connected.as_raw_fd()],
        false,
        &echo_args(&["--sockets", "3"]),
    );
    let out = cmd.env_remove("RUST_LOG").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    assert!(
        stderr.contains("inherited fd 3") && stderr.contains("connected"),
        "{stderr}"
    );
    assert!(!stderr.contains("Serving on"), "{stderr}");
}

#[test]
fn sockets_naming_a_closed_or_non_socket_descriptor_exits_78() {
    // Not 1: what `sockets` names is wrong, and a restart would not change it.
    for fds in ["9", "0"] {
        let (status, _stdout, stderr) = run(&echo_args(&["--sockets", fds]));
        assert_eq!(status.code(), Some(78), "--sockets {fds}: {stderr}");
        assert!(
            stderr.contains(&format!("inherited fd {fds}")),
            "--sockets {fds}: {stderr}"
        );
    }
}

#[test]
fn permission_denied_exits_77() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        println!("note: running as root, which bypasses file permissions; exit 77 not tested");
        return;
    }
    let dir = temp_dir();
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
    let path = locked.join("w.sock");
    let (status, _stdout, stderr) = run(&echo_args(&["--unix-socket", path.to_str().unwrap()]));
    assert_eq!(status.code(), Some(77), "{stderr}");
    assert_eq!(
        stderr.lines().filter(|l| !l.is_empty()).count(),
        1,
        "{stderr}"
    );
}

/// The queue length the kernel holds for the listening socket `ss` selects with `args`: for a
/// listener, `ss` shows it as `Send-Q`, the column after `Recv-Q` that follows the state.
fn listen_queue(args: &[&str]) -> u32 {
    let out = Command::new("ss")
        .args(args)
        .output()
        .expect("run ss (iproute2; tests/run.sh installs it)");
    assert!(out.status.success(), "ss {args:?} failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    let state = fields
        .iter()
        .position(|f| *f == "LISTEN")
        .unwrap_or_else(|| panic!("no listener in `ss {args:?}`: {text:?}"));
    assert_eq!(text.lines().count(), 1, "one listener expected: {text:?}");
    fields[state + 2].parse().expect("Send-Q is a number")
}

fn tcp_listen_queue(server: &Server) -> u32 {
    let filter = format!("sport = :{}", server.addr().port());
    listen_queue(&["-Hltn", &filter])
}

#[test]
fn backlog_sets_the_listen_queue_on_tcp_and_unix_sockets() {
    let server = Server::start(&echo_args(&["--listen", "127.0.0.1:0", "--backlog", "7"]));
    assert_eq!(tcp_listen_queue(&server), 7);
    drop(server);

    // The default, 1024, as far as the kernel's own cap allows.
    let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .expect("read somaxconn")
        .trim()
        .parse()
        .expect("somaxconn is a number");
    let server = Server::start(&echo_args(&["--listen", "127.0.0.1:0"]));
    assert_eq!(tcp_listen_queue(&server), 1024.min(somaxconn));
    drop(server);

    let dir = temp_dir();
    let path = dir.path().join("b.sock");
    let path_str = path.to_str().unwrap();
    let _server = Server::start(&echo_args(&["--unix-socket", path_str, "--backlog", "5"]));
    let filter = format!("src {path_str}");
    assert_eq!(listen_queue(&["-Hlxn", &filter]), 5);
}
