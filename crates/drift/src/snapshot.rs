//! The baseline document (`otposture.baseline/1`): what the inventory said at
//! one moment, reduced to what drift is judged on — each asset's addresses,
//! role and identity (with its modules), and each conversation's operation
//! classes. Counters (packets, bytes, flows) are left out: they grow with every
//! capture and are not drift.

use otposture_inventory::{Asset, Edge, Field, Inventory};
use otposture_model::OperationClass;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The `schema` of a snapshot document.
pub const SCHEMA: &str = "otposture.baseline/1";

/// The inventory at one moment, as a baseline keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// When it was taken (wall clock), ns since the epoch.
    pub taken_at_ns: i64,
    /// Assets, ordered by id.
    pub assets: Vec<AssetState>,
    /// Conversations, ordered by client, server and protocol.
    pub conversations: Vec<ConversationState>,
}

/// How far an identity value can be trusted (the inventory's confidence).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Inferred indirectly (a MAC prefix names the network card's maker).
    Low,
    /// Implied by the protocol or by behaviour.
    Medium,
    /// Stated by the device itself.
    High,
}

impl From<otposture_inventory::Confidence> for Confidence {
    fn from(c: otposture_inventory::Confidence) -> Self {
        match c {
            otposture_inventory::Confidence::Low => Confidence::Low,
            otposture_inventory::Confidence::Medium => Confidence::Medium,
            otposture_inventory::Confidence::High => Confidence::High,
        }
    }
}

/// One identity value: the headline value of a field, and when it was said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stated {
    /// The value (vendor names normalised).
    pub value: String,
    /// How far it can be trusted.
    pub confidence: Confidence,
    /// When this value was first said, ns since the epoch (packet time).
    pub first_seen_ns: i64,
    /// When it was last said.
    pub last_seen_ns: i64,
}

/// The identity fields drift is judged on. A field the inventory does not
/// hold is `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Manufacturer.
    pub vendor: Option<Stated>,
    /// Product or model name.
    pub model: Option<Stated>,
    /// Vendor order number (Siemens MLFB, Rockwell catalogue number).
    pub order_number: Option<Stated>,
    /// Firmware or software version.
    pub firmware: Option<Stated>,
    /// Hardware version.
    pub hardware: Option<Stated>,
    /// Serial number.
    pub serial: Option<Stated>,
}

