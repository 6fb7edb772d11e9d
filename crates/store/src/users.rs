//! Users and their roles (schema 10, `0010_users.sql`).

use crate::error::{sql, StoreError};
use crate::inventory::log;
use crate::Store;
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::Serialize;

/// A user and their role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserRow {
    /// The operating-system user name.
    pub name: String,
    /// `viewer`, `analyst`, `engineer` or `admin`.
    pub role: String,
    /// Who added them.
    pub added_by: String,
    /// Unix seconds.
    pub added_at_secs: i64,
}

impl Store {
    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        self.rows("SELECT name, role, added_by, added_at FROM users ORDER BY name", Vec::new(), "listing users", |r| {
            Ok(UserRow { name: r.get(0)?, role: r.get(1)?, added_by: r.get(2)?, added_at_secs: r.get(3)? })
        })
    }

    /// A user's role; `None` for a user not in the table.
    pub fn user_role(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT role FROM users WHERE name = ?1", [name], |r| r.get(0))
            .optional()
            .map_err(sql(&self.path, "reading a user's role"))
    }

    /// Adds a user or changes their role, logging it with the role before.
    pub fn set_user(&mut self, name: &str, role: &str, (at_secs, actor): (i64, &str)) -> Result<(), StoreError> {
        let path = self.path.as_path();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(path, "starting the user change"))?;
        let previous: Option<String> = tx
            .query_row("SELECT role FROM users WHERE name = ?1", [name], |r| r.get(0))
            .optional()
            .map_err(sql(path, "reading the user"))?;
        tx.execute(
            "INSERT INTO users (name, role, added_by, added_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (name) DO UPDATE SET role = excluded.role",
            params![name, role, actor, at_secs],
        )
        .map_err(sql(path, "writing the user"))?;
        log(&tx, path, (at_secs, actor), "set_user", name, &serde_json::json!({ "role": role, "previous": previous }))?;
        tx.commit().map_err(sql(path, "committing the user change"))
    }

    /// Removes a user, logging it; false when there was none.
    pub fn remove_user(&mut self, name: &str, (at_secs, actor): (i64, &str)) -> Result<bool, StoreError> {
        let path = self.path.as_path();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(path, "starting the user change"))?;
        let previous: Option<String> = tx
            .query_row("SELECT role FROM users WHERE name = ?1", [name], |r| r.get(0))
            .optional()
            .map_err(sql(path, "reading the user"))?;
        let Some(previous) = previous else { return Ok(false) };
        tx.execute("DELETE FROM users WHERE name = ?1", [name]).map_err(sql(path, "removing the user"))?;
        log(&tx, path, (at_secs, actor), "remove_user", name, &serde_json::json!({ "previous": previous }))?;
        tx.commit().map_err(sql(path, "committing the user change"))?;
        Ok(true)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn users_are_added_changed_removed_and_logged() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("u.db")).unwrap();
        assert!(store.users().unwrap().is_empty());
        store.set_user("alice", "admin", (1, "alice")).unwrap();
        store.set_user("bob", "analyst", (2, "alice")).unwrap();
        store.set_user("bob", "engineer", (3, "alice")).unwrap();
        assert_eq!(store.user_role("bob").unwrap().as_deref(), Some("engineer"));
        assert_eq!(store.users().unwrap()[1].added_at_secs, 2, "a role change keeps when they were added");
        assert!(store.remove_user("bob", (4, "alice")).unwrap());
        assert!(!store.remove_user("bob", (5, "alice")).unwrap());
        assert_eq!(store.user_role("bob").unwrap(), None);
        let log = store.audit_log(None).unwrap();
        let actions: Vec<_> = log.iter().map(|e| (e.action.as_str(), e.target.as_str())).collect();
        assert_eq!(actions, [("remove_user", "bob"), ("set_user", "bob"), ("set_user", "bob"), ("set_user", "alice")]);
        assert!(log[1].detail.contains("\"previous\":\"analyst\""), "{}", log[1].detail);
    }
}
