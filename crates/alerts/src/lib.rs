//! Alert delivery: findings leave otposture as RFC 5424 syslog messages carrying
//! ArcSight CEF (for a SIEM) and as HMAC-signed JSON webhooks (for a SOAR).
//!
//! One job: take an [`Alert`] from the caller and get it to every configured
//! receiver, or into the dead-letter file. [`Dispatcher::send`] only queues, so
//! analysis is never blocked by a slow or absent receiver; one background thread
//! per target delivers in order, retrying with exponential backoff and jitter.
//! [`Dispatcher::finish`] waits at most `deadline_secs`, then writes every
//! undelivered (target, alert) pair to the dead-letter file (JSON lines, appended),
//! and [`redeliver`] sends that file's entries again later. Delivery is at least
//! once: receivers de-duplicate by [`Alert::id`].
//!
//! It does not decide what is an alert (the posture engine opens and resolves
//! findings), read the site file (the caller embeds [`AlertsConfig`] under
//! `[alerts]`), or keep state between runs other than the dead-letter file.
//! Formats, retry rules and a receiver's signature check: docs/alerts.md.

mod backoff;
mod cef;
mod clock;
mod config;
mod deadletter;
mod dispatch;
mod syslog;
mod tls;
mod webhook;

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

pub use backoff::backoff_delay;
pub use cef::cef_message;
pub use config::{validate, AlertsConfig, Facility, SyslogTarget, Transport, WebhookTarget};
pub use deadletter::DeadLetter;
pub use dispatch::{redeliver, DeliveryReport, Dispatcher, TargetReport};
pub use syslog::{frame_octet_counted, rfc5424_message};
pub use webhook::{sign, webhook_body};

/// The version of this crate, which is the CEF `Device Version` and the webhook `User-Agent`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// One alert: a finding opened, reopened, resolved, acknowledged or accepted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Unique per delivery: receivers de-duplicate by it (e.g. `"<finding id>:<event>:<n>"`).
    pub id: String,
    /// The finding this alert is about; stable across its events.
    pub finding_id: String,
    /// `"opened"`, `"reopened"`, `"resolved"`, `"acknowledged"` or `"accepted"`.
    pub event: String,
    /// The check that raised the finding, e.g. `"segmentation.unallowed_flow"`.
    pub check: String,
    /// One line for a human.
    pub title: String,
    /// How bad it is; `min_severity` filters on it.
    pub severity: Severity,
    /// When the finding was last observed, in nanoseconds since the Unix epoch.
    pub time_ns: i64,
    /// The site's name, when the site file gives one.
    pub site: Option<String>,
    /// Asset ids the finding concerns.
    pub assets: Vec<String>,
    /// Source address of the traffic behind the finding, if there is one.
    pub source: Option<IpAddr>,
    /// Destination address of the traffic behind the finding, if there is one.
    pub destination: Option<IpAddr>,
    /// Application protocol, e.g. `"modbus"` or `"telnet"`.
    pub protocol: Option<String>,
    /// MITRE ATT&CK for ICS technique ids, e.g. `"T0886"`.
    pub attack: Vec<String>,
    /// What to do about it.
    pub remediation: Option<String>,
    /// Check-specific detail, passed through to webhooks as is.
    pub detail: serde_json::Value,
}

/// How bad a finding is. Ordered: `Low < Medium < High < Critical`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    #[default]
    Low,
    /// Worth fixing.
    Medium,
    /// Fix soon.
    High,
    /// Fix now.
    Critical,
}

impl Severity {
    /// The RFC 5424 section 6.2.1 severity: crit (2), err (3), warning (4), notice (5).
    pub fn syslog_code(self) -> u8 {
        match self {
            Severity::Critical => 2,
            Severity::High => 3,
            Severity::Medium => 4,
            Severity::Low => 5,
        }
    }

    /// The CEF header severity on its 0-10 scale.
    pub fn cef_code(self) -> u8 {
        match self {
            Severity::Critical => 10,
            Severity::High => 8,
            Severity::Medium => 5,
            Severity::Low => 3,
        }
    }
}

/// Why alert delivery could not start, or the dead-letter file could not be handled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AlertError {
    /// The `[alerts]` configuration has problems (each names its target).
    #[error("[alerts] is not usable: {}", .problems.join("; "))]
    Invalid {
        /// One line per problem, as [`validate`] reports them.
        problems: Vec<String>,
    },
    /// A target could not be set up (its secret or trust anchors could not be loaded).
    #[error("[alerts] target {target:?}: {problem}")]
    Target {
        /// The target's `name`.
        target: String,
        /// What went wrong; never the secret itself.
        problem: String,
    },
    /// The dead-letter file could not be read or written.
    #[error("dead-letter file {}: {source}", .path.display())]
    DeadLetter {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}
