//! Deviations of a current snapshot from the baseline, and the rules that
//! decide them (docs/cli.md says the same for users).
//!
//! - An asset is matched by id. An asset of the baseline that is gone and an
//!   asset that is new which state the same vendor and serial number (exactly
//!   one of each) are one device that was re-addressed: one `address_change`
//!   (field `id`), and its conversations are matched under its new id.
//! - An identity field that the current snapshot does not hold, or holds only
//!   at a lower confidence than the baseline (a MAC-prefix guess where the
//!   device stated a vendor), was not stated this time: no deviation.
//! - A value where the baseline had none, or a stated value where the baseline
//!   had only a weaker one, is `identity_learned` (lower weight: the device may
//!   simply not have been asked before); a different value at the same or a
//!   higher confidence than an equally stated one is `identity_change`. Values
//!   are compared without surrounding blanks and ASCII case.
//! - A module at a route the baseline did not know is `identity_learned`
//!   (field `module`); a module the current snapshot lacks is not a deviation.
//!
//! Bounded: two sorted walks and one hash map of unmatched assets; no pair of
//! lists is compared element by element.

use crate::snapshot::{AssetState, Classes, ConversationState, Identity, Snapshot, Stated};
use otposture_model::{OperationClass, Timestamp};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// What kind of drift a deviation is. The order is the order of the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviationKind {
    /// An asset the baseline did not have.
    NewAsset,
    /// An asset of the baseline that the inventory no longer has.
    VanishedAsset,
    /// A known device at other addresses: a new id (re-addressed, recognised by
    /// vendor and serial), or new or lost MACs, IPs or VLANs under its id.
    AddressChange,
    /// A stated identity value (firmware, model, serial, ...) of an asset or
    /// one of its modules differs from the baseline's.
    IdentityChange,
    /// An identity value, or a module, the baseline did not know (or knew only
    /// as a weaker guess). Lower weight than a change.
    IdentityLearned,
    /// A conversation (client, server, protocol) the baseline did not have.
    NewConversation,
    /// A conversation of the baseline that the inventory no longer has.
    VanishedConversation,
    /// A class of operation (write, program, control, ...) sent on a
    /// conversation where the baseline never saw it.
    NewOperation,
}

impl DeviationKind {
    /// Every kind, in report order.
    pub const ALL: [DeviationKind; 8] = [
        DeviationKind::NewAsset,
        DeviationKind::VanishedAsset,
        DeviationKind::AddressChange,
        DeviationKind::IdentityChange,
        DeviationKind::IdentityLearned,
        DeviationKind::NewConversation,
        DeviationKind::VanishedConversation,
        DeviationKind::NewOperation,
    ];

    /// Its name in text and JSON.
    pub fn name(self) -> &'static str {
        match self {
            DeviationKind::NewAsset => "new_asset",
            DeviationKind::VanishedAsset => "vanished_asset",
            DeviationKind::AddressChange => "address_change",
            DeviationKind::IdentityChange => "identity_change",
            DeviationKind::IdentityLearned => "identity_learned",
            DeviationKind::NewConversation => "new_conversation",
            DeviationKind::VanishedConversation => "vanished_conversation",
            DeviationKind::NewOperation => "new_operation",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<DeviationKind> {
        DeviationKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// A conversation's key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ConversationKey {
    /// The initiating asset's id (or `ip-<address>`).
    pub client: String,
    /// The answering asset's id (or `ip-<address>`).
    pub server: String,
    /// Application protocol, or the transport when none was recognised.
    pub protocol: String,
}

/// One way the current inventory differs from the baseline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deviation {
    /// What kind of drift.
    pub kind: DeviationKind,
    /// The asset concerned (its current id; the baseline's for `vanished_asset`).
    pub asset: Option<String>,
    /// The conversation concerned, for the conversation kinds.
    pub conversation: Option<ConversationKey>,
    /// The route of the module concerned (`1/3`, `rack 0 slot 2`), for a module's identity.
    pub module: Option<String>,
    /// The field that changed: an identity field (`firmware`, ...), `module`,
    /// or for `address_change` `id`, `macs`, `ips` or `vlans`.
    pub field: Option<String>,
    /// The operation class that is new, for `new_operation`.
    pub operation: Option<OperationClass>,
    /// The baseline's value (`None` when it had none). For `new_operation`
    /// the classes the baseline saw, for addresses the list, space-separated.
    pub before: Option<String>,
    /// The current value. For the conversation kinds the classes now seen.
    pub after: Option<String>,
    /// Evidence, ns since the epoch (packet time): when what is new was first
    /// seen (the new value, asset or conversation; for `address_change` the
    /// asset). For the vanished kinds, from the baseline. `None` for
    /// `new_operation`: the inventory does not say when a class was first sent
    /// (`otposture events --kind operation` lists each write, program or
    /// control with its time).
    pub first_seen_ns: Option<i64>,
    /// When it was last seen (for `new_operation`, the conversation).
    pub last_seen_ns: Option<i64>,
    /// The deviation in one sentence, for people.
    pub explanation: String,
}

impl Deviation {
    fn new(kind: DeviationKind, explanation: String) -> Self {
        Deviation {
            kind,
            asset: None,
            conversation: None,
            module: None,
            field: None,
            operation: None,
            before: None,
            after: None,
            first_seen_ns: None,
            last_seen_ns: None,
            explanation,
        }
    }

