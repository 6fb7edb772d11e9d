//! What the tshark cross-check tests share: finding the shared captures of a
//! protocol, running the engine over one, and comparing per-packet keys.
// Each test crate uses part of this module.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use otposture_capture::{FileSource, PacketSource};
use otposture_dissect::Registry;
use otposture_model::Observation;
use otposture_observe::{Engine, EngineConfig, RawPacket};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::process::Command;

pub use otposture_fixtures::shared_pcaps;

/// True when tshark runs; without it the test skips with one line, unless CI=true.
pub fn tshark_available() -> bool {
    let ok = Command::new("tshark").arg("-v").output().is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("tshark is missing and CI=true: .ci/run installs it");
        }
        eprintln!("skipping: tshark not installed (scripts/setup.sh installs it)");
    }
    ok
}

/// `tshark -r path ARGS -Y filter -T fields -E occurrence=f -e frame.number -e
/// FIELD...`: per displayed frame, its number and the fields' texts (empty
/// when absent). `args` go before the filter (`-d` decode-as rules).
pub fn tshark_fields(path: &Path, args: &[&str], filter: &str, fields: &[&str]) -> Vec<(u64, Vec<String>)> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(path).args(args).args(["-Y", filter, "-T", "fields", "-E", "occurrence=f", "-e", "frame.number"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let mut f = line.split('\t');
            let frame =
                f.next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("unexpected tshark line {line:?}"));
            let values: Vec<String> = f.map(str::to_string).collect();
            assert_eq!(values.len(), fields.len(), "unexpected tshark line {line:?}");
            (frame, values)
        })
        .collect()
}

/// A capture listed in `INDEX.tsv`.
#[derive(Debug)]
pub struct Capture {
    /// Its path inside `../shared/pcaps`.
    pub dest: String,
    /// Its full path.
    pub path: PathBuf,
    /// The index's `features` column (identity messages found).
    pub features: String,
}

/// Every capture whose tshark protocol summary names a protocol starting with `tag`.
pub fn captures_with(dir: &Path, tag: &str) -> Vec<Capture> {
    let index = std::fs::read_to_string(dir.join("INDEX.tsv")).unwrap();
    let mut lines = index.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("INDEX.tsv has no {name}"));
    let (protocols, features) = (col("protocols"), col("features"));
    lines
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| f.get(protocols).is_some_and(|p| p.split_whitespace().any(|x| x.starts_with(tag))))
        .map(|f| Capture {
            dest: f[0].to_string(),
            path: dir.join(f[0]),
            features: f.get(features).unwrap_or(&"").to_string(),
        })
        .collect()
}

/// Runs the engine with `registry` over a capture to its end. Kept
/// operations, which the engine hands over in runs, come back as events.
pub fn run_engine(path: &Path, registry: Registry) -> Vec<Observation> {
    let mut src = FileSource::open(path, 0).unwrap();
    let mut engine = Engine::new(EngineConfig::default(), registry);
    let mut out = Vec::new();
    while let Ok(Some(p)) = src.next_packet() {
        engine.packet(&RawPacket {
            ts: p.ts,
            linktype: p.linktype,
            data: p.data,
            orig_len: p.orig_len,
            record: p.record,
            source: 0,
        });
    }
    engine.finish(&mut out);
    out.into_iter()
        .flat_map(|o| match o {
            Observation::Operations(_) => o.events().unwrap().into_iter().map(Observation::Event).collect(),
            o => vec![o],
        })
        .collect()
}

/// Runs the engine over `path` with the registry's `protocol` stream
/// dissector replaced by `tapped` (a wrapper that records keys as it
/// dissects); returns the server ports of the flows recognised as `protocol`,
/// for telling tshark to decode them too.
pub fn run_tapped(path: &Path, protocol: &str, tapped: Box<dyn otposture_dissect::StreamDissector>) -> BTreeSet<u16> {
    let mut registry = Registry::with_defaults();
    let at = registry.streams.iter().position(|d| d.protocol() == protocol).expect("the protocol is registered");
    registry.streams[at] = tapped;
    run_engine(path, registry)
        .iter()
        .filter_map(|o| match o {
            Observation::Flow(f) if f.app_protocol.as_deref() == Some(protocol) => Some(f.key.server_port),
            _ => None,
        })
        .collect()
}

