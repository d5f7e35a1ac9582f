//! A real nginx, configured by the shipped etc/nginx-site.conf, in front of waitress-rs
//! configured by the shipped etc/proxy.ini (or, on a Unix socket, etc/unix-socket.ini): the
//! client's address, scheme, host and port arrive, headers the client forges do not. nginx is a Debian package (tests/run.sh installs it); only the ports
//! are changed, everything on 127.0.0.1.

mod support;

use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;

use support::nginx::start_nginx;
use support::{Server, echo_environ, env_get};

/// The client's own address: nginx sees it, waitress-rs sees nginx at 127.0.0.1.
const CLIENT_IP: &str = "127.0.0.2";

/// Connects from CLIENT_IP, so the address nginx reports is told apart from nginx's own.
fn connect_from_client(addr: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let local: SocketAddr = format!("{CLIENT_IP}:0").parse().unwrap();
    socket.bind(&local.into()).unwrap();
    socket.connect(&addr.into()).unwrap();
    let stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(support::READ_TIMEOUT))
        .unwrap();
    stream
}

/// The app sees nginx's own address as the request's: its port (from X-Forwarded-Port) and the
/// Host with that port (X-Forwarded-Host), as a client of nginx at `front` named it.
fn assert_addressed_to_nginx(env: &[(String, String)], front: SocketAddr) {
    assert_eq!(
        env_get(env, "SERVER_PORT"),
        Some(front.port().to_string().as_str())
    );
    assert_eq!(
        env_get(env, "HTTP_HOST"),
        Some(format!("localhost:{}", front.port()).as_str())
    );
}

/// The environ the echo app saw for `request`, sent from CLIENT_IP through nginx at `front`;
/// the request must be answered 200 and arrive with the client's own address.
fn environ_through(front: SocketAddr, request: &str) -> Vec<(String, String)> {
    let mut stream = connect_from_client(front);
    stream.write_all(request.as_bytes()).unwrap();
    let response = support::read_response(&mut BufReader::new(stream), false);
    assert_eq!(response.status, 200, "{}", response.text());
    let env = echo_environ(&response.body);
    assert_eq!(env_get(&env, "REMOTE_ADDR"), Some(CLIENT_IP), "{env:?}");
    env
}

/// waitress-rs with the shipped etc/proxy.ini, on a free port.
fn start_with_proxy_ini() -> Server {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("etc/proxy.ini");
    Server::start(&[
        "--config",
        config.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ])
}

#[test]
fn nginx_in_front_passes_the_real_client_and_drops_forgeries() {
    let server = start_with_proxy_ini();
    let dir = support::temp_dir();
    let (_nginx, front) = start_nginx(dir.path(), &server.addr().to_string());

    let env = environ_through(
        front,
        "GET /some/path?q=1 HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 6.6.6.6\r\n\
         X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\nX-Forwarded-Port: 1\r\n\
         Forwarded: for=6.6.6.6;proto=https\r\nX-Forwarded-By: spoof\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        env_get(&env, "HTTP_X_FORWARDED_FOR"),
        Some(CLIENT_IP),
        "rewritten to the trusted hop"
    );
    assert_eq!(
        env_get(&env, "wsgi.url_scheme"),
        Some("http"),
        "nginx's scheme, not the forged one"
    );
    assert_eq!(env_get(&env, "SERVER_NAME"), Some("localhost"));
    assert_addressed_to_nginx(&env, front);
    assert_eq!(env_get(&env, "HTTP_FORWARDED"), None);
    assert_eq!(env_get(&env, "HTTP_X_FORWARDED_BY"), None);
    assert_eq!(env_get(&env, "PATH_INFO"), Some("/some/path"));
    assert_eq!(env_get(&env, "QUERY_STRING"), Some("q=1"));
}

#[test]
fn a_client_bypassing_nginx_is_not_trusted_for_its_headers() {
    let server = start_with_proxy_ini();
    // Straight to waitress-rs from 127.0.0.2: not the trusted proxy, so its headers go.
    let mut stream = connect_from_client(server.addr());
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let response = support::read_response(&mut BufReader::new(stream), false);
    let env = echo_environ(&response.body);
    assert_eq!(env_get(&env, "REMOTE_ADDR"), Some(CLIENT_IP));
    assert_eq!(env_get(&env, "wsgi.url_scheme"), Some("http"));
    assert_eq!(env_get(&env, "HTTP_X_FORWARDED_FOR"), None);
}

#[cfg(unix)]
#[test]
fn nginx_in_front_of_the_unix_socket_ini_passes_host_and_port() {
    // The site sends X-Forwarded-Host and -Port; unix-socket.ini used to trust only -For and
    // -Proto, so behind nginx on port 8080 the app saw SERVER_PORT 80 and a Host without the
    // port, and built wrong URLs.
    let dir = support::temp_dir();
    let socket = dir.path().join("waitress.sock");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("etc/unix-socket.ini");
    let _server = Server::start(&[
        "--config",
        config.to_str().unwrap(),
        "--unix-socket",
        socket.to_str().unwrap(),
    ]);
    let (_nginx, front) = start_nginx(dir.path(), &format!("unix:{}", socket.display()));
    let env = environ_through(
        front,
        "GET / HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-Host: evil.example\r\n\
         Connection: close\r\n\r\n",
    );
    assert_addressed_to_nginx(&env, front);
}

/// The value of `key = N` (seconds) in a `--check` listing.
fn checked_seconds(ini: &str, key: &str) -> u64 {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("etc").join(ini);
    let (status, stdout, stderr) = support::run(&["--check", "--config", path.to_str().unwrap()]);
    assert!(status.success(), "{ini}: {stderr}");
    let prefix = format!("{key} = ");
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("{ini}: no {key} in {stdout}"))
}

#[test]
fn nginx_closes_idle_kept_connections_before_waitress_rs_does() {
    // A server that closes an idle kept connection just as nginx sends a request on it loses
    // that request (nginx answers it 502, a POST is not retried), so the shipped pair leaves
    // closing idle connections to nginx: its upstream keepalive_timeout is below the
    // channel_timeout of each INI file it fronts.
    let conf =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("etc/nginx-site.conf"))
            .unwrap();
    let upstream = &conf[conf.find("upstream ").unwrap()..];
    let upstream = &upstream[..upstream.find('}').unwrap()];
    let nginx_idle: u64 = upstream
        .lines()
        .map(str::trim)
        .find_map(|line| line.strip_prefix("keepalive_timeout "))
        .and_then(|value| {
            value
                .trim_end_matches(';')
                .trim_end_matches('s')
                .parse()
                .ok()
        })
        .expect("etc/nginx-site.conf's upstream block sets keepalive_timeout in seconds");
    for ini in ["proxy.ini", "unix-socket.ini"] {
        let channel_timeout = checked_seconds(ini, "channel_timeout");
        assert!(
            nginx_idle < channel_timeout,
            "nginx keeps idle upstream connections {nginx_idle} s, {ini}'s channel_timeout is \
             {channel_timeout} s"
        );
    }
}
