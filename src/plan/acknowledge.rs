//! `spec.acknowledge`: the dangerous changes a plan makes on purpose, each
//! letting one change that `kopiaplan diff --guard` reports pass.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One change `kopiaplan diff --guard` lets pass: its kind, the entry, and
/// the values before and after, exactly as the guard prints them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AcknowledgedChange {
    pub change: GuardedChange,
    /// `<component>/<name>` of an entry of this plan, such as
    /// `backup/web-data` or `maintenance/main-full` (maintenance is named
    /// after its repository and `quick` or `full`).
    pub entry: String,
    /// The value before, as the guard prints it (absent for a removal).
    pub from: Option<String>,
    /// The value after, as the guard prints it (absent for a removal).
    pub to: Option<String>,
}

/// The changes `kopiaplan diff --guard` stops.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum GuardedChange {
    /// A backup's Kopia source (`user@host:path`) changes: its history
    /// stops getting retention, and restores by the new identity miss it.
    IdentityChanges,
    /// A backup writes to another repository: its history stays behind.
    RepositoryChanges,
    /// A retention count decreases: history is deleted at the next
    /// maintenance.
    RetentionDecreases,
    /// A backup entry disappears: its backups stop without a sound.
    BackupRemoved,
    /// A manual Job's pod template changes under the same name: applying
    /// fails on the immutable field.
    ManualJobChanges,
    /// Another identity owns a repository's maintenance.
    MaintenanceOwnerChanges,
    /// A claim kopiaplan creates changes beyond a larger size: applying
    /// fails on the immutable field.
    ClaimChanges,
    /// A repository's `creation` options change: they will not apply to
    /// an existing repository.
    CreationOptionsChange,
}

impl GuardedChange {
    pub fn as_str(self) -> &'static str {
        match self {
            GuardedChange::IdentityChanges => "identity-changes",
            GuardedChange::RepositoryChanges => "repository-changes",
            GuardedChange::RetentionDecreases => "retention-decreases",
            GuardedChange::BackupRemoved => "backup-removed",
            GuardedChange::ManualJobChanges => "manual-job-changes",
            GuardedChange::MaintenanceOwnerChanges => "maintenance-owner-changes",
            GuardedChange::ClaimChanges => "claim-changes",
            GuardedChange::CreationOptionsChange => "creation-options-change",
        }
    }
}