/// Compares the keys each side found per packet: returns (keys on both sides,
/// keys on either side) and prints every packet where they differ.
pub fn compare<K: Ord + Clone + Debug>(
    dest: &str,
    ours: &BTreeMap<u64, Vec<K>>,
    theirs: &BTreeMap<u64, Vec<K>>,
) -> (usize, usize) {
    let (mut matched, mut union) = (0usize, 0usize);
    let frames: BTreeSet<u64> = ours.keys().chain(theirs.keys()).copied().collect();
    for frame in frames {
        let mut x = ours.get(&frame).cloned().unwrap_or_default();
        let mut y = theirs.get(&frame).cloned().unwrap_or_default();
        x.sort_unstable();
        y.sort_unstable();
        let mut rest = y.clone();
        let mut common = 0;
        for k in &x {
            if let Some(i) = rest.iter().position(|v| v == k) {
                rest.remove(i);
                common += 1;
            }
        }
        matched += common;
        union += x.len() + y.len() - common;
        if x != y {
            println!("{dest} frame {frame}: ours {x:?} tshark {y:?}");
        }
    }
    (matched, union)
}

/// Percentage of agreeing keys (100 when there are none).
pub fn percent(matched: usize, union: usize) -> f64 {
    if union == 0 {
        100.0
    } else {
        100.0 * matched as f64 / union as f64
    }
}

/// Keys agreeing with tshark over keys compared, summed over captures.
#[derive(Clone, Copy, Debug, Default)]
pub struct Agreement {
    pub matched: usize,
    pub union: usize,
    pub files: usize,
}

impl Agreement {
    /// Adds one capture's comparison.
    pub fn add(&mut self, (matched, union): (usize, usize)) {
        self.matched += matched;
        self.union += union;
        self.files += 1;
    }

    pub fn percent(&self) -> f64 {
        percent(self.matched, self.union)
    }

    /// Prints the total and fails when no capture was compared or fewer than
    /// 99% of the keys agree.
    pub fn check(&self, name: &str, unit: &str) {
        let pct = self.percent();
        println!("{name}: {}/{} {unit} agree over {} captures ({pct:.2}%)", self.matched, self.union, self.files);
        assert!(self.files > 0, "INDEX.tsv lists no {name} capture");
        assert!(pct >= 99.0, "{name}: agreement with tshark {pct:.2}% is below 99%");
    }
}

/// Identity values tshark shows in a capture that ours lack are printed;
/// returns (recovered, shown).
pub fn identity_recovered<T: Ord + Debug>(dest: &str, tshark: &BTreeSet<T>, ours: &BTreeSet<T>) -> (usize, usize) {
    for v in tshark.iter().filter(|v| !ours.contains(*v)) {
        println!("{dest}: identity value {v:?} shown by tshark is missing from ours {ours:?}");
    }
    let found = tshark.iter().filter(|v| ours.contains(*v)).count();
    println!("{dest}: {found}/{} identity values recovered", tshark.len());
    (found, tshark.len())
}

/// Per-packet keys of several fields: field -> frame -> values.
pub type FieldKeys = BTreeMap<&'static str, BTreeMap<u64, Vec<String>>>;

/// Agreement with tshark per field, summed over captures.
#[derive(Debug)]
pub struct FieldTally {
    fields: &'static [&'static str],
    sums: BTreeMap<&'static str, (usize, usize)>,
}