impl Identity {
    /// The fields, by their names in deviations, in this order.
    pub const FIELDS: [&'static str; 6] = ["vendor", "model", "order_number", "firmware", "hardware", "serial"];

    /// A field by name (one of [`Identity::FIELDS`]).
    pub fn get(&self, field: &str) -> Option<&Stated> {
        match field {
            "vendor" => self.vendor.as_ref(),
            "model" => self.model.as_ref(),
            "order_number" => self.order_number.as_ref(),
            "firmware" => self.firmware.as_ref(),
            "hardware" => self.hardware.as_ref(),
            "serial" => self.serial.as_ref(),
            _ => None,
        }
    }

    /// True when no field is held.
    pub fn is_empty(&self) -> bool {
        Identity::FIELDS.iter().all(|f| self.get(f).is_none())
    }

    /// The fields held, in words: `vendor Siemens, model CPU 315-2 PN/DP`.
    pub fn describe(&self) -> String {
        Identity::FIELDS
            .iter()
            .filter_map(|f| self.get(f).map(|s| format!("{f} {}", s.value)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn slot(&mut self, field: Field) -> Option<&mut Option<Stated>> {
        match field {
            Field::Vendor => Some(&mut self.vendor),
            Field::Model => Some(&mut self.model),
            Field::OrderNumber => Some(&mut self.order_number),
            Field::Firmware => Some(&mut self.firmware),
            Field::Hardware => Some(&mut self.hardware),
            Field::Serial => Some(&mut self.serial),
            _ => None,
        }
    }

    fn of(asset: &Asset) -> Self {
        let mut id = Identity::default();
        for a in &asset.attributes {
            let Some(slot) = id.slot(a.field) else { continue };
            // The headline value's own record: its confidence and when it was said.
            let Some(v) = a.values.iter().find(|v| v.value == a.value) else { continue };
            *slot = Some(Stated {
                value: v.value.clone(),
                confidence: v.confidence.into(),
                first_seen_ns: v.first.ts_ns,
                last_seen_ns: v.last.ts_ns,
            });
        }
        id
    }
}

/// A module reached through an asset (a card in its rack), by its route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleState {
    /// The route from the asset: `1/0` (CIP backplane port 1, slot 0), `rack 0 slot 2` (S7).
    pub route: String,
    /// What it stated about itself (each value at the time of its latest report).
    pub identity: Identity,
}

/// One asset as the baseline keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetState {
    /// The inventory's id (`mac-…`, `ip-…`).
    pub id: String,
    /// Its role (`controller`, ...), as decided or overridden.
    pub role: String,
    /// MAC addresses, lower-case text.
    pub macs: Vec<String>,
    /// IP addresses, canonical text.
    pub ips: Vec<String>,
    /// VLANs it was seen on.
    pub vlans: Vec<u16>,
    /// First seen, ns since the epoch.
    pub first_seen_ns: i64,
    /// Last seen.
    pub last_seen_ns: i64,
    /// Its identity fields.
    pub identity: Identity,
    /// Modules reached through it, ordered by route.
    pub modules: Vec<ModuleState>,
}

impl AssetState {
    /// The asset in a few words: `controller; vendor Siemens, ...; 10.0.0.5`.
    pub fn describe(&self) -> String {
        let mut parts = vec![self.role.clone()];
        if !self.identity.is_empty() {
            parts.push(self.identity.describe());
        }
        let addresses = if self.ips.is_empty() { self.macs.join(" ") } else { self.ips.join(" ") };
        if !addresses.is_empty() {
            parts.push(addresses);
        }
        parts.join("; ")
    }

    fn of(a: &Asset) -> Self {
        let mut modules: Vec<ModuleState> = a
            .modules
            .iter()
            .map(|m| {
                let mut identity = Identity::default();
                for (field, value) in &m.attributes {
                    if let Some(slot) = identity.slot(*field) {
                        // A module's fields are its latest report: it stated them.
                        *slot = Some(Stated {
                            value: value.clone(),
                            confidence: Confidence::High,
                            first_seen_ns: m.last.ts_ns,
                            last_seen_ns: m.last.ts_ns,
                        });
                    }
                }
                ModuleState { route: m.route.clone(), identity }
            })
            .collect();
        modules.sort_by(|x, y| x.route.cmp(&y.route));
        AssetState {
            id: a.id.clone(),
            role: a.role.role.name().to_string(),
            macs: a.macs.iter().map(ToString::to_string).collect(),
            ips: a.ips.iter().map(ToString::to_string).collect(),
            vlans: a.vlans.clone(),
            first_seen_ns: a.first_seen_ns,
            last_seen_ns: a.last_seen_ns,
            identity: Identity::of(a),
            modules,
        }
    }
}

/// Operation classes in name order: bit `i` of [`Classes`] is `CLASSES[i]`.
const CLASSES: [OperationClass; 11] = OperationClass::BY_NAME;

/// A set of operation classes, two bytes: a plant has a million conversations.
/// In JSON a list of class names in name order (`["read", "write"]`); a name
/// this build does not know reads as `unknown`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Classes(u16);

impl Classes {
    fn bit(class: OperationClass) -> u16 {
        CLASSES.iter().position(|c| *c == class).map_or(0, |i| 1 << i)
    }

    /// Adds a class.
    pub fn insert(&mut self, class: OperationClass) {
        self.0 |= Classes::bit(class);
    }

    /// True when the class is in the set.
    pub fn contains(self, class: OperationClass) -> bool {
        self.0 & Classes::bit(class) != 0
    }

    /// True when the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The classes in `self` that are not in `other`.
    pub fn without(self, other: Classes) -> Classes {
        Classes(self.0 & !other.0)
    }

    /// The classes, in name order.
    pub fn iter(self) -> impl Iterator<Item = OperationClass> {
        CLASSES.into_iter().filter(move |c| self.contains(*c))
    }

    /// The class names joined by spaces (`read write`), `none` when empty.
    pub fn words(self) -> String {
        if self.is_empty() {
            return "none".to_string();
        }
        self.iter().map(OperationClass::name).collect::<Vec<_>>().join(" ")
    }
}

impl FromIterator<OperationClass> for Classes {
    fn from_iter<I: IntoIterator<Item = OperationClass>>(iter: I) -> Self {
        let mut c = Classes::default();
        for class in iter {
            c.insert(class);
        }
        c
    }
}

impl Serialize for Classes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(OperationClass::name))
    }
}

impl<'de> Deserialize<'de> for Classes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let names: Vec<String> = Vec::deserialize(d)?;
        Ok(names.iter().map(|n| OperationClass::parse(n).unwrap_or(OperationClass::Unknown)).collect())
    }
}

/// One conversation (client asset, server asset, application protocol) as
/// the baseline keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationState {
    /// The initiating asset's id (or `ip-<address>` for an address no asset holds).
    pub client: String,
    /// The answering asset's id (or `ip-<address>`).
    pub server: String,
    /// Application protocol (`modbus`), or the transport when none was recognised.
    pub protocol: String,
    /// Server ports.
    pub ports: Vec<u16>,
    /// Operation classes the client sent requests of.
    pub operations: Classes,
    /// First seen, ns since the epoch.
    pub first_seen_ns: i64,
    /// Last seen.
    pub last_seen_ns: i64,
}

impl ConversationState {
    fn of(e: &Edge) -> Self {
        ConversationState {
            client: e.client.id.clone(),
            server: e.server.id.clone(),
            protocol: e.protocol.clone(),
            ports: e.ports.clone(),
            operations: e.operations.iter().map(|(class, _)| class).collect(),
            first_seen_ns: e.first_seen_ns,
            last_seen_ns: e.last_seen_ns,
        }
    }

    /// Its key: (client, server, protocol).
    pub fn key(&self) -> (&str, &str, &str) {
        (&self.client, &self.server, &self.protocol)
    }
}

impl Snapshot {
    /// The snapshot of an inventory, taken at `taken_at_ns` (wall clock).
    pub fn of(inventory: &Inventory, taken_at_ns: i64) -> Self {
        let mut assets: Vec<AssetState> = inventory.assets.iter().map(AssetState::of).collect();
        if !assets.is_sorted_by(|a, b| a.id <= b.id) {
            assets.sort_by(|a, b| a.id.cmp(&b.id));
        }
        let mut conversations: Vec<ConversationState> =
            inventory.edges.iter().map(|e| ConversationState::of(&e)).collect();
        if !conversations.is_sorted_by(|a, b| a.key() <= b.key()) {
            conversations.sort_by(|a, b| a.key().cmp(&b.key()));
        }
        Snapshot { schema: SCHEMA.to_string(), taken_at_ns, assets, conversations }
    }
}
