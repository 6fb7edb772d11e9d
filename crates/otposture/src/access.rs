//! Who may change what: `otposture users` and the checks the changing
//! commands make before they change anything.
//!
//! Users are the operating-system users the CLI runs as (`$USER`). Roles, each
//! allowing what the ones before it allow:
//! - `viewer`: reads;
//! - `analyst`: acknowledges and reopens findings;
//! - `engineer`: accepts risks, baselines and site files (policy), sets asset
//!   roles, imports the asset register;
//! - `admin`: adds, changes and removes users.
//!
//! While no user is registered, everyone may do everything (a new database),
//! and the first user added must be an admin. Analysing captures and running
//! assessments record what the network shows, not a decision, and need no role.
//! Every change is logged in `otposture audit`. The database file's own
//! permissions still decide who can open it at all.

use crate::assets::{actor, now_secs};
use clap::{Args, Subcommand, ValueEnum};
use otposture_store::Store;
use std::path::PathBuf;

/// A role, weakest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub(crate) enum Role {
    /// Reads.
    Viewer,
    /// Acknowledges and reopens findings.
    Analyst,
    /// Accepts risks, baselines and site files; sets asset roles; imports the register.
    Engineer,
    /// Manages users.
    Admin,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Engineer => "engineer",
            Role::Admin => "admin",
        }
    }

    fn parse(s: &str) -> Option<Role> {
        [Role::Viewer, Role::Analyst, Role::Engineer, Role::Admin].into_iter().find(|r| r.name() == s)
    }
}

/// A change refused to the user running the command (exit code 5).
#[derive(Debug, thiserror::Error)]
#[error("{user} ({have}) may not {what}: that needs the {need} role (otposture users lists who has which)")]
pub(crate) struct Refused {
    user: String,
    have: String,
    what: &'static str,
    need: &'static str,
}

/// Fails with [`Refused`] unless the user running the command holds `need`
/// (or no user is registered yet).
pub(crate) fn require(store: &Store, need: Role, what: &'static str) -> anyhow::Result<()> {
    if store.users()?.is_empty() {
        return Ok(());
    }
    let user = actor();
    let have = store.user_role(&user)?;
    if have.as_deref().and_then(Role::parse).is_some_and(|r| r >= need) {
        return Ok(());
    }
    Err(Refused { user, have: have.unwrap_or_else(|| "not a registered user".into()), what, need: need.name() }.into())
}

#[derive(Args, Debug)]
pub(crate) struct UsersArgs {
    #[command(subcommand)]
    command: Option<UsersCommand>,
}

#[derive(Subcommand, Debug)]
enum UsersCommand {
    /// Adds a user or changes their role (admin; the first user must be an admin).
    Add {
        /// The operating-system user name.
        name: String,
        /// Their role.
        #[arg(long, value_enum)]
        role: Role,
    },
    /// Removes a user (admin; the last admin cannot be removed).
    Remove {
        /// The user name.
        name: String,
    },
}

pub(crate) fn users(a: UsersArgs, db: Option<PathBuf>) -> anyhow::Result<u8> {
    let mut store = Store::open(&crate::require_db(db)?)?;
    match a.command {
        None => {
            let users = store.users()?;
            if users.is_empty() {
                println!("no users: everyone may change everything (otposture users add NAME --role admin)");
            }
            for u in users {
                println!("{:<20} {:<9} added by {} at {} (unix)", u.name, u.role, u.added_by, u.added_at_secs);
            }
            Ok(crate::exit::OK)
        }
        Some(UsersCommand::Add { name, role }) => {
            let users = store.users()?;
            if users.is_empty() {
                anyhow::ensure!(
                    role == Role::Admin,
                    "the first user must be an admin (otposture users add {name} --role admin)"
                );
            } else {
                require(&store, Role::Admin, "manage users")?;
                let admins = users.iter().filter(|u| u.role == "admin" && u.name != name).count();
                anyhow::ensure!(role == Role::Admin || admins > 0, "{name} is the last admin: add another admin first");
            }
            store.set_user(&name, role.name(), (now_secs(), &actor()))?;
            println!("{name}: {} (by {}, logged)", role.name(), actor());
            Ok(crate::exit::OK)
        }
        Some(UsersCommand::Remove { name }) => {
            require(&store, Role::Admin, "manage users")?;
            let users = store.users()?;
            let other_admins = users.iter().filter(|u| u.role == "admin" && u.name != name).count();
            let is_admin = users.iter().any(|u| u.name == name && u.role == "admin");
            anyhow::ensure!(!is_admin || other_admins > 0, "{name} is the last admin: add another admin first");
            if !store.remove_user(&name, (now_secs(), &actor()))? {
                anyhow::bail!("no user {name}");
            }
            println!("{name}: removed (by {}, logged)", actor());
            Ok(crate::exit::OK)
        }
    }
}
