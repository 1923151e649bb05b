//! The problems resolution reports, as typed kinds: each variant's
//! `Display` is the sentence the user reads, and each maps to a [`Code`].

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// A name, namespace or label that Kubernetes would refuse.
    InvalidName {
        what: String,
        value: String,
        problem: String,
    },
    /// A path that must be absolute (or relative) and is not.
    InvalidPath {
        /// What the path is, such as `mount path`; empty for a field
        /// whose name says it.
        what: String,
        value: String,
        problem: String,
    },
    /// A size that is not a Kubernetes quantity of bytes.
    InvalidQuantity {
        what: String,
        value: String,
        problem: String,
    },
    /// A ConfigMap or Secret of the input lacks the key a field names.
    ObjectMissingKey {
        kind: String,
        namespace: String,
        name: String,
        key: String,
    },
    /// A value Kopia does not accept for a setting (a log level, a
    /// duration, a compression algorithm).
    NotAKopiaValue {
        value: String,
        /// What it should be, such as `a Kopia log level`.
        expected: String,
    },
    /// The mover would run as root without `privileged: true`.
    RootNeedsPrivileged,
    /// A mover security setting outside the restricted Pod Security
    /// Standard: an error, or a warning when the mover is `privileged`.
    OutsideRestrictedProfile { problem: String, privileged: bool },
    /// Two repositories of a plan share a name.
    DuplicateRepository { name: String },
    /// Two entries of one list of a plan share a name.
    DuplicateEntry {
        kind: String,
        name: String,
        list: String,
        first: usize,
    },
    /// An entry names a repository the plan does not declare.
    UnknownRepository { name: String },
    /// An entry names no repository, and the plan has several.
    NoRepository { kind: String, name: String },
    /// An entry has no namespace, nor does its plan.
    NoNamespace { kind: String, name: String },
    /// The repository Secret, part of the input, lacks a key.
    SecretMissingKey {
        namespace: String,
        secret: String,
        repository: String,
        key: String,
    },
    /// A schedule that is not cron, or a time zone that is not IANA.
    Schedule { message: String },
    /// A Job or CronJob setting below its minimum.
    BelowMinimum {
        field: String,
        value: i64,
        minimum: i64,
    },
    /// Two backups write the same Kopia source to one repository.
    SourceCollision {
        identity: String,
        repository: String,
    },
    /// An `acknowledge` item whose `entry` is not `<component>/<name>`.
    InvalidAcknowledgedEntry { written: String },
    /// Two generated objects share a kind, namespace and name.
    NameCollision {
        kind: String,
        namespace: String,
        name: String,
    },

    /// A restore that never runs: it has no trigger.
    NoTrigger { name: String },
    /// A restore that names its source more than one way.
    SourceNamedTwice { name: String },
    /// A backup with both `pvc` and `stream`.
    BackupSourceTwice { name: String },
    /// A backup with neither `pvc` nor `stream`.
    NoBackupSource { name: String },
    /// A field about volumes on an entry that streams.
    VolumeFieldOnStream { field: String },
    /// A container of the user's without an image or a command.
    EmptyContainerField { field: String },
    /// A stream restore `from` a backup of a volume.
    StreamRestoreOfVolume { backup: String },
    /// A stream restore that cannot tell which file to read.
    NoStreamFileName { name: String },
    /// `configMapName` and `secretName` of a `policyConfig` both set.
    ConfigMapAndSecret,
    /// A repository with both `url` and `filesystem`.
    UrlAndFilesystem,
    /// A `customCA` that names neither or both of its sources.
    CustomCaSource,
    /// A mover volume with not exactly one source.
    MoverVolumeSource,
    /// `schedule` next to `trigger`.
    ScheduleAndTrigger,
    /// A trigger with not exactly one of its kinds.
    TriggerKind,
    /// A retention that keeps no snapshot.
    KeepsNothing,
    /// A typed shortcut (`compression`, `retain`) and the `policy` block of
    /// one level set one Kopia setting to two values.
    SettingSetTwice {
        setting: String,
        shortcut: String,
        policy: String,
    },
    /// `maintenance.schedule` and `maintenance.full.schedule` differ.
    FullScheduleTwice,
    /// `paused` on a restore that has no schedule.
    PausedWithoutSchedule,
    /// `volumeSnapshotClassName` on a restore that takes no snapshot.
    SnapshotClassWithoutSnapshot,
    /// `repository` on a restore `from` a backup.
    RepositoryWithFrom,
    /// `sourcePathOverride` on a restore `from` a backup.
    SourcePathWithFrom,
    /// `sourcePathOverride` next to `sourceIdentity`, not inside it.
    SourcePathBesideSourceIdentity,
    /// `workloadSelector` on a backup that is not `Direct`.
    WorkloadSelectorWithoutDirect,
    /// A cache volume setting next to `claimName`.
    CacheSettingWithClaim { field: String },
    /// A policy file name, in a `policyConfig` that names no object.
    PolicyFileWithoutObject { field: String },
    /// `onDemand: false`.
    OnDemandFalse,
    /// A restore that names no source.
    NoRestoreSource { name: String },
    /// A restore that names no destination.
    NoDestination { name: String },
    /// `username` without `hostname`, or the other way round.
    HalfIdentity { set: String, missing: String },
    /// A `policyConfig` that names nothing.
    EmptyPolicyConfig,
    /// An `nfs` mover volume with an empty server.
    EmptyNfsServer,
    /// `hooks` with neither `before` nor `after`.
    HooksWithoutCommand,
    /// A workload hook whose command is empty.
    HookCommandEmpty { hook: String },
    /// `hooks.workload.selector` is empty: it would match every pod.
    HookSelectorEmpty,
    /// A workload hook with `timeoutSeconds: 0`.
    HookTimeoutZero { hook: String },
    /// A `from` that names no backup of the plan.
    UnknownBackup { name: String },
    /// An explicit `username` or `hostname` Kopia would refuse.
    InvalidIdentityPart { field: String, value: String },
    /// A maintenance owner that is not `user@host`.
    InvalidMaintenanceOwner { written: String },
    /// A `restoreAsOf` that is not an RFC 3339 instant.
    InvalidInstant { written: String, reason: String },
    /// `monitoring.pushgateway.url` is not an http(s) URL the mover can
    /// append a grouping path to.
    InvalidPushgatewayUrl { url: String, problem: String },
    /// An access mode Kubernetes does not have.
    NotAnAccessMode { mode: String },
    /// Two verify entries with one name.
    DuplicateVerify { name: String, first: usize },
    /// A `filesPercent` outside 0 to 100 (as written).
    NotAPercentage { value: String },
    /// A `parallelism` of 0.
    ParallelismBelowOne,
    /// An action timeout of 0.
    ActionTimeoutZero,
    /// `maxFiles: 0` for Kopia's logs.
    NoLogFiles,
    /// A manual trigger token that is empty or too long.
    ManualTokenLength,
    /// A cache volume too small for Kopia.
    CacheTooSmall { capacity: String },
    /// More than 20 additional arguments.
    TooManyArguments { count: usize },
    /// Two mover volumes at one mount path.
    DuplicateMountPath { path: String },
    /// An `nfs` mover volume (always a warning).
    NfsOutsideRestrictedProfile,
    /// A persistent cache the non-root mover may not write (a warning).
    CacheMayNotBeWritable { name: String },
    /// A repository claim the non-root mover may not write (a warning).
    RepositoryClaimMayNotBeWritable { name: String },
    /// A PVC whose size is neither written nor in the input.
    UnknownPvcSize { what: String, pvc: String },
    /// An additional argument Kopia's grammar refuses (in `kopia`'s words).
    InvalidAdditionalArgument { message: String },
    /// `policy.actions` where actions are not enabled.
    /// `policy.actions` that would never run, Kopia's actions being off:
    /// refused (issue 16, "no back door for hooks"), though issue 15 asked
    /// for a warning: a policy action written here would run wherever the
    /// repository is connected with actions on.
    ActionsNotEnabled { name: String },
    /// Kopia's cache limits larger than the cache volume (a warning).
    CacheLimitsExceedVolume {
        total: String,
        capacity: String,
        megabytes: u64,
    },
    /// One existing cache claim used by two entries.
    SharedCacheClaim {
        namespace: String,
        claim: String,
        /// Each user as kind, name and where it is declared.
        first: (String, String, String),
        second: (String, String, String),
    },
    /// Maintenance asked for, with no namespace to run it in.
    MaintenanceNoNamespace { repository: String },
    /// Replicas of a repository that has no full maintenance in the plan.
    ReplicaWithoutMaintenance { repository: String },
    /// One repository declared with two maintenance owners.
    MaintenanceOwnerConflict {
        repository: String,
        first_origin: String,
        first_owner: String,
        second_origin: String,
        second_owner: String,
    },
    /// One repository declared with two maintenance timings (a warning).
    MaintenanceTimingDiffers { repository: String, first: String },
    /// A repository URL whose scheme kopiaplan does not know.
    UnknownRepositoryUrl { url: String },
    /// A credential in a repository URL (`problem` says which part).
    CredentialInUrl { problem: String },
    /// A credential in a repository URL read from the repository Secret.
    CredentialInSecretUrl {
        key: String,
        secret: String,
        problem: String,
    },
    /// A GCS, B2 or Azure URL with a path, on a repository with VolSync's
    /// layout: the repository is at the root, where VolSync put it.
    UrlPathIgnored {
        /// Where the URL is written: "the URL" or "`KOPIA_REPOSITORY` of Secret `x`".
        place: String,
        /// The bucket (Azure: container) the repository is in.
        bucket: String,
        path: String,
    },
    /// `credentials`, not supported yet.
    CredentialsNotSupported,
    /// A Kopia policy (in a plan, or a global policy file) that Kopia
    /// would refuse; `place` names the file, if any.
    InvalidPolicy {
        place: Option<String>,
        message: String,
    },
    /// A repository setting kopiaplan does not apply, or of the wrong type.
    InvalidRepositorySetting { place: String, message: String },
    /// A policy JSON text that is not UTF-8.
    PolicyJsonNotUtf8 { place: String },
    /// A policy JSON text over 1 MiB.
    PolicyJsonTooLarge { place: String, bytes: usize },
    /// A policy JSON text that is not an object.
    PolicyJsonNotAnObject { place: String },
    /// A policy JSON text that does not parse.
    PolicyJsonInvalid {
        place: String,
        reason: String,
        line: usize,
        column: usize,
    },
    /// A file name that cannot be a key of a ConfigMap or Secret.
    InvalidObjectKey { key: String, problem: String },
    /// A global policy file on a restore (a warning).
    RestoreIgnoresGlobalPolicy,
    /// A key of VolSync's global policy format, imported as the Kopia
    /// policy field it is (a warning).
    PolicyTranslated {
        place: String,
        from: String,
        to: String,
    },
    /// The ConfigMap or Secret `policyConfig` names is in neither the
    /// input nor the cluster context: its files are checked only when the
    /// mover runs (a warning).
    PolicyObjectNotInInput {
        kind: String,
        namespace: String,
        name: String,
    },
    /// Choosing the volumes of a backup, and its copy's access modes.
    Selection(super::selection_error::SelectionError),
}

