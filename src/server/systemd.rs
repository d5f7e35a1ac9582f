//! The service manager's notification socket (sd_notify(3)): a `Type=notify` unit learns when
//! the server is ready and when it starts stopping. Without `NOTIFY_SOCKET` nothing is sent.

/// Listeners open and stop signals handled: the unit is started.
pub const READY: &[u8] = b"READY=1";

/// A stop signal was taken and the drain began (`systemctl status` shows "deactivating").
#[cfg_attr(not(unix), allow(dead_code))]
pub const STOPPING: &[u8] = b"STOPPING=1";

/// Sends `state` to `$NOTIFY_SOCKET`, if set; a failure is logged, never fatal.
pub fn notify(state: &[u8]) {
    #[cfg(target_os = "linux")]
    if let Some(path) = std::env::var_os("NOTIFY_SOCKET") {
        use std::os::linux::net::SocketAddrExt;
        use std::os::unix::net::{SocketAddr, UnixDatagram};
        let bytes = path.as_encoded_bytes();
        let addr = match bytes.strip_prefix(b"@") {
            Some(abstract_name) => SocketAddr::from_abstract_name(abstract_name),
            None => SocketAddr::from_pathname(std::path::Path::new(&path)),
        };
        let sent =
            UnixDatagram::unbound().and_then(|s| addr.and_then(|a| s.send_to_addr(state, &a)));
        if let Err(e) = sent {
            log::warn!(target: "waitress", "Could not notify systemd: {e}");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = state;
}
