//! The inventory as the store keeps it, and the user's role overrides.

use crate::classify::{Decision, Role};
use crate::identity::{Confidence, Field};
use crate::{Asset, Edge, Edges, Inventory};
use otposture_store::{AssetRecord, EdgeRecord, RoleOverride};

/// Puts each override in force: the asset's role becomes the user's, with the
/// reason, who set it and when as evidence; the rules' decision stays among
/// the candidates. Overrides of assets no longer seen, or naming an unknown
/// role, are returned (kept in the store, reported to the user).
pub fn apply_overrides<'a>(inv: &mut Inventory, overrides: &'a [RoleOverride]) -> Vec<&'a RoleOverride> {
    let mut unused = Vec::new();
    for o in overrides {
        let (Some(a), Some(role)) = (inv.assets.iter_mut().find(|a| a.id == o.asset_id), Role::parse(&o.role)) else {
            unused.push(o);
            continue;
        };
        let decision = Decision {
            role,
            level: role.level(),
            rule: "user_override",
            confidence: Confidence::High,
            evidence: vec![format!("set by {} at {} (unix seconds): {}", o.set_by, o.set_at_secs, o.reason)],
        };
        a.candidates.insert(0, decision.clone());
        a.role = decision;
    }
    unused
}

/// Assets and edges as store records, each with its JSON document.
pub fn records(inv: &Inventory) -> Result<(Vec<AssetRecord>, Vec<EdgeRecord>), serde_json::Error> {
    let edges = inv.edges.iter().map(|e| edge_record(&e)).collect::<Result<Vec<_>, _>>()?;
    Ok((asset_records(&inv.assets)?, edges))
}

/// Assets as store records, each with its JSON document.
pub fn asset_records(assets: &[Asset]) -> Result<Vec<AssetRecord>, serde_json::Error> {
    assets
        .iter()
        .map(|a| {
            Ok(AssetRecord {
                id: a.id.clone(),
                role: a.role.role.name().to_string(),
                level: a.role.level,
                rule: a.role.rule.to_string(),
                vendor: a.get(Field::Vendor).map(str::to_string),
                model: a.get(Field::Model).map(str::to_string),
                firmware: a.get(Field::Firmware).map(str::to_string),
                first_seen_ns: a.first_seen_ns,
                last_seen_ns: a.last_seen_ns,
                doc: serde_json::to_string(a)?,
            })
        })
        .collect()
}

/// Edges as store records, made one at a time as the edges are consumed
/// (for [`otposture_store::Store::replace_inventory_from`]).
pub fn edge_records(edges: Edges) -> impl Iterator<Item = Result<EdgeRecord, serde_json::Error>> {
    edges.into_iter().map(|e| edge_record(&e))
}

fn edge_record(e: &Edge) -> Result<EdgeRecord, serde_json::Error> {
    Ok(EdgeRecord {
        client: e.client.id.clone(),
        server: e.server.id.clone(),
        protocol: e.protocol.clone(),
        trust: e.trust.iter().map(|t| (*t).to_string()).collect(),
        doc: serde_json::to_string(e)?,
    })
}