impl FieldTally {
    /// A tally of `fields`.
    pub fn new(fields: &'static [&'static str]) -> Self {
        FieldTally { fields, sums: BTreeMap::new() }
    }

    /// Compares one capture's keys field by field, printing every disagreement.
    pub fn add(&mut self, dest: &str, ours: &FieldKeys, theirs: &FieldKeys) {
        for &field in self.fields {
            let empty = BTreeMap::new();
            let (o, t) = (ours.get(field).unwrap_or(&empty), theirs.get(field).unwrap_or(&empty));
            let (m, u) = compare(&format!("{dest} [{field}]"), o, t);
            println!("{dest}: {field}: {m}/{u} agree ({:.2}%)", percent(m, u));
            let e = self.sums.entry(field).or_default();
            e.0 += m;
            e.1 += u;
        }
    }

    /// Fails when a field agrees below 99%, or (`all_fields`) has nothing compared.
    pub fn check(&self, what: &str, all_fields: bool) {
        for &field in self.fields {
            let (m, u) = self.sums.get(field).copied().unwrap_or_default();
            let pct = percent(m, u);
            println!("{what}: {field}: {m}/{u} agree ({pct:.2}%)");
            assert!(u > 0 || !all_fields, "{what}: no {field} compared");
            assert!(pct >= 99.0, "{what}: {field} agreement with tshark {pct:.2}% is below 99%");
        }
    }
}

/// What a tshark cross-check records beside the real dissector, for one
/// direction of a stream: it reads the same bytes and adds what it finds to
/// the shared `S`.
pub trait SideTap<S>: Default + Send + 'static {
    fn data(&mut self, ctx: &otposture_dissect::PacketCtx<'_>, data: &[u8], sink: &mut S);
    fn gap(&mut self, len: u64);
}

/// The real stream dissector `inner`, with a `T` per direction of each
/// session recording into `sink`.
pub struct Tapped<D, T, S> {
    pub inner: D,
    pub sink: std::sync::Arc<std::sync::Mutex<S>>,
    tap: std::marker::PhantomData<fn() -> T>,
}

impl<D, T, S> Tapped<D, T, S> {
    pub fn new(inner: D, sink: std::sync::Arc<std::sync::Mutex<S>>) -> Self {
        Tapped { inner, sink, tap: std::marker::PhantomData }
    }
}

struct TappedSession<T, S> {
    inner: Box<dyn otposture_dissect::StreamSession>,
    taps: [T; 2],
    sink: std::sync::Arc<std::sync::Mutex<S>>,
}

impl<D, T, S> otposture_dissect::StreamDissector for Tapped<D, T, S>
where
    D: otposture_dissect::StreamDissector,
    T: SideTap<S>,
    S: Send + 'static,
{
    fn protocol(&self) -> &'static str {
        self.inner.protocol()
    }
    fn port_hint(&self, server_port: u16) -> bool {
        self.inner.port_hint(server_port)
    }
    fn probe(&self, direction: otposture_model::Direction, data: &[u8]) -> otposture_dissect::Probe {
        self.inner.probe(direction, data)
    }
    fn new_session(&self) -> Box<dyn otposture_dissect::StreamSession> {
        Box::new(TappedSession::<T, S> {
            inner: self.inner.new_session(),
            taps: Default::default(),
            sink: self.sink.clone(),
        })
    }
    fn sent_by_client(&self, data: &[u8]) -> Option<bool> {
        self.inner.sent_by_client(data)
    }
}

impl<T: SideTap<S>, S: Send + 'static> otposture_dissect::StreamSession for TappedSession<T, S> {
    fn data(
        &mut self,
        ctx: &otposture_dissect::PacketCtx<'_>,
        direction: otposture_model::Direction,
        data: &[u8],
        emit: &mut dyn otposture_dissect::Emit,
    ) {
        self.inner.data(ctx, direction, data, emit);
        self.taps[direction.index()].data(ctx, data, &mut self.sink.lock().unwrap());
    }
    fn gap(
        &mut self,
        ctx: &otposture_dissect::PacketCtx<'_>,
        direction: otposture_model::Direction,
        len: u64,
        emit: &mut dyn otposture_dissect::Emit,
    ) {
        self.inner.gap(ctx, direction, len, emit);
        self.taps[direction.index()].gap(len);
    }
    fn close(&mut self, ctx: &otposture_dissect::PacketCtx<'_>, emit: &mut dyn otposture_dissect::Emit) {
        self.inner.close(ctx, emit);
    }
}
