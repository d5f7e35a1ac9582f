//! A real nginx in front of waitress-rs, configured by the shipped etc/nginx-site.conf with only
//! its ports changed. nginx is a Debian package (tests/run.sh installs it).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long nginx may take to start listening.
const NGINX_START: Duration = Duration::from_secs(10);

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
    let nginx = Nginx(child);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + NGINX_START;
    while TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "nginx did not start: {}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (nginx, addr)
}
