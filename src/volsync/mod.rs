//! The VolSync front end: `ReplicationSource` / `ReplicationDestination`
//! objects with `spec.kopia`, and `KopiaMaintenance`, lowered into the same
//! BackupPlan model native plans use, so every feature is implemented once.
//! `docs/volsync-compatibility.md` lists every field and what becomes of it.

pub mod convert;
pub mod crd;
mod lower;
pub mod types;

pub use lower::{Lowered, lower};

/// How VolSync input is read: choices VolSync makes from cluster state that
/// a compiler has to be told.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Unknown VolSync fields are errors instead of warnings.
    pub strict: bool,
    /// Namespaces whose movers are privileged, as if they carried the
    /// `volsync.backube/privileged-movers: "true"` annotation.
    pub privileged_namespaces: Vec<String>,
    /// The namespace of VolSync objects that name none (as `kubectl -n`).
    pub default_namespace: Option<String>,
}

/// The kinds of the VolSync API group kopiaplan compiles.
pub const KINDS: [&str; 3] = [
    "ReplicationSource",
    "ReplicationDestination",
    "KopiaMaintenance",
];

/// The namespace annotation that makes VolSync's movers privileged.
pub const PRIVILEGED_MOVERS: &str = "volsync.backube/privileged-movers";

/// The Kopia identity that owns maintenance of repositories written by
/// VolSync objects: the one VolSync's KopiaMaintenance claims.
pub const MAINTENANCE_OWNER: &str = "maintenance@volsync";
