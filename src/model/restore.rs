//! Restores and restore drills, resolved: what is restored from where,
//! which snapshot, and how a drill checks it.

use super::{Entry, PolicyFiles, RestoreCheck, RestoreTarget};
use crate::plan::OnMissingSnapshot;

/// A restore of one Kopia source into a PVC.
#[derive(Debug, Clone, PartialEq)]
pub struct Restore {
    /// Its identity is the source restored from, resolved at compile time.
    pub entry: Entry,
    /// A PVC, or a command that reads the snapshot's file (`stream`).
    pub destination: RestoreTarget,
    pub selection: Selection,
    /// `kopia restore --delete-extra`, once a snapshot has been chosen.
    pub delete_extra: bool,
    pub on_missing_snapshot: OnMissingSnapshot,
    /// Restore only into an empty volume (deploy-or-restore).
    pub only_if_empty: bool,
    /// `argocd.argoproj.io/sync-wave` of every object of the restore.
    pub argo_cd_sync_wave: Option<i32>,
    /// List the sources of every hostname when no snapshot matches.
    pub list_all_hostnames: bool,
    /// Take a VolumeSnapshot of the destination after each successful restore.
    pub snapshot_after: Option<SnapshotAfter>,
    /// Extra `kopia restore` arguments, verbatim.
    pub additional_args: Vec<String>,
    /// VolSync-style repository settings (`policyConfig`); never a global
    /// policy.
    pub policy_files: Option<PolicyFiles>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub claim_name: String,
    /// Set when the restore creates the PVC.
    pub create: Option<CreatedPvc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedPvc {
    pub capacity: String,
    pub access_modes: Vec<String>,
    pub storage_class_name: Option<String>,
}

/// Which snapshot a restore picks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selection {
    /// Skip this many of the newest matching snapshots.
    pub previous: u32,
    pub as_of: Option<AsOf>,
}

/// `restoreAsOf`: an instant, whatever offset it was written with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsOf {
    pub written: String,
    /// The same instant in UTC (RFC 3339), for logs.
    pub utc: String,
    /// Nanoseconds since the Unix epoch: what the script compares.
    pub epoch_nanos: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotAfter {
    pub volume_snapshot_class_name: Option<String>,
}

/// A restore drill: `kopia snapshot verify` of a backup's snapshots.
#[derive(Debug, Clone, PartialEq)]
pub struct Verify {
    /// Its identity and repository are the verified backup's.
    pub entry: Entry,
    /// The backup whose snapshots are verified.
    pub backup: String,
    pub files_percent: f64,
    /// List the sources of every hostname when there is no snapshot.
    pub list_all_hostnames: bool,
    pub restore_check: Option<RestoreCheck>,
}
