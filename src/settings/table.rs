//! The table of settings: every key once, with its type, default, converter and help.
//!
//! [`KEYS`] drives the INI reader (which names exist), the command line (one flag per key, a
//! `--no-` twin per boolean), `--check` (the canonical form of each value), `--help` and the man
//! page. [`Settings`] is generated from the same declarations, so a setting cannot be added to
//! one and forgotten in another.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use super::ProxyHeader;
use super::convert::{self, Perms, Sockets};
use super::error::ConfigError;
use super::listen::Bind;
use super::raw::{RawSettings, Source};

/// How a setting is spelled on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// A boolean: `--name` sets it, `--no-name` clears it; the last one given wins.
    Switch,
    /// `--name VALUE` or `--name=VALUE`; the last one given wins.
    Value,
    /// `--name VALUE`, repeatable; the values add up (waitress joins them with spaces).
    Repeated,
}

/// The help section a setting is listed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Where to listen.
    Binding,
    /// What the application sees.
    Application,
    /// Reverse-proxy headers.
    Proxy,
    /// Threads, buffers, limits and timeouts.
    Tuning,
    /// What gets logged.
    Logging,
}

impl Group {
    /// Every group, in help order.
    pub(super) const ALL: [Group; 5] = [
        Group::Binding,
        Group::Application,
        Group::Proxy,
        Group::Tuning,
        Group::Logging,
    ];

    /// The heading in `--help` and the man page.
    pub(super) fn heading(self) -> &'static str {
        match self {
            Group::Binding => "Binding",
            Group::Application => "Application",
            Group::Proxy => "Proxy headers",
            Group::Tuning => "Tuning",
            Group::Logging => "Logging",
        }
    }
}

/// One setting.
#[derive(Debug, PartialEq, Eq)]
pub struct Key {
    /// The INI key and waitress keyword, e.g. `channel_timeout`.
    pub name: &'static str,
    /// The default, written as it would be in an INI file.
    pub default: &'static str,
    /// Where `--help` lists it.
    pub group: Group,
    /// How the command line spells it.
    pub form: Form,
    /// The placeholder in `--help` (`SECONDS`, `BYTES`, ...).
    pub value_name: &'static str,
    /// Help text: the first line is the summary, the rest the details.
    pub help: &'static str,
}

impl Key {
    /// The flag, e.g. `--channel-timeout`.
    pub fn flag(&self) -> String {
        format!("--{}", self.name.replace('_', "-"))
    }

    /// The first line of the help.
    pub(super) fn summary(&self) -> &'static str {
        self.help.lines().next().unwrap_or_default().trim()
    }

    /// The help without line breaks inside paragraphs.
    pub(super) fn help_text(&self) -> String {
        self.help
            .lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ")
            .trim()
            .to_owned()
    }
}

/// The canonical text of a typed value: what `--check` prints and reads back unchanged.
trait Canonical {
    /// The value as it would be written in an INI file.
    fn canonical(&self) -> String;
}

impl Canonical for bool {
    fn canonical(&self) -> String {
        (if *self { "true" } else { "false" }).to_owned()
    }
}