impl std::fmt::Display for ResolveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidName {
                what,
                value,
                problem,
            } => write!(f, "the {what} `{value}` {problem}"),
            Self::InvalidPath {
                what,
                value,
                problem,
            } if what.is_empty() => write!(f, "`{value}` {problem}"),
            Self::InvalidPath {
                what,
                value,
                problem,
            }
            | Self::InvalidQuantity {
                what,
                value,
                problem,
            } => write!(f, "the {what} `{value}` {problem}"),
            Self::ObjectMissingKey {
                kind,
                namespace,
                name,
                key,
            } => write!(f, "the {kind} `{namespace}/{name}` has no key `{key}`"),
            Self::NotAKopiaValue { value, expected } => write!(f, "`{value}` is not {expected}"),
            Self::RootNeedsPrivileged => {
                f.write_str("running the mover as root needs `privileged: true`")
            }
            Self::OutsideRestrictedProfile {
                problem,
                privileged: true,
            } => write!(f, "{problem}: outside the restricted Pod Security Standard"),
            Self::OutsideRestrictedProfile { problem, .. } => write!(
                f,
                "{problem}, which the restricted Pod Security Standard does not allow"
            ),
            Self::DuplicateRepository { name } => {
                write!(f, "the repository name `{name}` is used twice")
            }
            Self::DuplicateEntry {
                kind,
                name,
                list,
                first,
            } => write!(
                f,
                "the {kind} name `{name}` is also used by {list}[{first}]"
            ),
            Self::UnknownRepository { name } => write!(f, "no repository is named `{name}`"),
            Self::NoRepository { kind, name } => {
                write!(f, "the {kind} `{name}` names no repository")
            }
            Self::NoNamespace { kind, name } => write!(f, "the {kind} `{name}` has no namespace"),
            Self::SecretMissingKey {
                namespace,
                secret,
                repository,
                key,
            } => write!(
                f,
                "the Secret `{namespace}/{secret}` of repository `{repository}` has no `{key}`"
            ),
            Self::Schedule { message } => f.write_str(message),
            Self::BelowMinimum {
                field,
                value,
                minimum,
            } => write!(f, "`{field}` is {value}; the minimum is {minimum}"),
            Self::SourceCollision {
                identity,
                repository,
            } => write!(
                f,
                "two backups would write the same Kopia source {identity} to repository `{repository}`"
            ),
            Self::InvalidAcknowledgedEntry { written } => write!(
                f,
                "`{written}` names no entry: an acknowledged change names its entry as `<component>/<name>`"
            ),
            Self::NameCollision {
                kind,
                namespace,
                name,
            } => write!(
                f,
                "the {kind} `{namespace}/{name}` would be generated twice"
            ),
            Self::NoTrigger { name } => write!(f, "the restore `{name}` has no trigger"),
            Self::BackupSourceTwice { name } => {
                write!(f, "the backup `{name}` names both `pvc` and `stream`")
            }
            Self::NoBackupSource { name } => {
                write!(f, "the backup `{name}` names nothing to back up")
            }
            Self::VolumeFieldOnStream { field } => write!(
                f,
                "`{field}` is about a volume, and this entry streams through a command"
            ),
            Self::EmptyContainerField { field } => write!(f, "`{field}` is empty"),
            Self::StreamRestoreOfVolume { backup } => write!(
                f,
                "the backup `{backup}` backs up a volume: there is no file to feed a command"
            ),
            Self::NoStreamFileName { name } => write!(
                f,
                "the stream restore `{name}` does not say which file of the snapshot to read"
            ),
            Self::SourceNamedTwice { name } => {
                write!(f, "the restore `{name}` names its source more than once")
            }
            Self::ConfigMapAndSecret => {
                f.write_str("`configMapName` and `secretName` exclude each other")
            }
            Self::UrlAndFilesystem => {
                f.write_str("a repository has either `url` or `filesystem`, not both")
            }
            Self::CustomCaSource => {
                f.write_str("`customCA` needs exactly one of `configMapName` and `secretName`")
            }
            Self::MoverVolumeSource => f.write_str(
                "a mover volume has exactly one of `secret`, `nfs` and `persistentVolumeClaim`",
            ),
            Self::ScheduleAndTrigger => f.write_str("`schedule` and `trigger` exclude each other"),
            Self::TriggerKind => {
                f.write_str("a trigger has exactly one of `manual`, `schedule` and `onDemand`")
            }
            Self::KeepsNothing => f.write_str(
                "this retention keeps no snapshot: the next maintenance would delete every snapshot of the source",
            ),
            Self::FullScheduleTwice => f.write_str(
                "the full maintenance schedule is set twice, by `schedule` and by `full.schedule`, to different values",
            ),
            Self::SettingSetTwice {
                setting,
                shortcut,
                policy,
            } => write!(
                f,
                "Kopia's `{setting}` is set twice, to {shortcut} here and to {policy} in `policy`"
            ),
            Self::PausedWithoutSchedule => {
                f.write_str("`paused` suspends a schedule; this restore has none")
            }
            Self::SnapshotClassWithoutSnapshot => f.write_str(
                "`volumeSnapshotClassName` is for the snapshot taken after a restore",
            ),
            Self::RepositoryWithFrom => {
                f.write_str("a restore `from` a backup uses that backup's repository")
            }
            Self::SourcePathWithFrom => {
                f.write_str("a restore `from` a backup uses that backup's path")
            }
            Self::SourcePathBesideSourceIdentity => f.write_str(
                "with `sourceIdentity`, the path goes in `sourceIdentity.sourcePathOverride`",
            ),
            Self::WorkloadSelectorWithoutDirect => f.write_str(
                "`workloadSelector` places a `Direct` copy next to its workload; this backup is not `Direct`",
            ),
            Self::CacheSettingWithClaim { field } => write!(
                f,
                "`{field}` describes a cache volume kopiaplan creates; `claimName` names an existing one"
            ),
            Self::PolicyFileWithoutObject { field } => write!(
                f,
                "`{field}` names a file of a ConfigMap or Secret, and `policyConfig` names neither"
            ),
            Self::OnDemandFalse => f.write_str("`onDemand: false` asks for nothing"),
            Self::NoRestoreSource { name } => {
                write!(f, "the restore `{name}` does not say what to restore")
            }
            Self::NoDestination { name } => write!(f, "the restore `{name}` has no destination"),
            Self::HalfIdentity { set, missing } => {
                write!(f, "`{set}` without `{missing}` names no Kopia source")
            }
            Self::EmptyPolicyConfig => f.write_str(
                "`policyConfig` names no ConfigMap, no Secret and no `repositoryConfig`",
            ),
            Self::EmptyNfsServer => f.write_str("the NFS server is empty"),
            Self::HooksWithoutCommand => {
                f.write_str("`hooks` names a workload but neither a `before` nor an `after` hook")
            }
            Self::HookCommandEmpty { hook } => {
                write!(f, "the `{hook}` hook has no command to run")
            }
            Self::HookSelectorEmpty => f.write_str(
                "`hooks.workload.selector` is empty: it would run the hooks in every pod of the namespace",
            ),
            Self::HookTimeoutZero { hook } => {
                write!(f, "the `{hook}` hook needs a timeout of at least 1 second")
            }
            Self::UnknownBackup { name } => write!(f, "no backup of this plan is named `{name}`"),
            Self::InvalidIdentityPart { field, value } => {
                write!(f, "the {field} `{value}` is not a valid Kopia identity part")
            }
            Self::InvalidMaintenanceOwner { written } => write!(
                f,
                "the maintenance owner `{written}` is not a Kopia identity `user@host`"
            ),
            Self::InvalidInstant { written, reason } => {
                write!(f, "`{written}` is not an RFC 3339 instant ({reason})")
            }
            Self::InvalidPushgatewayUrl { url, problem } => {
                write!(f, "the Pushgateway URL `{url}` {problem}")
            }
            Self::NotAnAccessMode { mode } => write!(f, "`{mode}` is not an access mode"),
            Self::DuplicateVerify { name, first } => write!(
                f,
                "the verify entry `{name}` is also defined by verify[{first}]"
            ),
            Self::NotAPercentage { value } => write!(f, "{value} is not a percentage"),
            Self::ParallelismBelowOne => f.write_str("parallelism must be at least 1"),
            Self::ActionTimeoutZero => {
                f.write_str("an action needs a timeout of at least 1 second")
            }
            Self::NoLogFiles => f.write_str("Kopia must keep at least one log file"),
            Self::ManualTokenLength => {
                f.write_str("the manual token must be 1 to 253 characters")
            }
            Self::CacheTooSmall { capacity } => {
                write!(f, "a cache of `{capacity}` is too small for Kopia")
            }
            Self::TooManyArguments { count } => {
                write!(f, "{count} additional arguments; at most 20 are allowed")
            }
            Self::DuplicateMountPath { path } => {
                write!(f, "two mover volumes are mounted at `{path}`")
            }
            Self::NfsOutsideRestrictedProfile => {
                f.write_str("an `nfs` volume does not meet the restricted Pod Security Standard")
            }
            Self::CacheMayNotBeWritable { name } => write!(
                f,
                "the persistent cache of `{name}` may not be writable by the mover's non-root user"
            ),
            Self::RepositoryClaimMayNotBeWritable { name } => write!(
                f,
                "the repository claim of `{name}` may not be writable by the mover's non-root user"
            ),
            Self::UnknownPvcSize { what, pvc } => {
                write!(f, "the size of {what} PVC `{pvc}` is unknown")
            }
            Self::InvalidAdditionalArgument { message } => f.write_str(message),
            Self::ActionsNotEnabled { name } => write!(
                f,
                "the `policy.actions` of `{name}` would never run here: Kopia's actions are not enabled for its repository (and the policy would carry them to any client that enables them)"
            ),
            Self::CacheLimitsExceedVolume {
                total,
                capacity,
                megabytes,
            } => write!(
                f,
                "Kopia's cache limits ({total}) do not fit the cache volume of `{capacity}` ({megabytes} MiB)"
            ),
            Self::SharedCacheClaim {
                namespace,
                claim,
                first: (first_kind, first_name, first_origin),
                second: (kind, name, origin),
            } => write!(
                f,
                "the cache claim `{namespace}/{claim}` is used by {first_kind} `{first_name}` ({first_origin}) and by {kind} `{name}` ({origin})"
            ),
            Self::ReplicaWithoutMaintenance { repository } => write!(
                f,
                "repository `{repository}` has replicas but no full maintenance in this plan to run them beside"
            ),
            Self::MaintenanceNoNamespace { repository } => write!(
                f,
                "repository `{repository}` asks for maintenance, no backup of the plan writes to it, and the plan has no namespace to run it in"
            ),
            Self::MaintenanceOwnerConflict {
                repository,
                first_origin,
                first_owner,
                second_origin,
                second_owner,
            } => write!(
                f,
                "repository `{repository}` has one maintenance owner, but the declaration at {first_origin} names `{first_owner}` and the one at {second_origin} names `{second_owner}`"
            ),
            Self::MaintenanceTimingDiffers { repository, first } => write!(
                f,
                "repository `{repository}` is maintained once, when the declaration at {first} says"
            ),
            Self::UnknownRepositoryUrl { url } => {
                write!(f, "`{url}` is not a repository URL kopiaplan knows")
            }
            Self::CredentialInUrl { problem } => f.write_str(problem),
            Self::CredentialInSecretUrl {
                key,
                secret,
                problem,
            } => write!(f, "`{key}` of Secret `{secret}`: {problem}"),
            Self::UrlPathIgnored {
                place,
                bucket,
                path,
            } => write!(
                f,
                "the repository is at the root of `{bucket}`, not under `{path}/`: VolSync's Kopia \
                 mover ignored the path of {place}, so an existing VolSync repository is at the root"
            ),
            Self::CredentialsNotSupported => f.write_str(
                "`credentials` (a Secret made from the compile environment) is not supported yet",
            ),
            Self::InvalidPolicy {
                place: Some(place),
                message,
            } => write!(f, "{place}: {message}"),
            Self::InvalidPolicy {
                place: None,
                message,
            } => f.write_str(message),
            Self::InvalidRepositorySetting { place, message } => write!(f, "{place}: {message}"),
            Self::PolicyJsonNotUtf8 { place } => write!(f, "{place} is not UTF-8 text"),
            Self::PolicyJsonTooLarge { place, bytes } => {
                write!(f, "{place} is {bytes} bytes; at most 1 MiB is allowed")
            }
            Self::PolicyJsonNotAnObject { place } => write!(f, "{place} must be a JSON object"),
            Self::PolicyJsonInvalid {
                place,
                reason,
                line,
                column,
            } => write!(
                f,
                "{place} is not valid JSON: {reason} (line {line}, column {column})"
            ),
            Self::InvalidObjectKey { key, problem } => write!(
                f,
                "`{key}` is not a key a ConfigMap or Secret can have: it {problem}"
            ),
            Self::RestoreIgnoresGlobalPolicy => {
                f.write_str("a restore does not apply a global policy")
            }
            Self::PolicyTranslated { place, from, to } => write!(
                f,
                "{place}: `{from}` is VolSync's name for Kopia's `{to}`; it is imported as `{to}`"
            ),
            Self::PolicyObjectNotInInput {
                kind,
                namespace,
                name,
            } => write!(
                f,
                "the {kind} `{namespace}/{name}` of `policyConfig` is not in the input: its files are checked only when the mover runs"
            ),
            Self::Selection(problem) => problem.fmt(f),
        }
    }
}
