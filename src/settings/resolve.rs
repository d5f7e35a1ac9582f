//! From strings to a validated [`Settings`]: convert every key, then apply waitress's rules
//! between keys (exclusive binding keys, proxy dependencies), then resolve where to listen.

use super::ProxyHeader;
use super::convert::Sockets;
use super::error::{ConfigError, Origin};
use super::listen::{self, Bind, Families};
use super::raw::{RawSettings, Source};
use super::table::{Converted, Settings};

/// Pairs of keys waitress refuses together, in its order, with its messages. The check is on
/// whether each key was given at all, whatever its value, as waitress checks `key in kw`.
const EXCLUSIVE: [(&[&str], &[&str], &str); 6] = [
    (
        &["listen"],
        &["host", "port"],
        "host or port may not be set if listen is set.",
    ),
    (
        &["listen"],
        &["sockets"],
        "socket may not be set if listen is set.",
    ),
    (
        &["sockets"],
        &["host", "port"],
        "host or port may not be set if sockets is set.",
    ),
    (
        &["sockets"],
        &["unix_socket"],
        "unix_socket may not be set if sockets is set",
    ),
    (
        &["unix_socket"],
        &["host", "port"],
        "unix_socket may not be set if host or port is set",
    ),
    (
        &["unix_socket"],
        &["listen"],
        "unix_socket may not be set if listen is set",
    ),
];

/// Settings accepted for waitress's sake that change nothing here, each with the warning given
/// when one is set to something other than its default.
const NO_EFFECT: [(&str, &str); 2] = [
    (
        "send_bytes",
        "send_bytes has no effect in waitress-rs (output is sent as soon as the socket accepts it)",
    ),
    (
        "asyncore_use_poll",
        "asyncore_use_poll has no effect in waitress-rs (the event loop always uses the system's best poller)",
    ),
];

/// A validated configuration and the warnings found on the way.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The settings.
    pub settings: Settings,
    /// Things that work but are probably not what was meant; `--check` prints them.
    pub warnings: Vec<String>,
}

impl Settings {
    /// Converts and checks `raw`. Every problem found is reported, not just the first.
    pub fn resolve(raw: &RawSettings) -> Result<Resolved, Vec<ConfigError>> {
        Self::resolve_unhinted(raw)
            .map_err(|errors| errors.into_iter().map(|e| comment_hint(raw, e)).collect())
    }

    fn resolve_unhinted(raw: &RawSettings) -> Result<Resolved, Vec<ConfigError>> {
        let mut errors = exclusive_conflicts(raw);
        let Some(mut c) = Converted::from_raw(raw, &mut errors) else {
            return Err(with_the_rest_checked(raw, errors));
        };
        let mut warnings: Vec<String> = raw.notes().to_vec();
        check_trusted_proxy(raw, &mut c, &mut errors, &mut warnings);
        check_forwarded_alone(raw, &c, &mut errors);
        warnings.extend(no_effect_warnings(raw));
        let bind = resolve_bind(raw, &mut c, &mut errors);

        match bind {
            Some(bind) if errors.is_empty() => Ok(Resolved {
                settings: c.into_settings(bind),
                warnings,
            }),
            _ => Err(errors),
        }
    }
}

/// `e` with a hint when the value it blames holds what reads as an inline comment
/// (`url_scheme = https # or http`): INI files have none (configparser, and so PasteDeploy,
/// keep ` # ...` in the value), and the value alone, or one listen entry of it (`"#"`), does not
/// say why it is wrong. Only for values from a file, or keywords (pserve passes a file's values
/// as keywords); a comment on the command line would have been the shell's.
fn comment_hint(raw: &RawSettings, mut e: ConfigError) -> ConfigError {
    let (ConfigError::Invalid {
        key, at, reason, ..
    }
    | ConfigError::Unresolved {
        key, at, reason, ..
    }) = &mut e
    else {
        return e;
    };
    if !matches!(at, Source::File { .. } | Source::Keyword(_)) {
        return e;
    }
    let Some(given) = raw.get(key) else {
        return e;
    };
    let value = given.value.as_str();
    let comment = value
        .char_indices()
        .zip(value.chars().skip(1))
        .find(|((_, c), next)| c.is_whitespace() && matches!(next, '#' | ';'))
        .map(|((i, _), _)| value[i..].trim());
    if let Some(comment) = comment {
        reason.push_str(&format!(
            " (INI files have no inline comments: {comment:?} is part of the value)"
        ));
    }
    e
}

