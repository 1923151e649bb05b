//! Stream sources and restore drills that run a container of the user's
//! beside Kopia: a dump piped into `kopia snapshot create --stdin-file`, a
//! command fed from a snapshot's file, a check of a restored snapshot.

use k8s_openapi::api::core::v1::{EnvFromSource, EnvVar, ResourceRequirements};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A backup of a command's standard output (a database dump) instead of a
/// volume: the command runs in its own container of the mover pod, and
/// Kopia stores what it writes as one file. The snapshot is kept only when
/// the command exits 0.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StreamSpec {
    /// The image of the dump container (it needs `/bin/sh`).
    pub image: String,
    /// The command whose standard output is backed up, as a container's
    /// `command` (`$(VAR)` expands from its environment).
    pub command: Vec<String>,
    /// The dump container's environment (not the repository's Secret).
    pub env: Option<Vec<EnvVar>>,
    /// The dump container's `envFrom`, such as the database's credentials.
    pub env_from: Option<Vec<EnvFromSource>>,
    /// The name of the file the snapshot holds (one path component).
    pub file_name: String,
    /// The dump container's resources.
    pub resources: Option<ResourceRequirements>,
}

/// A restore that pipes the snapshot's file into a command (`psql`, say)
/// instead of writing a volume.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RestoreStreamSpec {
    /// The image of the container that reads the file (it needs `/bin/sh`).
    pub image: String,
    /// The command that reads the file on its standard input, as a
    /// container's `command`.
    pub command: Vec<String>,
    pub env: Option<Vec<EnvVar>>,
    pub env_from: Option<Vec<EnvFromSource>>,
    /// The file of the snapshot to read. Default: the `fileName` of the
    /// stream backup named by `from`.
    pub file_name: Option<String>,
    pub resources: Option<ResourceRequirements>,
}

/// A deep restore drill: the newest snapshot is restored into a scratch
/// volume, and a container of the user's checks it, mounted read-only at
/// `/data`. The live volume is never touched.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RestoreCheckSpec {
    /// The image of the check container (it needs `/bin/sh`).
    pub image: String,
    /// The check, as a container's `command`; it runs in `/data` and passes
    /// when it exits 0.
    pub command: Vec<String>,
    /// The size of the scratch volume (an emptyDir with this size limit).
    pub capacity: String,
    pub env: Option<Vec<EnvVar>>,
    pub env_from: Option<Vec<EnvFromSource>>,
    pub resources: Option<ResourceRequirements>,
}
