//! The code and severity of each [`ResolveError`]: what `--diagnostics
//! json` and docs/diagnostics.md name it by.

use super::error::ResolveError;
use super::selection_error::SelectionError;
use crate::diagnostics::{Code, DiagnosticKind, Severity};

impl DiagnosticKind for ResolveError {
    fn code(&self) -> Code {
        match self {
            Self::InvalidName { .. } => Code::InvalidName,
            Self::InvalidPath { .. } => Code::InvalidPath,
            Self::NotAKopiaValue { .. } => Code::NotAKopiaValue,
            Self::ObjectMissingKey { .. } => Code::ObjectMissingKey,
            Self::RootNeedsPrivileged => Code::RootNeedsPrivileged,
            Self::OutsideRestrictedProfile { .. } => Code::OutsideRestrictedProfile,
            Self::InvalidQuantity { .. } => Code::InvalidQuantity,
            Self::DuplicateRepository { .. } | Self::DuplicateEntry { .. } => Code::DuplicateName,
            Self::UnknownRepository { .. } => Code::UnknownRepository,
            Self::NoRepository { .. } => Code::NoRepository,
            Self::NoNamespace { .. } => Code::NoNamespace,
            Self::SecretMissingKey { .. } => Code::RepositorySecretMissingKey,
            Self::Schedule { .. } => Code::InvalidSchedule,
            Self::BelowMinimum { .. } => Code::BelowMinimum,
            Self::SourceCollision { .. } => Code::SourceCollision,
            Self::NameCollision { .. } => Code::NameCollision,
            Self::InvalidAcknowledgedEntry { .. } => Code::InvalidAcknowledgement,
            Self::NoTrigger { .. } => Code::NoTrigger,
            Self::KeepsNothing => Code::KeepsNothing,
            Self::SourceNamedTwice { .. }
            | Self::BackupSourceTwice { .. }
            | Self::ConfigMapAndSecret
            | Self::UrlAndFilesystem
            | Self::CustomCaSource
            | Self::MoverVolumeSource
            | Self::ScheduleAndTrigger
            | Self::TriggerKind
            | Self::FullScheduleTwice
            | Self::SettingSetTwice { .. } => Code::ConflictingFields,
            Self::PausedWithoutSchedule
            | Self::SnapshotClassWithoutSnapshot
            | Self::RepositoryWithFrom
            | Self::SourcePathWithFrom
            | Self::SourcePathBesideSourceIdentity
            | Self::WorkloadSelectorWithoutDirect
            | Self::CacheSettingWithClaim { .. }
            | Self::PolicyFileWithoutObject { .. }
            | Self::OnDemandFalse
            | Self::VolumeFieldOnStream { .. }
            | Self::StreamRestoreOfVolume { .. } => Code::FieldNotApplicable,
            Self::NoRestoreSource { .. }
            | Self::NoDestination { .. }
            | Self::HalfIdentity { .. }
            | Self::EmptyPolicyConfig
            | Self::EmptyNfsServer
            | Self::NoBackupSource { .. }
            | Self::EmptyContainerField { .. }
            | Self::NoStreamFileName { .. }
            | Self::HooksWithoutCommand => Code::MissingSetting,
            Self::HookCommandEmpty { .. } => Code::EmptyHookCommand,
            Self::HookSelectorEmpty => Code::EmptyHookSelector,
            Self::UnknownBackup { .. } => Code::UnknownBackup,
            Self::InvalidIdentityPart { .. } | Self::InvalidMaintenanceOwner { .. } => {
                Code::InvalidIdentity
            }
            Self::InvalidInstant { .. } => Code::InvalidInstant,
            Self::InvalidPushgatewayUrl { .. } => Code::InvalidPushgatewayUrl,
            Self::NotAnAccessMode { .. } => Code::ValueNotAllowed,
            Self::DuplicateVerify { .. } => Code::DuplicateName,
            Self::NotAPercentage { .. }
            | Self::ParallelismBelowOne
            | Self::ActionTimeoutZero
            | Self::HookTimeoutZero { .. }
            | Self::NoLogFiles
            | Self::ManualTokenLength
            | Self::CacheTooSmall { .. }
            | Self::TooManyArguments { .. } => Code::OutOfRange,
            Self::DuplicateMountPath { .. } => Code::DuplicateMountPath,
            Self::NfsOutsideRestrictedProfile => Code::NfsOutsideRestrictedProfile,
            Self::CacheMayNotBeWritable { .. } | Self::RepositoryClaimMayNotBeWritable { .. } => {
                Code::MayNotBeWritable
            }
            Self::UnknownPvcSize { .. } => Code::UnknownPvcSize,
            Self::InvalidAdditionalArgument { .. } => Code::InvalidAdditionalArgument,
            Self::ActionsNotEnabled { .. } => Code::ActionsNotEnabled,
            Self::CacheLimitsExceedVolume { .. } => Code::CacheLimitsExceedVolume,
            Self::SharedCacheClaim { .. } => Code::SharedCacheClaim,
            Self::MaintenanceNoNamespace { .. } => Code::NoNamespace,
            Self::ReplicaWithoutMaintenance { .. } => Code::ReplicaWithoutMaintenance,
            Self::MaintenanceOwnerConflict { .. } => Code::MaintenanceOwnerConflict,
            Self::MaintenanceTimingDiffers { .. } => Code::MaintenanceTimingDiffers,
            Self::UnknownRepositoryUrl { .. } => Code::UnknownRepositoryUrl,
            Self::CredentialInUrl { .. } | Self::CredentialInSecretUrl { .. } => {
                Code::CredentialInUrl
            }
            Self::UrlPathIgnored { .. } => Code::UrlPathIgnored,
            Self::CredentialsNotSupported => Code::NotSupportedYet,
            Self::InvalidPolicy { .. } => Code::InvalidPolicy,
            Self::InvalidRepositorySetting { .. } => Code::InvalidRepositorySetting,
            Self::PolicyJsonNotUtf8 { .. }
            | Self::PolicyJsonTooLarge { .. }
            | Self::PolicyJsonNotAnObject { .. }
            | Self::PolicyJsonInvalid { .. } => Code::InvalidPolicyJson,
            Self::InvalidObjectKey { .. } => Code::InvalidName,
            Self::RestoreIgnoresGlobalPolicy => Code::RestoreIgnoresGlobalPolicy,
            Self::PolicyTranslated { .. } => Code::PolicyTranslated,
            Self::PolicyObjectNotInInput { .. } => Code::PolicyObjectNotInInput,
            Self::Selection(problem) => problem.code(),
        }
    }

    fn severity(&self) -> Severity {
        match self {
            Self::OutsideRestrictedProfile {
                privileged: true, ..
            }
            | Self::NfsOutsideRestrictedProfile
            | Self::CacheMayNotBeWritable { .. }
            | Self::RepositoryClaimMayNotBeWritable { .. }
            | Self::CacheLimitsExceedVolume { .. }
            | Self::MaintenanceTimingDiffers { .. }
            | Self::RestoreIgnoresGlobalPolicy
            | Self::UrlPathIgnored { .. }
            | Self::PolicyTranslated { .. }
            | Self::PolicyObjectNotInInput { .. }
            | Self::Selection(SelectionError::EmptySelector { .. }) => Severity::Warning,
            _ => Severity::Error,
        }
    }
}