/// `key` and where it was set, if it was given at all.
fn given(raw: &RawSettings, key: &'static str) -> Option<Origin> {
    raw.get(key).map(|v| Origin {
        key,
        source: v.source.clone(),
    })
}

/// A [`ConfigError::Conflict`] for each pair of [`EXCLUSIVE`] keys given together.
fn exclusive_conflicts(raw: &RawSettings) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    for (firsts, seconds, message) in EXCLUSIVE {
        let first = firsts.iter().find_map(|k| given(raw, k));
        let second = seconds.iter().find_map(|k| given(raw, k));
        if let (Some(first), Some(second)) = (first, second) {
            errors.push(ConfigError::Conflict {
                first,
                second,
                message,
            });
        }
    }
    errors
}

/// `errors`, from a conversion that failed, with what checking the rest finds added: each value
/// that failed is set back to its default, so the rules between keys and the listen addresses
/// are reported in the same run.
fn with_the_rest_checked(raw: &RawSettings, mut errors: Vec<ConfigError>) -> Vec<ConfigError> {
    let mut cleaned = raw.clone();
    for e in &errors {
        if let ConfigError::Invalid { key, .. } = e {
            cleaned.remove(key);
        }
    }
    if let Err(more) = Settings::resolve_unhinted(&cleaned) {
        for e in more {
            if !errors.contains(&e) {
                errors.push(e);
            }
        }
    }
    errors
}

/// waitress's rules for `trusted_proxy`: the count and the headers mean nothing without it, and
/// with it but no headers, X-Forwarded-Proto is trusted.
fn check_trusted_proxy(
    raw: &RawSettings,
    c: &mut Converted,
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<String>,
) {
    if c.trusted_proxy.is_none() {
        if let Some(setting) = given(raw, "trusted_proxy_count") {
            errors.push(ConfigError::Requires {
                setting,
                message: "trusted_proxy_count has no meaning without setting trusted_proxy",
            });
        }
        if let Some(setting) =
            given(raw, "trusted_proxy_headers").filter(|_| !c.trusted_proxy_headers.is_empty())
        {
            errors.push(ConfigError::Requires {
                setting,
                message: "trusted_proxy_headers has no meaning without setting trusted_proxy",
            });
        }
    } else if c.trusted_proxy_headers.is_empty() {
        warnings.push(
            "trusted_proxy is set but trusted_proxy_headers is not: trusting \
             X-Forwarded-Proto only, as waitress does (set trusted_proxy_headers to say so)"
                .to_owned(),
        );
        c.trusted_proxy_headers.insert(ProxyHeader::XForwardedProto);
    }
}

/// waitress refuses to trust Forwarded together with any X-Forwarded-* header.
fn check_forwarded_alone(raw: &RawSettings, c: &Converted, errors: &mut Vec<ConfigError>) {
    if c.trusted_proxy_headers.contains(&ProxyHeader::Forwarded)
        && c.trusted_proxy_headers.len() > 1
    {
        errors.push(ConfigError::Requires {
            setting: given(raw, "trusted_proxy_headers").unwrap_or(Origin {
                key: "trusted_proxy_headers",
                source: Source::Default,
            }),
            message: "The Forwarded proxy header and the X-Forwarded-{By,Host,Proto,Port,For} \
                      headers are mutually exclusive. Can't trust both!",
        });
    }
}

/// A warning for each [`NO_EFFECT`] setting given, and where.
fn no_effect_warnings(raw: &RawSettings) -> Vec<String> {
    let mut warnings = Vec::new();
    for (key, note) in NO_EFFECT {
        // Only a value other than the default could have been meant to change something.
        let changed = raw
            .get(key)
            .filter(|v| Some(v.value.trim()) != super::table::key(key).map(|k| k.default));
        if let Some(given) = changed {
            warnings.push(format!("{note}; set at {}", given.source));
        }
    }
    warnings
}

/// Where to listen: inherited sockets, else the Unix socket, else the TCP addresses.
fn resolve_bind(
    raw: &RawSettings,
    c: &mut Converted,
    errors: &mut Vec<ConfigError>,
) -> Option<Bind> {
    if !matches!(c.sockets, Sockets::None) {
        Some(Bind::Inherited(c.sockets.clone()))
    } else if let Some(path) = &c.unix_socket {
        Some(Bind::Unix(path.clone()))
    } else if c.ipv4 || c.ipv6 {
        resolve_listen(raw, c, errors)
    } else {
        // Only TCP addresses have a family: a Unix socket or inherited ones need neither.
        errors.push(ConfigError::Requires {
            setting: given(raw, "ipv4")
                .or_else(|| given(raw, "ipv6"))
                .unwrap_or(Origin {
                    key: "ipv4",
                    source: Source::Default,
                }),
            message: "ipv4 and ipv6 are both off, so no address can be used \
                      (waitress silently uses both)",
        });
        None
    }
}

