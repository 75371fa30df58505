//! Who may do what: roles per block and year, and the rights they carry.
//!
//! A block record is one block in one year, so a grant on a block is a role for that year.
//! The server checks every mutation and every pulled change with these rules; the app uses
//! the same ones to hide what the user may not do.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A role in one block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The block head's staff: runs the covenant, rounds and ballots.
    Secretary,
    /// Scores, signs and votes for one member unit.
    Delegate,
    /// Reads only (the projector screen).
    Observer,
}

impl Role {
    /// The role as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Secretary => "secretary",
            Role::Delegate => "delegate",
            Role::Observer => "observer",
        }
    }

    /// The role named `s`, if any.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "secretary" => Some(Role::Secretary),
            "delegate" => Some(Role::Delegate),
            "observer" => Some(Role::Observer),
            _ => None,
        }
    }
}

/// One role on one block; a delegate's grant names the unit it acts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// The block (one year of it).
    pub block_id: Uuid,
    /// The role.
    pub role: Role,
    /// For a delegate: the member unit.
    #[serde(default)]
    pub unit: Option<Uuid>,
}

/// An authenticated account and its rights.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The account.
    pub account_id: Uuid,
    /// The display name, for the audit log.
    #[serde(default)]
    pub name: String,
    /// Central office administrator: every block, every year.
    pub admin: bool,
    /// Roles per block.
    pub grants: Vec<Grant>,
}

impl Principal {
    /// Whether the account may read records of `scope` (`None`: units, visible to all).
    pub fn can_read(&self, scope: Option<Uuid>) -> bool {
        match scope {
            None => true,
            Some(b) => self.admin || self.grants.iter().any(|g| g.block_id == b),
        }
    }

    /// Whether the account runs `block` (secretary or admin).
    pub fn manages(&self, block: Uuid) -> bool {
        self.admin
            || self
                .grants
                .iter()
                .any(|g| g.block_id == block && g.role == Role::Secretary)
    }

    /// Whether the account runs any block (an administrator or a secretary): the app gives
    /// it the editor module.
    pub fn manages_any(&self) -> bool {
        self.admin || self.grants.iter().any(|g| g.role == Role::Secretary)
    }

    /// Whether the account acts for `unit` in `block` (its delegate).
    pub fn acts_for(&self, block: Uuid, unit: Uuid) -> bool {
        self.grants
            .iter()
            .any(|g| g.block_id == block && g.role == Role::Delegate && g.unit == Some(unit))
    }

    /// The unit the account is a delegate of in `block`, if any.
    pub fn unit_in(&self, block: Uuid) -> Option<Uuid> {
        self.grants
            .iter()
            .find(|g| g.block_id == block && g.role == Role::Delegate)
            .and_then(|g| g.unit)
    }

    /// The blocks whose records the account may read; `None` means all (admin).
    pub fn readable_blocks(&self) -> Option<Vec<Uuid>> {
        if self.admin {
            return None;
        }
        let mut v: Vec<Uuid> = self.grants.iter().map(|g| g.block_id).collect();
        v.sort_unstable();
        v.dedup();
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rights_follow_the_grants() {
        let b1 = Uuid::from_u128(1);
        let b2 = Uuid::from_u128(2);
        let u = Uuid::from_u128(10);
        let p = Principal {
            account_id: Uuid::from_u128(99),
            name: "x".into(),
            admin: false,
            grants: vec![
                Grant {
                    block_id: b1,
                    role: Role::Delegate,
                    unit: Some(u),
                },
                Grant {
                    block_id: b2,
                    role: Role::Secretary,
                    unit: None,
                },
            ],
        };
        assert!(p.can_read(Some(b1)) && p.can_read(Some(b2)) && p.can_read(None));
        assert!(!p.can_read(Some(Uuid::from_u128(3))));
        assert!(p.acts_for(b1, u) && !p.acts_for(b2, u));
        assert!(p.manages(b2) && !p.manages(b1));
        assert!(
            p.manages_any(),
            "a secretary of one block gets the editor module"
        );
        let delegate_only = Principal {
            grants: p.grants[..1].to_vec(),
            ..p.clone()
        };
        assert!(!delegate_only.manages_any());
        assert_eq!(p.unit_in(b1), Some(u));
        assert_eq!(p.readable_blocks(), Some(vec![b1, b2]));
        let admin = Principal {
            admin: true,
            ..Principal::default()
        };
        assert!(admin.manages(b1) && admin.can_read(Some(b2)) && admin.manages_any());
        assert!(
            !admin.acts_for(b1, u),
            "an admin never votes or scores for a unit"
        );
    }
}