macro_rules! canonical_display {
    ($($t:ty),*) => {$(
        impl Canonical for $t {
            fn canonical(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
canonical_display!(u16, u64, usize, i32, String);

impl Canonical for Option<String> {
    fn canonical(&self) -> String {
        self.clone().unwrap_or_default()
    }
}

impl Canonical for Option<PathBuf> {
    fn canonical(&self) -> String {
        self.as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    }
}

impl Canonical for Vec<String> {
    fn canonical(&self) -> String {
        self.join(" ")
    }
}

impl Canonical for BTreeSet<ProxyHeader> {
    fn canonical(&self) -> String {
        self.iter().map(|h| h.name()).collect::<Vec<_>>().join(" ")
    }
}

impl Canonical for Perms {
    fn canonical(&self) -> String {
        format!("{:o}", self.0)
    }
}

impl Canonical for Duration {
    fn canonical(&self) -> String {
        // Whole seconds stay bare integers, as waitress writes them; anything finer uses the
        // largest unit that is exact, so reading it back gives the same duration.
        let nanos = self.as_nanos();
        if nanos % 1_000_000_000 == 0 {
            format!("{}", nanos / 1_000_000_000)
        } else if nanos % 1_000_000 == 0 {
            format!("{}ms", nanos / 1_000_000)
        } else if nanos % 1_000 == 0 {
            format!("{}us", nanos / 1_000)
        } else {
            format!("{nanos}ns")
        }
    }
}

impl Canonical for Sockets {
    fn canonical(&self) -> String {
        match self {
            Sockets::None => String::new(),
            Sockets::Systemd => "systemd".to_owned(),
            Sockets::Fds(fds) => fds.iter().map(i32::to_string).collect::<Vec<_>>().join(" "),
        }
    }
}

/// Converts the value given for `name` (or its default) with `convert`, recording a failure.
fn convert_key<T>(
    raw: &RawSettings,
    name: &'static str,
    default: &'static str,
    convert: fn(&str) -> Result<T, String>,
    errors: &mut Vec<ConfigError>,
) -> Option<T> {
    let (value, source) = match raw.get(name) {
        Some(given) => (given.value.as_str(), given.source.clone()),
        None => (default, Source::Default),
    };
    convert(value)
        .map_err(|reason| {
            errors.push(ConfigError::Invalid {
                key: name,
                value: value.to_owned(),
                at: source,
                reason,
            })
        })
        .ok()
}

macro_rules! settings_table {
    ($(
        $(#[doc = $doc:literal])+
        $name:ident: $ty:ty = $default:literal, $group:ident, $form:ident($value_name:literal),
            $convert:expr;
    )+) => {
        /// Every setting, converted and validated; built by [`Settings::resolve`].
        ///
        /// The fields are public to read. A field changed after `resolve` is not checked
        /// again, and `host`, `port` and `listen` are not read again: `bind`, which `resolve`
        /// worked out from them, is what the server listens on. Set values through
        /// [`RawSettings`](super::RawSettings) instead.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Settings {
            $( $(#[doc = $doc])+ pub $name: $ty, )+
            /// Where to listen, worked out from `host`/`port`/`listen`, `unix_socket` or
            /// `sockets`.
            pub bind: Bind,
        }

        /// The table: every setting once, in waitress's order.
        pub static KEYS: &[Key] = &[$(
            Key {
                name: stringify!($name),
                default: $default,
                group: Group::$group,
                form: Form::$form,
                value_name: $value_name,
                help: concat!($($doc, "\n"),+),
            },
        )+];

        /// Every setting converted, before the rules that relate settings to each other.
        #[derive(Debug)]
        pub(super) struct Converted {
            $( pub $name: $ty, )+
        }

        impl Converted {
            /// Converts every key, collecting one error per bad value; `None` if any failed.
            pub(super) fn from_raw(raw: &RawSettings, errors: &mut Vec<ConfigError>) -> Option<Self> {
                $( let $name = convert_key(raw, stringify!($name), $default, $convert, errors); )+
                Some(Converted { $( $name: $name?, )+ })
            }

            /// The settings, with the bind worked out from them.
            pub(super) fn into_settings(self, bind: Bind) -> Settings {
                Settings { $( $name: self.$name, )+ bind }
            }
        }

        impl Settings {
            /// Each key with its value in canonical form, in table order.
            pub(super) fn canonical_values(&self) -> Vec<(&'static Key, String)> {
                let values = [$( Canonical::canonical(&self.$name) ),+];
                KEYS.iter().zip(values).collect()
            }
        }
    };
}

settings_table! {
    /// Host to listen on, combined with port.
    /// An address or name; `0.0.0.0` means every IPv4 interface. May not be used with listen,
    /// unix_socket or sockets.
    host: String = "0.0.0.0", Binding, Value("HOST"), convert::string;

    /// TCP port to listen on, combined with host.
    /// 0 picks a free port. May not be used with listen (whose entries that name no port use
    /// 8080), unix_socket or sockets.
    port: u16 = "8080", Binding, Value("PORT"), convert::port;

    /// Listen on IPv4 addresses.
    /// Filters what host and listen names resolve to.
    ipv4: bool = "true", Binding, Switch(""), convert::boolean;

    /// Listen on IPv6 addresses.
    /// Filters what host and listen names resolve to.
    ipv6: bool = "true", Binding, Switch(""), convert::boolean;

    /// Addresses to listen on, as HOST:PORT, `[IPV6]:PORT` or *:PORT.
    /// Separated by spaces or lines, and the flag may be repeated. `*:8080` listens on every
    /// IPv4 and IPv6 interface; ports may be service names (`http`). Replaces host and port.
    listen: Vec<String> = "0.0.0.0:8080", Binding, Repeated("HOST:PORT"), convert::list;

    /// Number of worker threads that run the application.
    threads: usize = "4", Tuning, Value("N"), convert::positive::<usize>;

    /// Address of the proxy whose headers are trusted.
    /// Compared with the peer address exactly; `*` trusts any peer, `localhost` the peers of a
    /// Unix socket.
    trusted_proxy: Option<String> = "", Proxy, Value("ADDR"), convert::optional_string;

    /// How many hops of the proxy headers to trust, counted from the last; 0 trusts all.
    trusted_proxy_count: usize = "1", Proxy, Value("N"), convert::non_negative::<usize>;

    /// Proxy headers to trust from trusted_proxy.
    /// Any of forwarded, x-forwarded-for, x-forwarded-host, x-forwarded-proto,
    /// x-forwarded-port, x-forwarded-by, separated by spaces; forwarded may not be mixed with
    /// the x-forwarded-* headers. Left empty with trusted_proxy set, x-forwarded-proto is
    /// trusted (with a warning), as in waitress.
    trusted_proxy_headers: BTreeSet<ProxyHeader> = "", Proxy, Value("NAMES"),
        convert::proxy_headers;

    /// Log the names of proxy headers removed because they were not trusted.
    log_untrusted_proxy_headers: bool = "false", Logging, Switch(""), convert::boolean;

    /// Remove proxy headers that are not trusted before the application sees them.
    clear_untrusted_proxy_headers: bool = "true", Proxy, Switch(""), convert::boolean;

    /// Default wsgi.url_scheme for requests.
    url_scheme: String = "http", Application, Value("SCHEME"), convert::scheme;

    /// Path prefix the application is mounted at.
    /// Becomes SCRIPT_NAME and is removed from the front of PATH_INFO.
    url_prefix: String = "", Application, Value("PATH"), convert::url_prefix;

    /// Length of the listen queue of each listening socket.
    backlog: i32 = "1024", Tuning, Value("N"), convert::non_negative::<i32>;

    /// Bytes asked for in each read from a client (at most 16 MiB).
    recv_bytes: usize = "8192", Tuning, Value("BYTES"), convert::read_size;

    /// Accepted for compatibility; has no effect.
    /// waitress deprecated it; waitress-rs sends output as soon as the socket accepts it.
    send_bytes: usize = "1", Tuning, Value("BYTES"), convert::non_negative::<usize>;

    /// Response bytes kept in memory per connection before spilling to a temp file.
    outbuf_overflow: usize = "1048576", Tuning, Value("BYTES"), convert::non_negative::<usize>;

    /// Pending response bytes past which the application is paused until the client reads.
    outbuf_high_watermark: usize = "16777216", Tuning, Value("BYTES"),
        convert::positive::<usize>;

    /// Request body bytes kept in memory before spilling to a temp file.
    inbuf_overflow: usize = "524288", Tuning, Value("BYTES"), convert::non_negative::<usize>;

    /// Open client connections past which new connections wait in the listen queue.
    connection_limit: usize = "100", Tuning, Value("N"), convert::positive::<usize>;

    /// How often connections past channel_timeout (idle, or with a request head overdue)
    /// are looked for.
    /// Seconds, or a duration such as 30s or 1m.
    cleanup_interval: Duration = "30", Tuning, Value("SECONDS"), convert::positive_duration;

    /// How long a connection may be idle, with no request in progress, before it is closed.
    /// A request head must also arrive whole within this time of its first byte, however
    /// steadily it trickles. Seconds, or a duration such as 2m.
    channel_timeout: Duration = "120", Tuning, Value("SECONDS"), convert::positive_duration;

    /// Log socket errors and clients that disconnect early.
    log_socket_errors: bool = "true", Logging, Switch(""), convert::boolean;

    /// A request head (request line and headers) of this many bytes or more gets 431.
    max_request_header_size: usize = "262144", Tuning, Value("BYTES"),
        convert::positive::<usize>;

    /// A request body of this many bytes or more gets 413 (an empty one never does).
    max_request_body_size: u64 = "1073741824", Tuning, Value("BYTES"),
        convert::non_negative::<u64>;

    /// Send the application's error text in 500 responses.
    /// Useful while developing; never in production.
    expose_tracebacks: bool = "false", Application, Switch(""), convert::boolean;

    /// Server name sent in the Server header and error pages; empty sends no Server header.
    ident: Option<String> = "waitress", Application, Value("NAME"), convert::ident;

    /// Longest wait of the event loop, in seconds.
    /// Bounds how late timeouts and shutdown are noticed.
    asyncore_loop_timeout: Duration = "1", Tuning, Value("SECONDS"), convert::positive_duration;

    /// Accepted for compatibility; has no effect.
    /// The event loop always uses the system's best poller (epoll, kqueue, IOCP).
    asyncore_use_poll: bool = "false", Tuning, Switch(""), convert::boolean;

    /// Path of a Unix socket to listen on instead of TCP.
    /// A socket file at the path is replaced (with a warning if a server still listens on
    /// it); the file is removed on exit.
    unix_socket: Option<PathBuf> = "", Binding, Value("PATH"), convert::unix_socket_path;

    /// Permissions of the Unix socket file, in octal.
    unix_socket_perms: Perms = "600", Binding, Value("OCTAL"), convert::octal_perms;

    /// Listening sockets inherited from the parent process instead of binding.
    /// File descriptor numbers (3 4), or `systemd` for the ones systemd socket activation
    /// passes in LISTEN_FDS.
    sockets: Sockets = "", Binding, Value("FDS"), convert::sockets;

    /// Requests read ahead on a connection while one is being answered.
    channel_request_lookahead: usize = "0", Tuning, Value("N"), convert::non_negative::<usize>;

    /// SERVER_NAME the application sees.
    /// With --config, the --server-name flag selects the `[server:NAME]` section instead, as
    /// pserve's does; set server_name in the file then.
    server_name: String = "waitress.invalid", Application, Value("NAME"), convert::string;
}

/// The table entry for `name`.
pub fn key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// A setting whose name is close to `name` (a typo, or a flag spelling in an INI file).
pub(super) fn similar(name: &str) -> Option<&'static str> {
    let wanted = name
        .trim_start_matches('-')
        .replace('-', "_")
        .to_ascii_lowercase();
    KEYS.iter()
        .map(|k| (edit_distance(&wanted, k.name), k.name))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, n)| n)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_waitress_setting_is_in_the_table_once() {
        let waitress = [
            "host",
            "port",
            "ipv4",
            "ipv6",
            "listen",
            "threads",
            "trusted_proxy",
            "trusted_proxy_count",
            "trusted_proxy_headers",
            "log_untrusted_proxy_headers",
            "clear_untrusted_proxy_headers",
            "url_scheme",
            "url_prefix",
            "backlog",
            "recv_bytes",
            "send_bytes",
            "outbuf_overflow",
            "outbuf_high_watermark",
            "inbuf_overflow",
            "connection_limit",
            "cleanup_interval",
            "channel_timeout",
            "log_socket_errors",
            "max_request_header_size",
            "max_request_body_size",
            "expose_tracebacks",
            "ident",
            "asyncore_loop_timeout",
            "asyncore_use_poll",
            "unix_socket",
            "unix_socket_perms",
            "sockets",
            "channel_request_lookahead",
            "server_name",
        ];
        let names: Vec<&str> = KEYS.iter().map(|k| k.name).collect();
        assert_eq!(names, waitress);
    }

    #[test]
    fn every_default_converts() {
        let mut errors = Vec::new();
        let converted = Converted::from_raw(&RawSettings::new(), &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        let c = converted.unwrap();
        assert_eq!(c.threads, 4);
        assert_eq!(c.channel_timeout, Duration::from_secs(120));
        assert_eq!(c.unix_socket_perms, Perms(0o600));
        assert_eq!(c.ident.as_deref(), Some("waitress"));
        assert!(c.clear_untrusted_proxy_headers);
    }

    #[test]
    fn the_http_parsers_test_limits_are_the_table_defaults() {
        use crate::http::request::Limits;
        let c = Converted::from_raw(&RawSettings::new(), &mut Vec::new()).unwrap();
        let table = Limits {
            max_header_size: c.max_request_header_size,
            max_body_size: c.max_request_body_size,
        };
        assert_eq!(Limits::default(), table);
    }

    #[test]
    fn durations_print_in_a_form_that_reads_back() {
        for d in [
            Duration::from_secs(120),
            Duration::from_millis(1500),
            Duration::from_micros(7),
            Duration::from_nanos(3),
        ] {
            assert_eq!(convert::duration(&d.canonical()), Ok(d));
        }
    }

    #[test]
    fn typos_get_suggestions() {
        assert_eq!(similar("thread"), Some("threads"));
        assert_eq!(similar("--channel-timout"), Some("channel_timeout"));
        assert_eq!(similar("frobnicate"), None);
    }
}
