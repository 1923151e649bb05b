//! The problems resolution reports, as typed kinds: each variant's
//! `Display` is the sentence the user reads, and each maps to a [`Code`].

use crate::diagnostics::{Code, DiagnosticKind, Severity};

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
    /// Two generated objects share a kind, namespace and name.
    NameCollision {
        kind: String,
        namespace: String,
        name: String,
    },
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
            Self::NameCollision {
                kind,
                namespace,
                name,
            } => write!(
                f,
                "the {kind} `{namespace}/{name}` would be generated twice"
            ),
        }
    }
}

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
        }
    }

    fn severity(&self) -> Severity {
        match self {
            Self::OutsideRestrictedProfile {
                privileged: true, ..
            } => Severity::Warning,
            _ => Severity::Error,
        }
    }
}
