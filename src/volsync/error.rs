//! What can go wrong reading VolSync objects (the parse step) and lowering
//! them into plans. Each variant carries its details; `Display` is the
//! sentence a user reads, and the help (how to fix it) is given where the
//! problem is found.

use std::fmt;

use super::parse::DEBUG_MOVER;
use crate::diagnostics::{Code, DiagnosticKind, Severity};
use crate::schema::{Problem, describe};

/// Problems reading a VolSync document into a typed object.
#[derive(Debug, Clone, PartialEq)]
pub enum VolSyncError {
    /// `volsync.backube/enable-debug-mover` (a warning).
    DebugMoverIgnored,
    /// A VolSync kind kopiaplan does not compile.
    KindNotCompiled { kind: String },
    /// The object uses another mover than Kopia.
    OtherMover { mover: String },
    /// A ReplicationSource or ReplicationDestination without `spec.kopia`.
    NoKopia { kind: String },
    /// The CRD schema refuses the object; `pruned` unknown fields are only
    /// dropped (a warning), as VolSync's API server drops them.
    Schema { problem: Problem, pruned: bool },
    /// The object passes the schema but cannot be read.
    Unreadable { reason: String },
}

impl fmt::Display for VolSyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DebugMoverIgnored => write!(
                f,
                "`{DEBUG_MOVER}` is not used: kopiaplan's movers have no debug mode"
            ),
            Self::KindNotCompiled { kind } => {
                write!(f, "kopiaplan does not compile VolSync `{kind}` objects")
            }
            Self::OtherMover { mover } => write!(
                f,
                "this object uses VolSync's `{mover}` mover; kopiaplan compiles only the Kopia mover"
            ),
            Self::NoKopia { kind } => write!(f, "this {kind} has no `spec.kopia`"),
            Self::Schema { problem, pruned } => {
                let (message, _) = describe(problem);
                if *pruned {
                    write!(
                        f,
                        "{message}; VolSync's API server drops it, and so does kopiaplan"
                    )
                } else {
                    f.write_str(&message)
                }
            }
            Self::Unreadable { reason } => write!(f, "cannot read this VolSync object: {reason}"),
        }
    }
}

impl DiagnosticKind for VolSyncError {
    fn code(&self) -> Code {
        match self {
            Self::DebugMoverIgnored => Code::VolsyncFieldIgnored,
            Self::KindNotCompiled { .. } => Code::VolsyncKindNotCompiled,
            Self::OtherMover { .. } => Code::VolsyncOtherMover,
            Self::NoKopia { .. } => Code::VolsyncNoKopia,
            Self::Schema { problem, .. } => problem.code(),
            Self::Unreadable { .. } => Code::VolsyncUnreadable,
        }
    }

