//! `otposture`: the command-line front of the OT security posture platform.
//!
//! A thin binary: argument parsing, progress, output formats and exit codes.
//! The work happens in the library crates (capture -> observe -> store ->
//! inventory; cmdb for the asset register; intel for vulnerability intelligence;
//! drift for baselines).

mod access;
mod advisories;
mod analyze;
mod assets;
mod baseline;
mod bench;
mod cmdb;
mod intel;
mod map;
mod output;
mod posture;
mod query;
mod vulns;
mod writer;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes (documented in docs/cli.md).
pub(crate) mod exit {
    /// Success.
    pub(crate) const OK: u8 = 0;
    /// Failure before or outside analysis (database, file system).
    pub(crate) const FAILURE: u8 = 1;
    /// Bad command-line usage (clap's own code).
    pub(crate) const USAGE: u8 = 2;
    /// A capture was unreadable or corrupt (everything decoded before the error is
    /// stored), a register file was malformed (nothing imported), or `intel
    /// import` found no document it could import.
    pub(crate) const BAD_INPUT: u8 = 3;
    /// `--strict`: the capture had warnings (everything decoded is stored); or
    /// `intel import` skipped bad documents (every good one is stored).
    pub(crate) const WARNINGS: u8 = 4;
    /// The user's role does not allow the change (`otposture users`); nothing changed.
    pub(crate) const REFUSED: u8 = 5;
    /// Interrupted (Ctrl-C); everything decoded so far is stored.
    pub(crate) const INTERRUPTED: u8 = 130;
}

/// Passive OT network discovery: read captures or an interface, follow every
/// conversation, and keep hosts, flows and protocol observations in a local database.
#[derive(Parser, Debug)]
#[command(name = "otposture", version, propagate_version = true, after_help = EXIT_HELP)]
struct Cli {
    /// Database file [default: $OTPOSTURE_DB, else <data dir>/otposture/otposture.db]
    #[arg(long, global = true, value_name = "PATH")]
    db: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

const EXIT_HELP: &str = "Exit codes: 0 success; 1 failure (database, files); 2 usage error; \
3 unreadable or corrupt capture (what was decoded before the error is stored), or malformed register \
file (nothing imported), or no importable intel document; \
4 --strict and the capture had warnings, or intel import skipped bad documents (the good ones are stored); 5 the user's role does not allow the change; 130 interrupted (what was decoded is stored).";

#[derive(Subcommand, Debug)]
enum Command {
    /// Analyse capture files (pcap, pcapng, gzip) or a live interface, and store what is seen.
    Analyze(analyze::AnalyzeArgs),
    /// List hosts seen (MAC, IP, VLAN, names, first/last seen, traffic).
    Hosts(query::HostsArgs),
    /// List flows (endpoints, ports, transport, packets and bytes each way, TCP state).
    Flows(query::FlowsArgs),
    /// List notable events: identities, write/program/control operations, anomalies, capture comments.
    Events(query::EventsArgs),
    /// Count protocol operations (every read, write, control, ...) per protocol and operation.
    Operations(query::OperationsArgs),
    /// List assets (devices merged from hosts and protocol identities) with role, vendor and firmware; `assets show ID` explains one.
    Assets(assets::AssetsArgs),
    /// Every change users made (role overrides, register imports, baselines), newest first.
    Audit(assets::AuditArgs),
    /// Baselines and drift: accept the inventory as the expected state, then list how it deviates (new assets, identity changes, new conversations and operations).
    Baseline(baseline::BaselineArgs),
    /// The communication map between assets: protocols, operations and who may write to, program or stop whom.
    Map(map::MapArgs),
    /// The asset register (CMDB): import a CSV or JSON export, reconcile it with the inventory, export the result.
    Cmdb(cmdb::CmdbArgs),
    /// Vulnerability intelligence: import CSAF advisories, KEV, EPSS, CVE records (SSVC), ATT&CK for ICS; show what is held and as of when.
    Intel(intel::IntelArgs),
    /// Which imported advisories name which assets, and whether their firmware is affected (with the evidence).
    Vulns(vulns::VulnsArgs),
    /// One imported advisory: `advisories show ID` (revisions, products, statuses, remediations).
    Advisories(advisories::AdvisoriesArgs),
    /// The site file: zones, conduits, consequences, owners (`site check FILE`, `site apply FILE`, `site show`).
    Site(posture::SiteArgs),
    /// Run the posture checks over everything stored and record the findings (open, reopened, resolved).
    Assess(posture::AssessArgs),
    /// List, filter and export findings; `findings show ID` explains one; `ack`, `accept`, `reopen` change its state (logged).
    Findings(posture::FindingsArgs),
    /// Who may change what: `users`, `users add NAME --role R`, `users remove NAME`.
    Users(access::UsersArgs),
    /// Alert delivery: `alerts redeliver` sends the dead-letter file's alerts again.
    Alerts(posture::AlertsArgs),
    /// List the captures analysed into the database and their status.
    Captures(query::CapturesArgs),
    /// Measure the capture -> flows -> reassembly stage: MB/s, packets/s, peak memory.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE } else { exit::OK });
        }
    };
    let db = cli.db.clone().or_else(|| std::env::var_os("OTPOSTURE_DB").map(PathBuf::from)).or_else(default_db);
    let result = match cli.command {
        Command::Analyze(a) => analyze::run(a, db),
        Command::Hosts(a) => query::hosts(a, db),
        Command::Flows(a) => query::flows(a, db),
        Command::Events(a) => query::events(a, db),
        Command::Operations(a) => query::operations(a, db),
        Command::Assets(a) => assets::run(a, db),
        Command::Map(a) => map::run(a, db),
        Command::Cmdb(a) => cmdb::run(a, db),
        Command::Audit(a) => assets::audit(a, db),
        Command::Baseline(a) => baseline::run(a, db),
        Command::Intel(a) => intel::run(a, db),
        Command::Vulns(a) => vulns::run(a, db),
        Command::Advisories(a) => advisories::run(a, db),
        Command::Site(a) => posture::site(a, db),
        Command::Assess(a) => posture::assess(a, db),
        Command::Findings(a) => posture::findings(a, db),
        Command::Alerts(a) => posture::alerts(a, db),
        Command::Users(a) => access::users(a, db),
        Command::Captures(a) => query::captures(a, db),
        Command::Bench(a) => bench::run(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(if e.downcast_ref::<access::Refused>().is_some() { exit::REFUSED } else { exit::FAILURE })
        }
    }
}

/// `<data dir>/otposture/otposture.db` (e.g. ~/.local/share/otposture/otposture.db).
fn default_db() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("otposture").join("otposture.db"))
}

/// The database path, or an error telling the user how to give one.
pub(crate) fn require_db(db: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    db.ok_or_else(|| anyhow::anyhow!("no data directory is known on this system: pass --db PATH or set OTPOSTURE_DB"))
}
