//! The `[alerts]` table of the site file, and the checks a site-file check reports.
//!
//! Parsing is serde's (unknown keys are refused, enums are closed); [`validate`]
//! finds what serde cannot: bad addresses and URLs, missing secrets, unreadable
//! trust anchors, duplicate names. It never resolves names or opens connections,
//! so a site-file check works offline.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Severity;

/// `[alerts]` in the site file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Alerts below this severity are not sent anywhere (default `low`: all).
    pub min_severity: Severity,
    /// Where undelivered alerts go (JSON lines, appended). The caller resolves relative paths.
    pub dead_letter: PathBuf,
    /// Delivery attempts per alert and target, the first included (default 8).
    pub max_attempts: u32,
    /// The first retry waits about this long; each retry doubles it, with jitter (default 500).
    pub initial_backoff_ms: u64,
    /// No retry waits longer, `Retry-After` included (default 60000).
    pub max_backoff_ms: u64,
    /// How long `finish` waits for undelivered alerts before dead-lettering them (default 30).
    pub deadline_secs: u64,
    /// Alerts waiting per target beyond which new ones go straight to the dead-letter file (default 10000).
    pub max_queue: usize,
    /// `[[alerts.syslog]]`: SIEM receivers.
    pub syslog: Vec<SyslogTarget>,
    /// `[[alerts.webhook]]`: SOAR receivers.
    pub webhook: Vec<WebhookTarget>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            min_severity: Severity::Low,
            dead_letter: PathBuf::from("otposture-dead-letter.jsonl"),
            max_attempts: 8,
            initial_backoff_ms: 500,
            max_backoff_ms: 60_000,
            deadline_secs: 30,
            max_queue: 10_000,
            syslog: Vec::new(),
            webhook: Vec::new(),
        }
    }
}

/// `[[alerts.syslog]]`: one syslog receiver, messages RFC 5424 with CEF inside.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogTarget {
    /// Unique among all targets; the dead-letter file names the target by it.
    pub name: String,
    /// `host:port` (`[v6]:port` for an IPv6 literal), resolved at each connection.
    pub address: String,
    /// `udp`, `tcp` (RFC 6587 octet counting) or `tls` (RFC 5425).
    pub transport: Transport,
    /// PEM trust anchors for `tls`; without it the system's.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The name the server certificate must carry (`tls`; default the address's host).
    #[serde(default)]
    pub server_name: Option<String>,
    /// Syslog facility (default `local4`).
    #[serde(default = "default_facility")]
    pub facility: Facility,
    /// RFC 5424 APP-NAME (default `otposture`).
    #[serde(default = "default_app_name")]
    pub app_name: String,
    /// RFC 5424 HOSTNAME (default the machine's).
    #[serde(default)]
    pub hostname: Option<String>,
    /// Connect and write timeout (default 5000).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Overrides `[alerts] min_severity` for this target.
    #[serde(default)]
    pub min_severity: Option<Severity>,
}

/// `[[alerts.webhook]]`: one HTTP(S) receiver of signed JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookTarget {
    /// Unique among all targets; the dead-letter file names the target by it.
    pub name: String,
    /// `http://host[:port]/path` or `https://...`. Keep secrets out of it: use `secret_env`.
    pub url: String,
    /// Name of the environment variable holding the HMAC key.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// File holding the HMAC key (one trailing newline is ignored).
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// Connect, write and response timeout (default 5000).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// PEM trust anchors for `https`; without it the system's.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Overrides `[alerts] min_severity` for this target.
    #[serde(default)]
    pub min_severity: Option<Severity>,
}

/// How syslog messages travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// One message per datagram (RFC 5426).
    Udp,
    /// Octet-counted frames on a kept-open connection (RFC 6587 section 3.4.1).
    Tcp,
    /// Octet-counted frames over TLS (RFC 5425).
    Tls,
}

/// Syslog facility (RFC 5424 section 6.2.1, table 1), by its usual name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Facility {
    Kern,
    User,
    Mail,
    Daemon,
    Auth,
    Syslog,
    Lpr,
    News,
    Uucp,
    Cron,
    Authpriv,
    Ftp,
    Ntp,
    Audit,
    Alert,
    Clock,
    Local0,
    Local1,
    Local2,
    Local3,
    Local4,
    Local5,
    Local6,
    Local7,
}

impl Facility {
    /// The numeric facility code, 0-23.
    pub fn code(self) -> u8 {
        match self {
            Facility::Kern => 0,
            Facility::User => 1,
            Facility::Mail => 2,
            Facility::Daemon => 3,
            Facility::Auth => 4,
            Facility::Syslog => 5,
            Facility::Lpr => 6,
            Facility::News => 7,
            Facility::Uucp => 8,
            Facility::Cron => 9,
            Facility::Authpriv => 10,
            Facility::Ftp => 11,
            Facility::Ntp => 12,
            Facility::Audit => 13,
            Facility::Alert => 14,
            Facility::Clock => 15,
            Facility::Local0 => 16,
            Facility::Local1 => 17,
            Facility::Local2 => 18,
            Facility::Local3 => 19,
            Facility::Local4 => 20,
            Facility::Local5 => 21,
            Facility::Local6 => 22,
            Facility::Local7 => 23,
        }
    }
}

fn default_facility() -> Facility {
    Facility::Local4
}

fn default_app_name() -> String {
    "otposture".to_owned()
}

fn default_timeout_ms() -> u64 {
    5000
}