    fn severity(&self) -> Severity {
        match self {
            Self::DebugMoverIgnored | Self::Schema { pruned: true, .. } => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

/// Problems lowering typed VolSync objects into plans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LowerError {
    // Warnings: a setting kopiaplan does not use.
    ScheduleOverriddenByManual,
    AccessModesUnused {
        modes: Vec<String>,
    },
    CleanupTempPvcUnsupported,
    CleanupCachePvcUnsupported,
    ShallowIgnored {
        shallow: i64,
    },
    CustomCaWithoutKey,
    ContainerSecurityContextIgnored,
    // Warnings: a setting kopiaplan carries out differently.
    NoNamespace,
    PolicyFlag {
        flag: String,
        field: String,
    },
    ParallelFlag {
        value: u32,
    },
    MaintenanceMonthly {
        days: i64,
    },
    SecretSettingRead {
        secret: String,
        key: String,
        field: String,
    },
    SecretSettingOverridden {
        secret: String,
        key: String,
        instead: String,
    },
    // Errors: a setting the object needs.
    NoName,
    NoTrigger {
        kind: String,
    },
    NoSourcePvc,
    SourceCopyMethodUnset,
    DestinationCopyMethodUnset,
    NoDestinationSize,
    HalfIdentity,
    NoRepository,
    // Errors: a value VolSync would fail on.
    NegativeCacheLimit {
        field: String,
        value: i64,
    },
    MaintenanceIntervalTooShort {
        days: i64,
    },
    CloneOnDestination,
    NegativePrevious {
        previous: i64,
    },
    BothMaintenanceTriggers,
    SourceNotInInput {
        name: String,
        namespace: String,
    },
}

impl fmt::Display for LowerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ScheduleOverriddenByManual => f.write_str("`trigger.manual` is set, so the schedule is not used (VolSync does the same while a manual tag is set)"),
            Self::AccessModesUnused { modes } => write!(f, "`accessModes` ({}) is not used: the point-in-time copy gets the source PVC's access modes when the PVC is in the input or the cluster context, else ReadWriteOnce", modes.join(", ")),
            Self::CleanupTempPvcUnsupported => f.write_str("`cleanupTempPVC` is not supported: the provisioned destination PVC is kept after each restore"),
            Self::CleanupCachePvcUnsupported => f.write_str("`cleanupCachePVC` is not supported: a cache PVC is kept between runs"),
            Self::ShallowIgnored { shallow } => write!(f, "`shallow: {shallow}` has no effect: the snapshot is chosen by `previous` and `restoreAsOf` alone (VolSync's `shallow` only repeats `previous`)"),
            Self::CustomCaWithoutKey => f.write_str("`customCA` has no `key`, so it is ignored (as VolSync ignores it)"),
            Self::ContainerSecurityContextIgnored => f.write_str("`containerSecurityContext` is not used: kopiaplan's maintenance container always runs with the restricted settings (no privilege escalation, all capabilities dropped, read-only root)"),
            Self::NoNamespace => f.write_str("this object names no namespace; it is compiled for the namespace `default`"),
            Self::PolicyFlag { flag, field } => write!(f, "`{flag}` is a policy setting, not a flag of `kopia snapshot create`; it becomes the source's policy `files.{field}`"),
            Self::ParallelFlag { value } => write!(f, "`--parallel={value}` is not passed to `kopia snapshot create` (kopiaplan sets `--parallel` from `parallelism`); it becomes the source's upload parallelism, policy `upload.maxParallelFileReads: {value}`"),
            Self::MaintenanceMonthly { days } => write!(f, "maintenance every {days} days is run monthly instead"),
            Self::SecretSettingRead { secret, key, field } => write!(f, "the repository Secret `{secret}` sets `{key}`: it becomes the plan's `spec.kopia.logging.{field}` (VolSync's backup and restore movers never received it)"),
            Self::SecretSettingOverridden { secret, key, instead } => write!(f, "the repository Secret `{secret}` sets `{key}`, which kopiaplan does not take from the Secret: {instead}"),
            Self::NoName => f.write_str("this object has no name"),
            Self::NoTrigger { kind } => write!(f, "this {kind} has no trigger: VolSync would run it back to back, forever"),
            Self::NoSourcePvc => f.write_str("this ReplicationSource names no `sourcePVC`"),
            Self::SourceCopyMethodUnset => f.write_str("`copyMethod` is not set; VolSync fails such a ReplicationSource with \"unsupported copyMethod\""),
            Self::DestinationCopyMethodUnset => f.write_str("`copyMethod` is not set; VolSync restores, then fails such a ReplicationDestination forever"),
            Self::NoDestinationSize => f.write_str("with no `destinationPVC`, VolSync provisions the destination volume and needs its `capacity` and `accessModes`"),
            Self::HalfIdentity => f.write_str("a ReplicationDestination with `username` needs `hostname` too, and the other way round"),
            Self::NoRepository => f.write_str("no repository: `spec.kopia.repository` names no Secret"),
            Self::NegativeCacheLimit { field, value } => write!(f, "`{field}` is {value}"),
            Self::MaintenanceIntervalTooShort { days } => write!(f, "`maintenanceIntervalDays` is {days}; it must be at least 1"),
            Self::CloneOnDestination => f.write_str("`copyMethod: Clone` does not work on a ReplicationDestination (VolSync fails after the restore)"),
            Self::NegativePrevious { previous } => write!(f, "`previous` is {previous}; it counts snapshots to skip"),
            Self::BothMaintenanceTriggers => f.write_str("a KopiaMaintenance takes `trigger.schedule` or `trigger.manual`, not both"),
            Self::SourceNotInInput { name, namespace } => write!(f, "no repository: VolSync would read it from the ReplicationSource `{name}` in `{namespace}`, which is not in the input"),
        }
    }
}

impl DiagnosticKind for LowerError {
    fn code(&self) -> Code {
        match self {
            Self::ScheduleOverriddenByManual
            | Self::AccessModesUnused { .. }
            | Self::CleanupTempPvcUnsupported
            | Self::CleanupCachePvcUnsupported
            | Self::ShallowIgnored { .. }
            | Self::CustomCaWithoutKey
            | Self::ContainerSecurityContextIgnored => Code::VolsyncFieldIgnored,
            Self::NoNamespace
            | Self::PolicyFlag { .. }
            | Self::ParallelFlag { .. }
            | Self::MaintenanceMonthly { .. }
            | Self::SecretSettingRead { .. } => Code::VolsyncFieldTranslated,
            Self::SecretSettingOverridden { .. } => Code::VolsyncFieldIgnored,
            Self::NoName
            | Self::NoTrigger { .. }
            | Self::NoSourcePvc
            | Self::SourceCopyMethodUnset
            | Self::DestinationCopyMethodUnset
            | Self::NoDestinationSize
            | Self::HalfIdentity
            | Self::NoRepository => Code::VolsyncMissingSetting,
            Self::NegativeCacheLimit { .. }
            | Self::MaintenanceIntervalTooShort { .. }
            | Self::CloneOnDestination
            | Self::NegativePrevious { .. }
            | Self::BothMaintenanceTriggers => Code::VolsyncInvalidSetting,
            Self::SourceNotInInput { .. } => Code::VolsyncSourceNotInInput,
        }
    }

    fn severity(&self) -> Severity {
        match self.code() {
            Code::VolsyncFieldIgnored | Code::VolsyncFieldTranslated => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

/// Problems writing `kopiaplan convert`'s output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConvertError {
    /// `what` (a converted plan, a kept document) could not be written.
    WriteFailed { what: &'static str, reason: String },
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WriteFailed { what, reason } => write!(f, "cannot write {what}: {reason}"),
        }
    }
}

impl DiagnosticKind for ConvertError {
    fn code(&self) -> Code {
        match self {
            Self::WriteFailed { .. } => Code::ConvertWriteFailed,
        }
    }
}
