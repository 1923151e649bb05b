//! The VolSync front end: `ReplicationSource` / `ReplicationDestination`
//! objects with `spec.kopia`, and `KopiaMaintenance`, lowered into the same
//! BackupPlan model native plans use, so every feature is implemented once.
//! `docs/volsync-compatibility.md` lists every field and what becomes of it.

pub mod convert;
pub mod crd;
pub mod error;
mod lower;
pub mod parse;
pub mod report;
pub mod types;

pub use lower::{Lowered, lower};
pub use parse::{VolSyncInput, VolSyncObject};

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
    /// Settings are not inferred from the workloads of the input
    /// (`--no-infer`). (Not VolSync's alone: every input reads it.)
    pub no_infer: bool,
    /// The caller writes the input's own objects itself (the
    /// post-renderer): the input's context objects are read, not copied
    /// into the output, and the caller checks their names against the
    /// generated objects'. (Not VolSync's alone either.)
    pub input_written_by_caller: bool,
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

#[cfg(test)]
mod tests {
    /// The VolSync front end feeds `resolve`; it must never reach back into
    /// it (shared rules live in `model`). Every file of `src/volsync` is
    /// read, so a new one is covered too.
    #[test]
    fn the_front_end_does_not_import_resolve() {
        fn files(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).expect("src/volsync is readable") {
                let path = entry.expect("a directory entry").path();
                if path.is_dir() {
                    files(&path, found);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    found.push(path);
                }
            }
        }
        let mut found = Vec::new();
        files(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/volsync"),
            &mut found,
        );
        assert!(found.len() > 5, "{found:?}");
        let forbidden = ["crate", "::resolve"].concat();
        for path in found {
            let text = std::fs::read_to_string(&path).expect("a readable source file");
            assert!(
                !text.contains(&forbidden),
                "{} imports the resolve stage",
                path.display()
            );
        }
    }
}
