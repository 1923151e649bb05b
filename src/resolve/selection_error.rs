//! The problems of backing up what a chart deploys: choosing the volumes
//! (`pvc`, `pvcSelector`, `statefulSet`) and the access modes of a copy.
//! A variant of [`super::error::ResolveError`] (`Selection`).

use crate::diagnostics::Code;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectionError {
    /// Not exactly one of `pvc`, `pvcSelector` and `statefulSet`.
    VolumeChoice { name: String, written: Vec<String> },
    /// A `pvcSelector` that matches no claim.
    NoClaimMatches {
        selector: String,
        namespace: String,
        /// The claims of the namespace that were looked at.
        seen: Vec<String>,
    },
    /// A `statefulSet` that is not in the input or the cluster context.
    UnknownStatefulSet {
        name: String,
        namespace: String,
        seen: Vec<String>,
    },
    /// A StatefulSet that makes no claim (no `volumeClaimTemplates`, or
    /// `replicas: 0`).
    StatefulSetWithoutClaims {
        name: String,
        templates: usize,
        replicas: i32,
    },
    /// A StatefulSet with more replicas than kopiaplan expands.
    TooManyReplicas {
        name: String,
        replicas: i32,
        limit: i32,
    },
    /// A `matchExpressions` item Kubernetes would refuse.
    InvalidSelector { problem: String },
    /// A `pvcSelector` that names no label: it selects every claim of
    /// its namespace (a warning).
    EmptySelector { namespace: String, count: usize },
    /// Two backups of one plan and namespace expanded to one name.
    Collision {
        name: String,
        namespace: String,
        /// The claim of this entry that expands to `name`.
        claim: String,
        first: String,
    },
    /// `Direct` on a ReadWriteOncePod claim: no second pod may mount it.
    DirectOnReadWriteOncePod { pvc: String },
    /// `stagingAccessModes` on a `Direct` copy, which stages nothing.
    StagingWithDirect,
    /// `readOnly: false` on a copy whose volume may only be read.
    WritableReadOnlyCopy { method: &'static str },
}

impl std::fmt::Display for SelectionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::VolumeChoice { name, written } => write!(
                f,
                "backup `{name}` names its volumes {} ways ({}): write one of `pvc`, `pvcSelector` and `statefulSet`",
                written.len(),
                written.join(", ")
            ),
            Self::NoClaimMatches {
                selector,
                namespace,
                seen,
            } => {
                write!(
                    f,
                    "no PersistentVolumeClaim in namespace `{namespace}` matches `pvcSelector` {selector}"
                )?;
                match seen.is_empty() {
                    true => f.write_str(
                        " (the input and the cluster context hold no claim in that namespace)",
                    ),
                    false => write!(f, " (looked at {})", seen.join(", ")),
                }
            }
            Self::UnknownStatefulSet {
                name,
                namespace,
                seen,
            } => {
                write!(
                    f,
                    "no StatefulSet `{name}` in namespace `{namespace}` in the input or the cluster context"
                )?;
                match seen.is_empty() {
                    true => Ok(()),
                    false => write!(f, " (it holds {})", seen.join(", ")),
                }
            }
            Self::StatefulSetWithoutClaims {
                name,
                templates,
                replicas,
            } => write!(
                f,
                "StatefulSet `{name}` makes no claim: {templates} volumeClaimTemplates × {replicas} replicas"
            ),
            Self::TooManyReplicas {
                name,
                replicas,
                limit,
            } => write!(
                f,
                "StatefulSet `{name}` has {replicas} replicas; kopiaplan backs up the claims of at most {limit}"
            ),
            Self::InvalidSelector { problem } => write!(f, "invalid `pvcSelector`: {problem}"),
            Self::EmptySelector { namespace, count } => write!(
                f,
                "`pvcSelector` names no label, so it selects every claim of namespace `{namespace}`: all {count} of them, and each claim added there later"
            ),
            Self::Collision {
                name,
                namespace,
                claim,
                first,
            } => write!(
                f,
                "this entry's claim `{claim}` expands to a backup `{name}` in namespace `{namespace}`, which {first} already is"
            ),
            Self::DirectOnReadWriteOncePod { pvc } => write!(
                f,
                "PVC `{pvc}` is ReadWriteOncePod: only the application's pod may mount it, so a `Direct` copy cannot run"
            ),
            Self::StagingWithDirect => f.write_str(
                "`stagingAccessModes` are the access modes of a `Clone` or `Snapshot` copy; a `Direct` copy mounts the claim itself",
            ),
            Self::WritableReadOnlyCopy { method } => write!(
                f,
                "the volume of this `{method}` copy is ReadOnlyMany, so the mover can only mount it read-only, not as `readOnly: false` asks"
            ),
        }
    }
}

impl SelectionError {
    pub fn code(&self) -> Code {
        match self {
            Self::VolumeChoice { .. } => Code::ConflictingFields,
            Self::NoClaimMatches { .. }
            | Self::UnknownStatefulSet { .. }
            | Self::StatefulSetWithoutClaims { .. } => Code::NothingSelected,
            Self::InvalidSelector { .. } => Code::InvalidSelector,
            Self::EmptySelector { .. } => Code::EmptySelector,
            Self::TooManyReplicas { .. } => Code::OutOfRange,
            Self::Collision { .. } => Code::SelectionCollision,
            Self::DirectOnReadWriteOncePod { .. } => Code::DirectOnReadWriteOncePod,
            Self::StagingWithDirect => Code::FieldNotApplicable,
            Self::WritableReadOnlyCopy { .. } => Code::ConflictingFields,
        }
    }
}
