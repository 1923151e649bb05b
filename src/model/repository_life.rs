//! The resolved parts of a repository's life: creation options and
//! throttle as Kopia flags, quick and full maintenance, and replicas.

pub use crate::plan::{Ownership, ReplicaMode};

use super::{Entry, RepositoryLocation};

/// A repository's options as the flags the movers pass, each checked
/// against Kopia 0.23.1's grammar.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepositoryOptions {
    /// `kopia repository create` flags (`creation`), only when a backup
    /// creates the repository.
    pub create_flags: Vec<String>,
    /// `kopia repository set-parameters` flags (`creation`'s epoch
    /// parameters), right after creation.
    pub parameter_flags: Vec<String>,
    /// `kopia repository throttle set` flags, on every run.
    pub throttle_flags: Vec<String>,
}

/// Which maintenance a maintenance entry runs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum MaintenanceMode {
    Quick,
    Full,
    /// `kopia repository change-password`, the new password from this key
    /// of the repository Secret.
    ChangePassword {
        new_password_key: String,
    },
}

impl MaintenanceMode {
    pub fn as_str(&self) -> &'static str {
        match self {
            MaintenanceMode::Quick => "quick",
            MaintenanceMode::Full => "full",
            MaintenanceMode::ChangePassword { .. } => "change-password",
        }
    }
}

/// An off-site copy of a repository.
#[derive(Debug, Clone, PartialEq)]
pub struct Replica {
    /// Named `<repository>-<replica>`; its identity is the repository's
    /// maintenance owner, its repository the source.
    pub entry: Entry,
    /// The replica's own name.
    pub replica: String,
    pub mode: ReplicaMode,
    pub delete_extra: bool,
    /// The Secret with the destination's credentials.
    pub secret_name: String,
    /// Where the copy goes.
    pub destination: RepositoryLocation,
    /// A disaster-recovery seed: the copy runs from the replica into the
    /// (empty) repository.
    pub seed: bool,
}

/// Quick or full maintenance of one repository, owned by one identity.
#[derive(Debug, Clone, PartialEq)]
pub struct Maintenance {
    pub mode: MaintenanceMode,
    /// `Yield`: run only while the owner holds the role.
    pub ownership: Ownership,
    /// Named after the repository; its identity is the maintenance owner
    /// this job claims and runs as.
    pub entry: Entry,
    /// Where the owner is decided (`maintenance.owner`, else the block or
    /// the repository), for diagnostics across plans.
    pub owner_span: crate::diagnostics::Span,
    pub owner_field: String,
    /// The entries whose snapshots live in this repository (for reviewers).
    pub serves: Vec<String>,
}
