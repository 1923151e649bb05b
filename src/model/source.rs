//! What a backup reads and where a restore writes: a volume, or a stream
//! through a container of the user's that runs beside Kopia in the mover
//! pod. Restore drills that check a restored snapshot use such a container
//! too.

use k8s_openapi::api::core::v1::{EnvFromSource, EnvVar, ResourceRequirements};

use super::{Copy, Destination};

/// What a backup snapshots.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A PersistentVolumeClaim, copied as `copy` says.
    Volume(VolumeSource),
    /// A command's standard output, stored as one file.
    Stream(StreamSource),
}

impl Source {
    /// The volume, for a volume backup.
    pub fn volume(&self) -> Option<&VolumeSource> {
        match self {
            Source::Volume(volume) => Some(volume),
            Source::Stream(_) => None,
        }
    }

    /// How the source is read, for reviewers: the copy method, or `Stream`.
    pub fn method(&self) -> &'static str {
        match self {
            Source::Volume(volume) => volume.copy.method(),
            Source::Stream(_) => "Stream",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct VolumeSource {
    pub pvc: String,
    pub copy: Copy,
    /// `/data` is mounted read-only (by default only for `Direct`).
    pub read_only: bool,
    /// Only this sub-directory of the volume is mounted and backed up.
    pub source_path: Option<String>,
}

/// A dump container's output, piped into `kopia snapshot create
/// --stdin-file`.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSource {
    pub container: UserContainer,
    /// The file the snapshot holds.
    pub file_name: String,
}

/// A container of the user's in the mover pod. It runs its command through
/// kopiaplan's `side.sh`, which waits for Kopia and reports the exit status
/// to Kopia's container through the pod's shared `stream` emptyDir.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserContainer {
    pub image: String,
    /// As a container's `command`: `$(VAR)` expands.
    pub command: Vec<String>,
    pub env: Vec<EnvVar>,
    pub env_from: Vec<EnvFromSource>,
    pub resources: Option<ResourceRequirements>,
}

/// Where a restore writes.
#[derive(Debug, Clone, PartialEq)]
pub enum RestoreTarget {
    /// A PersistentVolumeClaim.
    Volume(Destination),
    /// A command's standard input.
    Stream(StreamTarget),
}

impl RestoreTarget {
    /// The claim, for a restore into a volume.
    pub fn volume(&self) -> Option<&Destination> {
        match self {
            RestoreTarget::Volume(destination) => Some(destination),
            RestoreTarget::Stream(_) => None,
        }
    }
}

/// A restore that feeds a snapshot's file to a command.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamTarget {
    pub container: UserContainer,
    pub file_name: String,
}

/// A restore drill's check of the newest snapshot, restored into a scratch
/// emptyDir of `capacity`.
#[derive(Debug, Clone, PartialEq)]
pub struct RestoreCheck {
    pub container: UserContainer,
    pub capacity: String,
}