/// Works out the TCP addresses: `listen` if given, else `host:port`, as waitress builds it.
fn resolve_listen(
    raw: &RawSettings,
    c: &mut Converted,
    errors: &mut Vec<ConfigError>,
) -> Option<Bind> {
    // Without listen, the one entry is host:port, and what can be wrong with it is the host
    // (the port was checked as a number already): an error names the host as it was given.
    let (entries, key, given_host) = match raw.get("listen") {
        Some(_) => (c.listen.clone(), "listen", None),
        None => {
            let host = if c.host.contains(':') && !c.host.starts_with('[') {
                format!("[{}]", c.host)
            } else {
                c.host.clone()
            };
            (
                vec![format!("{host}:{}", c.port)],
                "host",
                Some(c.host.clone()),
            )
        }
    };
    let source = raw.get(key).map_or(Source::Default, |v| v.source.clone());
    if entries.is_empty() {
        errors.push(ConfigError::Invalid {
            key: "listen",
            value: raw
                .get("listen")
                .map(|v| v.value.clone())
                .unwrap_or_default(),
            at: source,
            reason: "no address to listen on (waitress fails at start-up with an AttributeError)"
                .into(),
        });
        return None;
    }
    let families = Families {
        ipv4: c.ipv4,
        ipv6: c.ipv6,
    };
    match listen::resolve(&entries, c.port, families) {
        Ok(resolved) => {
            c.listen = resolved.iter().map(|e| e.canonical.clone()).collect();
            Some(Bind::Tcp(resolved))
        }
        Err(e) => {
            // A family turned off is often why nothing resolved: say where it was turned off.
            let mut reason = e.reason;
            for (family, on) in [("ipv4", c.ipv4), ("ipv6", c.ipv6)] {
                if let Some(off) = raw.get(family).filter(|_| !on) {
                    reason.push_str(&format!(" ({family} is off at {})", off.source));
                }
            }
            let value = given_host.unwrap_or(e.entry);
            errors.push(if e.unresolved {
                ConfigError::Unresolved {
                    key,
                    value,
                    at: source,
                    reason,
                }
            } else {
                ConfigError::Invalid {
                    key,
                    value,
                    at: source,
                    reason,
                }
            });
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawSettings {
        let mut raw = RawSettings::new();
        for (key, value) in pairs {
            raw.set(key, *value, Source::Keyword((*key).to_owned()))
                .unwrap();
        }
        raw
    }

    #[test]
    fn warnings_come_as_read_then_proxy_then_no_effect() {
        let mut given = raw(&[
            ("listen", "127.0.0.1:0"),
            ("trusted_proxy", "10.0.0.1"),
            ("send_bytes", "9000"),
            ("asyncore_use_poll", "false"),
        ]);
        given.note("a note from reading".to_owned());
        let resolved = Settings::resolve(&given).unwrap();
        assert_eq!(
            resolved.warnings,
            [
                "a note from reading",
                "trusted_proxy is set but trusted_proxy_headers is not: trusting \
                 X-Forwarded-Proto only, as waitress does (set trusted_proxy_headers to say so)",
                "send_bytes has no effect in waitress-rs (output is sent as soon as the socket \
                 accepts it); set at keyword send_bytes=",
            ]
        );
        assert_eq!(
            resolved
                .settings
                .trusted_proxy_headers
                .into_iter()
                .collect::<Vec<_>>(),
            [ProxyHeader::XForwardedProto]
        );
    }

    #[test]
    fn a_bad_value_does_not_hide_the_rules_between_keys() {
        let errors = Settings::resolve(&raw(&[
            ("listen", "127.0.0.1:0"),
            ("port", "80"),
            ("threads", "0"),
            ("trusted_proxy_count", "2"),
        ]))
        .unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "listen (keyword listen=) and port (keyword port=) may not both be set: host or \
                 port may not be set if listen is set.",
                "threads = \"0\" (keyword threads=): must be at least 1",
                "trusted_proxy_count (keyword trusted_proxy_count=): trusted_proxy_count has no \
                 meaning without setting trusted_proxy",
            ]
        );
    }
}
