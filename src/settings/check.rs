//! `--check`: the effective settings written back as a `[server:main]` section.
//!
//! Every key is printed in canonical form, so feeding the output back through `--config`
//! gives the same settings and prints the same text again. Keys that cannot be printed without
//! changing the meaning (the binding keys that exclude each other, proxy keys that need
//! `trusted_proxy`) appear as comments saying why.

use std::fmt::Write;

use super::listen::Bind;
use super::table::Settings;

/// What `use` says in the printed section.
const USE_LINE: &str = "use = egg:waitress-rs#main";

/// Why a key is left out of the printed section, given the settings; `None` prints it.
fn left_out(settings: &Settings, key: &str) -> Option<&'static str> {
    let bind = &settings.bind;
    match key {
        "host" | "port" => Some(match bind {
            Bind::Tcp(_) => "is folded into listen",
            Bind::Unix(_) => "is not used with unix_socket",
            Bind::Inherited(_) => "is not used with sockets",
        }),
        "listen" if !matches!(bind, Bind::Tcp(_)) => Some(match bind {
            Bind::Unix(_) => "is not used with unix_socket",
            _ => "is not used with sockets",
        }),
        "unix_socket" if !matches!(bind, Bind::Unix(_)) => Some("is not set"),
        "sockets" if !matches!(bind, Bind::Inherited(_)) => Some("is not set"),
        "trusted_proxy_count" | "trusted_proxy_headers" if settings.trusted_proxy.is_none() => {
            Some("has no meaning without trusted_proxy")
        }
        _ => None,
    }
}

/// The `[server:main]` section for `settings`, then one `# listen:` comment per address.
pub fn render(settings: &Settings) -> String {
    let mut out = String::new();
    out.push_str("[server:main]\n");
    out.push_str(USE_LINE);
    out.push('\n');
    for (key, value) in settings.canonical_values() {
        match left_out(settings, key.name) {
            Some(why) => {
                let _ = writeln!(out, "# {} {why}", key.name);
            }
            None if value.is_empty() => {
                let _ = writeln!(out, "{} =", key.name);
            }
            None => {
                // The section is read back with PasteDeploy interpolation (a literal `%` is
                // `%%`), and a line break in a value continues on an indented line.
                let value = value.replace('%', "%%").replace('\n', "\n    ");
                let _ = writeln!(out, "{} = {value}", key.name);
            }
        }
    }
    for url in settings.bind.urls() {
        let _ = writeln!(out, "# listen: {url}");
    }
    out
}