/// Problems a site-file check should report, one line each, naming the target.
/// Empty when [`crate::Dispatcher::start`] can start. Reads `secret_env` variables
/// and the `ca_file`/`secret_file` files (never prints their content); no network.
pub fn validate(config: &AlertsConfig) -> Vec<String> {
    let mut problems = Vec::new();
    if config.max_attempts == 0 {
        problems.push("[alerts] max_attempts must be at least 1".to_owned());
    }
    if config.initial_backoff_ms == 0 {
        problems.push("[alerts] initial_backoff_ms must be at least 1".to_owned());
    }
    if config.max_backoff_ms < config.initial_backoff_ms {
        problems.push(format!(
            "[alerts] max_backoff_ms ({}) is below initial_backoff_ms ({})",
            config.max_backoff_ms, config.initial_backoff_ms
        ));
    }
    if config.max_queue == 0 {
        problems.push("[alerts] max_queue must be at least 1".to_owned());
    }
    if config.dead_letter.as_os_str().is_empty() {
        problems.push("[alerts] dead_letter is empty".to_owned());
    }
    let mut names = HashSet::new();
    let all_names = config.syslog.iter().map(|t| &t.name).chain(config.webhook.iter().map(|t| &t.name));
    for name in all_names {
        if name.trim().is_empty() {
            problems.push("[alerts] a target has an empty name".to_owned());
        } else if !names.insert(name.as_str()) {
            problems.push(format!("[alerts] target name {name:?} is used twice (the dead-letter file names targets)"));
        }
    }
    for target in &config.syslog {
        validate_syslog(target, &mut problems);
    }
    for target in &config.webhook {
        validate_webhook(target, &mut problems);
    }
    problems
}

fn validate_syslog(t: &SyslogTarget, problems: &mut Vec<String>) {
    let mut problem = |p: String| problems.push(format!("[[alerts.syslog]] {:?}: {p}", t.name));
    match split_host_port(&t.address) {
        Ok((host, _)) => {
            if t.transport == Transport::Tls {
                let name = t.server_name.as_deref().unwrap_or(host);
                if rustls::pki_types::ServerName::try_from(name).is_err() {
                    problem(format!("server name {name:?} is neither a DNS name nor an IP address"));
                }
            }
        }
        Err(e) => problem(format!("address {:?}: {e}", t.address)),
    }
    if t.transport != Transport::Tls {
        if t.ca_file.is_some() {
            problem("ca_file applies only to transport = \"tls\"".to_owned());
        }
        if t.server_name.is_some() {
            problem("server_name applies only to transport = \"tls\"".to_owned());
        }
    }
    if let Some(ca) = &t.ca_file {
        if let Err(e) = crate::tls::read_trust_anchors(ca) {
            problem(e);
        }
    }
    // RFC 5424 section 6: APP-NAME = 1*48PRINTUSASCII, HOSTNAME = 1*255PRINTUSASCII.
    if t.app_name.is_empty() || t.app_name.len() > 48 || !t.app_name.bytes().all(is_print_us_ascii) {
        problem(format!("app_name {:?} must be 1 to 48 printable ASCII characters without spaces", t.app_name));
    }
    if let Some(h) = &t.hostname {
        if h.is_empty() || h.len() > 255 || !h.bytes().all(is_print_us_ascii) {
            problem(format!("hostname {h:?} must be 1 to 255 printable ASCII characters without spaces"));
        }
    }
    if t.timeout_ms == 0 {
        problem("timeout_ms must be at least 1".to_owned());
    }
}

fn validate_webhook(t: &WebhookTarget, problems: &mut Vec<String>) {
    let mut problem = |p: String| problems.push(format!("[[alerts.webhook]] {:?}: {p}", t.name));
    match crate::webhook::Url::parse(&t.url) {
        Ok(url) => {
            if !url.https && t.ca_file.is_some() {
                problem("ca_file applies only to an https:// url".to_owned());
            }
        }
        // The url is not echoed: its path may hold a token.
        Err(e) => problem(format!("url: {e}")),
    }
    if let Err(e) = crate::webhook::load_secret(t) {
        problem(e);
    }
    if let Some(ca) = &t.ca_file {
        if let Err(e) = crate::tls::read_trust_anchors(ca) {
            problem(e);
        }
    }
    if t.timeout_ms == 0 {
        problem("timeout_ms must be at least 1".to_owned());
    }
}

/// PRINTUSASCII of RFC 5424 section 6: `%d33-126`.
pub(crate) fn is_print_us_ascii(b: u8) -> bool {
    (33..=126).contains(&b)
}

/// Splits `host:port` or `[v6]:port`; the port must be 1-65535.
pub(crate) fn split_host_port(address: &str) -> Result<(&str, u16), String> {
    let (host, port) = if let Some(rest) = address.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("unclosed [ in an IPv6 address")?;
        let port = after.strip_prefix(':').ok_or("no :port after the ]")?;
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("{host:?} in [] is not an IPv6 address"));
        }
        (host, port)
    } else {
        let (host, port) = address.rsplit_once(':').ok_or("no :port (write host:port)")?;
        if host.contains(':') {
            return Err("an IPv6 address must be written [addr]:port".to_owned());
        }
        (host, port)
    };
    if host.is_empty() {
        return Err("no host before the port".to_owned());
    }
    if host.bytes().any(|b| !is_print_us_ascii(b)) {
        return Err("the host has spaces or control characters".to_owned());
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok((host, p)),
        _ => Err(format!("port {port:?} is not a number from 1 to 65535")),
    }
}

/// Reads a secret or trust-anchor file, naming it (never its content) in the error.
pub(crate) fn read_small_file(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{what} {}: {e}", path.display()))
}
