//! A real nginx in front of waitress-rs, configured by the shipped etc/nginx-site.conf with only
//! its ports changed. nginx is a Debian package (tests/run.sh installs it).

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long nginx may take to start listening.
const NGINX_START: Duration = Duration::from_secs(10);

/// How many free ports nginx is given before a test gives up: one can be taken by another
/// test between its pick and nginx's bind.
const PORT_ATTEMPTS: usize = 3;

fn nginx_binary() -> PathBuf {
    for candidate in ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"] {
        if Path::new(candidate).exists() {
            return candidate.into();
        }
    }
    panic!(
        "nginx is not installed: run tests/run.sh, which installs it (apt-get install nginx-light)"
    );
}

/// A running nginx, stopped when dropped.
pub struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// nginx with the shipped site, sending to `upstream` (`127.0.0.1:PORT` or `unix:PATH`), its
/// files in `dir`, with no access log.
pub fn start_nginx(dir: &Path, upstream: &str) -> (Nginx, SocketAddr) {
    start_nginx_with(dir, upstream, "access_log off;")
}

/// [`start_nginx`] with `http` (such as a `log_format` and an `access_log`) in the `http {}`
/// block around the site.
pub fn start_nginx_with(dir: &Path, upstream: &str, http: &str) -> (Nginx, SocketAddr) {
    for _ in 0..PORT_ATTEMPTS {
        if let Some(started) = try_start(dir, upstream, http) {
            return started;
        }
    }
    panic!("nginx found its port taken {PORT_ATTEMPTS} times");
}

/// nginx on a port that was free when picked; `None` if another process bound it first.
fn try_start(dir: &Path, upstream: &str, http: &str) -> Option<(Nginx, SocketAddr)> {
    let shipped =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("etc/nginx-site.conf"))
            .unwrap();
    assert!(
        shipped.contains("server 127.0.0.1:6543;") && shipped.contains("listen 127.0.0.1:8080;")
    );
    let port = free_port();
    let site = shipped
        .replace("server 127.0.0.1:6543;", &format!("server {upstream};"))
        .replace(
            "listen 127.0.0.1:8080;",
            &format!("listen 127.0.0.1:{port};"),
        );
    std::fs::write(dir.join("site.conf"), site).unwrap();
    let d = dir.display();
    let main = format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n {http}\n client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n\
         include {d}/site.conf;\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), main).unwrap();
    let child = Command::new(nginx_binary())
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nginx");
    let mut nginx = Nginx(child);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + NGINX_START;
    while !listening(&nginx, addr) {
        let exited = nginx.0.try_wait().ok().flatten();
        let log = || std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
        if exited.is_some() && log().contains("Address already in use") {
            return None;
        }
        assert!(
            exited.is_none() && Instant::now() < deadline,
            "nginx did not start ({exited:?}): {}",
            log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Some((nginx, addr))
}

/// Whether `nginx` itself listens on `addr`. The port was free when picked, but a test
/// running beside this one may pick it too: connecting would then find the other's nginx
/// while this one retries its bind (Linux: the listening socket's inode is one of nginx's
/// descriptors).
#[cfg(target_os = "linux")]
fn listening(nginx: &Nginx, addr: SocketAddr) -> bool {
    const LISTEN: &str = "0A";
    let local = format!("0100007F:{:04X}", addr.port());
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let Some(inode) = table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.get(1) == Some(&local.as_str()) && fields.get(3) == Some(&LISTEN))
            .then(|| fields.get(9).map(|i| format!("socket:[{i}]")))
            .flatten()
    }) else {
        return false;
    };
    std::fs::read_dir(format!("/proc/{}/fd", nginx.0.id()))
        .map(|fds| {
            fds.filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
                .any(|link| link.to_string_lossy() == inode)
        })
        .unwrap_or(false)
}

#[cfg(not(target_os = "linux"))]
fn listening(_nginx: &Nginx, addr: SocketAddr) -> bool {
    std::net::TcpStream::connect(addr).is_ok()
}