    fn asset(mut self, id: &str) -> Self {
        self.asset = Some(id.to_string());
        self
    }

    fn seen(mut self, first: i64, last: i64) -> Self {
        self.first_seen_ns = Some(first);
        self.last_seen_ns = Some(last);
        self
    }

    fn change(mut self, field: &str, before: Option<String>, after: Option<String>) -> Self {
        self.field = Some(field.to_string());
        self.before = before;
        self.after = after;
        self
    }

    fn conversation(mut self, c: &ConversationState, client: &str) -> Self {
        self.conversation = Some(ConversationKey {
            client: client.to_string(),
            server: c.server.clone(),
            protocol: c.protocol.clone(),
        });
        self
    }

    /// The order of the report: kind, then asset, module, field,
    /// conversation, operation (by name).
    fn order(&self, other: &Self) -> Ordering {
        let op = |d: &Self| d.operation.map(OperationClass::name);
        (self.kind, &self.asset, &self.module, &self.field, &self.conversation, op(self)).cmp(&(
            other.kind,
            &other.asset,
            &other.module,
            &other.field,
            &other.conversation,
            op(other),
        ))
    }
}

fn time(ns: i64) -> String {
    Timestamp(ns).to_rfc3339()
}

/// Equal values: the same text without surrounding blanks and ASCII case.
fn same(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// The items of `list` in the order of `key`: as they are when already sorted.
fn sorted_by_key<'a, T, K: Ord>(list: &'a [T], key: impl Fn(&'a T) -> K) -> Vec<&'a T> {
    let mut refs: Vec<&T> = list.iter().collect();
    if !refs.is_sorted_by(|a, b| key(a) <= key(b)) {
        refs.sort_by_key(|a| key(a));
    }
    refs
}

/// The deviations of `current` from `baseline`, in report order (kind, then
/// asset, module, field, conversation, operation): the same inputs always
/// give the same list.
pub fn compare(baseline: &Snapshot, current: &Snapshot) -> Vec<Deviation> {
    let mut out = Vec::new();
    let base = sorted_by_key(&baseline.assets, |a| a.id.as_str());
    let now = sorted_by_key(&current.assets, |a| a.id.as_str());

    // Assets by id, in one walk of the two sorted lists.
    let mut gone: Vec<&AssetState> = Vec::new();
    let mut arrived: Vec<&AssetState> = Vec::new();
    let (mut i, mut j) = (0, 0);
    loop {
        match (base.get(i), now.get(j)) {
            (Some(b), Some(c)) => match b.id.cmp(&c.id) {
                Ordering::Equal => {
                    addresses(b, c, &mut out);
                    identity(b, c, &mut out);
                    (i, j) = (i + 1, j + 1);
                }
                Ordering::Less => {
                    gone.push(b);
                    i += 1;
                }
                Ordering::Greater => {
                    arrived.push(c);
                    j += 1;
                }
            },
            (Some(b), None) => {
                gone.push(b);
                i += 1;
            }
            (None, Some(c)) => {
                arrived.push(c);
                j += 1;
            }
            (None, None) => break,
        }
    }

    // Re-addressed devices: one gone and one arrived stating the same vendor and serial.
    let renamed = readdressed(&gone, &arrived);
    let mut renames: HashMap<&str, &str> = HashMap::default();
    for (b, c) in &renamed {
        renames.insert(b.id.as_str(), c.id.as_str());
        let serial = c.identity.serial.as_ref().map_or("", |s| s.value.as_str());
        let vendor = c.identity.vendor.as_ref().map_or("", |s| s.value.as_str());
        out.push(
            Deviation::new(
                DeviationKind::AddressChange,
                format!(
                    "{} is now {}: the same device (vendor {vendor}, serial {serial}) at other addresses \
                     (before {}; now {})",
                    b.id,
                    c.id,
                    address_words(b),
                    address_words(c)
                ),
            )
            .asset(&c.id)
            .change("id", Some(b.id.clone()), Some(c.id.clone()))
            .seen(c.first_seen_ns, c.last_seen_ns),
        );
        identity(b, c, &mut out);
    }
    for b in gone.iter().filter(|b| !renames.contains_key(b.id.as_str())) {
        out.push(
            Deviation::new(
                DeviationKind::VanishedAsset,
                format!(
                    "{} ({}) is in the baseline but not in the inventory now; last seen {}",
                    b.id,
                    b.describe(),
                    time(b.last_seen_ns)
                ),
            )
            .asset(&b.id)
            .seen(b.first_seen_ns, b.last_seen_ns),
        );
    }
    let arrived_ids: std::collections::HashSet<&str, foldhash::fast::RandomState> =
        renamed.iter().map(|(_, c)| c.id.as_str()).collect();
    for c in arrived.iter().filter(|c| !arrived_ids.contains(c.id.as_str())) {
        out.push(
            Deviation::new(
                DeviationKind::NewAsset,
                format!("{} ({}) is not in the baseline; first seen {}", c.id, c.describe(), time(c.first_seen_ns)),
            )
            .asset(&c.id)
            .seen(c.first_seen_ns, c.last_seen_ns),
        );
    }

    conversations(baseline, current, &renames, &mut out);
    out.sort_by(Deviation::order);
    out
}

/// Pairs of (gone, arrived) assets that state the same vendor and serial,
/// where exactly one of each does.
fn readdressed<'a>(gone: &[&'a AssetState], arrived: &[&'a AssetState]) -> Vec<(&'a AssetState, &'a AssetState)> {
    fn key(a: &AssetState) -> Option<(String, String)> {
        let vendor = a.identity.vendor.as_ref()?.value.trim().to_ascii_lowercase();
        let serial = a.identity.serial.as_ref()?.value.trim().to_ascii_lowercase();
        (!vendor.is_empty() && !serial.is_empty()).then_some((vendor, serial))
    }
    /// The gone and the arrived assets that state one (vendor, serial).
    type Holders<'a> = (Vec<&'a AssetState>, Vec<&'a AssetState>);
    let mut by_key: HashMap<(String, String), Holders<'_>> = HashMap::default();
    for b in gone {
        if let Some(k) = key(b) {
            by_key.entry(k).or_default().0.push(b);
        }
    }
    if by_key.is_empty() {
        return Vec::new();
    }
    for c in arrived {
        if let Some(entry) = key(c).and_then(|k| by_key.get_mut(&k)) {
            entry.1.push(c);
        }
    }
    let mut pairs: Vec<(&AssetState, &AssetState)> = by_key
        .into_values()
        .filter_map(|(b, c)| match (b.as_slice(), c.as_slice()) {
            ([b], [c]) => Some((*b, *c)),
            _ => None,
        })
        .collect();
    pairs.sort_by(|x, y| x.0.id.cmp(&y.0.id));
    pairs
}

fn address_words(a: &AssetState) -> String {
    let mut parts = Vec::new();
    if !a.macs.is_empty() {
        parts.push(format!("MAC {}", a.macs.join(" ")));
    }
    if !a.ips.is_empty() {
        parts.push(format!("IP {}", a.ips.join(" ")));
    }
    if !a.vlans.is_empty() {
        parts.push(format!("VLAN {}", a.vlans.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")));
    }
    if parts.is_empty() {
        "no addresses".to_string()
    } else {
        parts.join(", ")
    }
}

/// MACs, IPs and VLANs of one asset (same id) that differ.
fn addresses(b: &AssetState, c: &AssetState, out: &mut Vec<Deviation>) {
    if b.macs == c.macs && b.ips == c.ips && b.vlans == c.vlans {
        return;
    }
    let vlans = |a: &AssetState| a.vlans.iter().map(ToString::to_string).collect::<Vec<_>>();
    let lists = [
        ("macs", b.macs.clone(), c.macs.clone()),
        ("ips", b.ips.clone(), c.ips.clone()),
        ("vlans", vlans(b), vlans(c)),
    ];
    for (field, before, after) in lists {
        let mut sb = before.clone();
        let mut sa = after.clone();
        sb.sort_unstable();
        sa.sort_unstable();
        if sb == sa {
            continue;
        }
        let gained: Vec<&str> = sa.iter().filter(|x| !sb.contains(x)).map(String::as_str).collect();
        let lost: Vec<&str> = sb.iter().filter(|x| !sa.contains(x)).map(String::as_str).collect();
        let mut what = Vec::new();
        if !gained.is_empty() {
            what.push(format!("now also {}", gained.join(" ")));
        }
        if !lost.is_empty() {
            what.push(format!("no longer {}", lost.join(" ")));
        }
        let join = |l: Vec<String>| (!l.is_empty()).then(|| l.join(" "));
        out.push(
            Deviation::new(
                DeviationKind::AddressChange,
                format!(
                    "{} {field}: {} (baseline: {})",
                    c.id,
                    what.join("; "),
                    if sb.is_empty() { "none".to_string() } else { sb.join(" ") }
                ),
            )
            .asset(&c.id)
            .change(field, join(before), join(after))
            .seen(c.first_seen_ns, c.last_seen_ns),
        );
    }
}

/// Identity fields and modules of a device known to both snapshots.
fn identity(b: &AssetState, c: &AssetState, out: &mut Vec<Deviation>) {
    fields(&c.id, None, &b.identity, &c.identity, out);
    let mut k = 0;
    for m in &c.modules {
        // Both lists are ordered by route.
        while b.modules.get(k).is_some_and(|x| x.route < m.route) {
            k += 1;
        }
        match b.modules.get(k).filter(|x| x.route == m.route) {
            Some(bm) => fields(&c.id, Some(&m.route), &bm.identity, &m.identity, out),
            None if !m.identity.is_empty() => {
                let first = Identity::FIELDS.iter().filter_map(|f| m.identity.get(f)).map(|s| s.first_seen_ns).min();
                let last = Identity::FIELDS.iter().filter_map(|f| m.identity.get(f)).map(|s| s.last_seen_ns).max();
                let mut d = Deviation::new(
                    DeviationKind::IdentityLearned,
                    format!(
                        "{} has a module at {} that the baseline did not know ({}): a module added, or one the \
                         baseline's traffic never reached",
                        c.id,
                        m.route,
                        m.identity.describe()
                    ),
                )
                .asset(&c.id)
                .change("module", None, Some(m.identity.describe()));
                d.module = Some(m.route.clone());
                d.first_seen_ns = first;
                d.last_seen_ns = last;
                out.push(d);
            }
            None => {}
        }
    }
}

fn fields(id: &str, module: Option<&str>, b: &Identity, c: &Identity, out: &mut Vec<Deviation>) {
    let whose = match module {
        Some(route) => format!("{id} module {route}"),
        None => id.to_string(),
    };
    for field in Identity::FIELDS {
        let Some(now) = c.get(field) else { continue };
        let d = match b.get(field) {
            None => Deviation::new(
                DeviationKind::IdentityLearned,
                format!("{field} of {whose} is stated as {:?}; the baseline did not know it", now.value),
            ),
            Some(was) if same(&was.value, &now.value) => continue,
            // Only a weaker source disagrees: the device did not state it this time.
            Some(was) if now.confidence < was.confidence => continue,
            Some(was) if now.confidence > was.confidence => Deviation::new(
                DeviationKind::IdentityLearned,
                format!(
                    "{field} of {whose} is stated as {:?}; the baseline had only {:?} at {} confidence",
                    now.value,
                    was.value,
                    confidence(was)
                ),
            ),
            Some(was) => Deviation::new(
                DeviationKind::IdentityChange,
                format!(
                    "{field} of {whose} changed from {:?} to {:?}, first stated {}",
                    was.value,
                    now.value,
                    time(now.first_seen_ns)
                ),
            ),
        };
        let mut d = d.asset(id).change(field, b.get(field).map(|s| s.value.clone()), Some(now.value.clone()));
        d.module = module.map(str::to_string);
        out.push(d.seen(now.first_seen_ns, now.last_seen_ns));
    }
}

fn confidence(s: &Stated) -> &'static str {
    match s.confidence {
        crate::Confidence::Low => "low",
        crate::Confidence::Medium => "medium",
        crate::Confidence::High => "high",
    }
}

/// Conversations, matched by (client, server, protocol) with the baseline's
/// ids of re-addressed devices replaced by their current ones.
fn conversations<'a>(
    baseline: &'a Snapshot,
    current: &'a Snapshot,
    renames: &HashMap<&'a str, &'a str>,
    out: &mut Vec<Deviation>,
) {
    // The baseline's keys under current ids (borrowed: nothing is copied).
    let rename = |id: &'a str| -> &'a str { renames.get(id).copied().unwrap_or(id) };
    let mut base: Vec<(&str, &str, &ConversationState)> =
        baseline.conversations.iter().map(|c| (rename(&c.client), rename(&c.server), c)).collect();
    if !base.is_sorted_by(|x, y| (x.0, x.1, &x.2.protocol) <= (y.0, y.1, &y.2.protocol)) {
        base.sort_by(|x, y| (x.0, x.1, &x.2.protocol).cmp(&(y.0, y.1, &y.2.protocol)));
    }
    let now = sorted_by_key(&current.conversations, ConversationState::key);
    let (mut i, mut j) = (0, 0);
    loop {
        let order = match (base.get(i), now.get(j)) {
            (Some(b), Some(c)) => (b.0, b.1, b.2.protocol.as_str()).cmp(&c.key()),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => break,
        };
        match order {
            Ordering::Equal => {
                if let (Some(b), Some(c)) = (base.get(i), now.get(j)) {
                    operations(b.2, c, out);
                }
                (i, j) = (i + 1, j + 1);
            }
            Ordering::Less => {
                if let Some((client, server, b)) = base.get(i) {
                    out.push(
                        Deviation::new(
                            DeviationKind::VanishedConversation,
                            format!(
                                "{client} -> {server} over {} (ports {}; {}) is in the baseline but not in the \
                                 inventory now; last seen {}",
                                b.protocol,
                                ports(b),
                                b.operations.words(),
                                time(b.last_seen_ns)
                            ),
                        )
                        .conversation(b, client)
                        .with_server(server)
                        .classes(Some(b.operations), None)
                        .seen(b.first_seen_ns, b.last_seen_ns),
                    );
                }
                i += 1;
            }
            Ordering::Greater => {
                if let Some(c) = now.get(j) {
                    out.push(
                        Deviation::new(
                            DeviationKind::NewConversation,
                            format!(
                                "{} -> {} over {} (ports {}; {}) is not in the baseline; first seen {}",
                                c.client,
                                c.server,
                                c.protocol,
                                ports(c),
                                c.operations.words(),
                                time(c.first_seen_ns)
                            ),
                        )
                        .conversation(c, &c.client)
                        .classes(None, Some(c.operations))
                        .seen(c.first_seen_ns, c.last_seen_ns),
                    );
                }
                j += 1;
            }
        }
    }
}

impl Deviation {
    fn with_server(mut self, server: &str) -> Self {
        if let Some(k) = self.conversation.as_mut() {
            k.server = server.to_string();
        }
        self
    }

    fn classes(mut self, before: Option<Classes>, after: Option<Classes>) -> Self {
        self.before = before.map(Classes::words);
        self.after = after.map(Classes::words);
        self
    }
}

fn ports(c: &ConversationState) -> String {
    c.ports.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
}

/// Operation classes new on a conversation both snapshots have.
fn operations(b: &ConversationState, c: &ConversationState, out: &mut Vec<Deviation>) {
    for class in c.operations.without(b.operations).iter() {
        let mut d = Deviation::new(
            DeviationKind::NewOperation,
            format!(
                "{} sent {} requests to {} over {}; the baseline saw only {}",
                c.client,
                class.name(),
                c.server,
                c.protocol,
                b.operations.words()
            ),
        )
        .conversation(c, &c.client)
        .classes(Some(b.operations), Some(c.operations));
        // The inventory counts classes per conversation, not when each was
        // first sent: no first sighting is claimed, only the conversation's last.
        d.last_seen_ns = Some(c.last_seen_ns);
        d.operation = Some(class);
        out.push(d);
    }
}
