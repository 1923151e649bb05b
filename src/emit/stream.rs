//! The container of the user's that runs beside Kopia in a mover pod: a
//! stream backup's dump, a stream restore's command, a restore drill's
//! check. It runs its command through `side.sh`, which waits until Kopia's
//! container is ready and writes the command's exit status into the
//! `stream` emptyDir both containers mount (with the pipe between them).
//! It gets the user's environment only, never the repository Secret.

use k8s_openapi::api::core::v1::{Container, PodTemplateSpec, VolumeMount};

use super::pod::{container_security_context, empty_dir, mount};
use crate::model::{UserContainer, paths};

/// What the side container does with its command's standard streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Its output goes into the pipe Kopia snapshots.
    Dump,
    /// Its input is the snapshot's file, from the pipe.
    Load,
    /// It checks the scratch volume, mounted read-only at `/data`.
    Check,
}

impl Side {
    /// The container's name, and the first argument of `side.sh`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Dump => "dump",
            Side::Load => "load",
            Side::Check => "check",
        }
    }
}

/// The script the side container runs, in the scripts ConfigMap.
pub const SIDE_SCRIPT: &str = "side.sh";

/// Adds the side container to a mover pod whose first container is
/// Kopia's, with the `stream` emptyDir they share; a check also gets the
/// `scratch` emptyDir of `scratch_capacity`, which Kopia writes and the
/// check reads.
pub fn attach(
    pod: &mut PodTemplateSpec,
    side: Side,
    user: &UserContainer,
    scratch_capacity: Option<&str>,
) {
    let Some(spec) = pod.spec.as_mut() else {
        return;
    };
    let volumes = spec.volumes.get_or_insert_with(Vec::new);
    // Markers, the exit status and the pipe (a FIFO holds no data on disk).
    volumes.push(empty_dir("stream", "1Mi"));
    volumes.push(empty_dir("side-tmp", "1Gi"));
    let mut side_mounts = vec![
        mount("stream", paths::STREAM, false),
        mount("scripts", paths::SCRIPTS, true),
        mount("side-tmp", paths::TMP, false),
    ];
    let mut kopia_mounts = vec![mount("stream", paths::STREAM, false)];
    if let Some(capacity) = scratch_capacity {
        volumes.push(empty_dir("scratch", capacity));
        kopia_mounts.push(mount("scratch", paths::SCRATCH, false));
        // Kopia restores into `data` of the scratch volume (its root
        // must be writable: Kopia removes `<target>.kopia-entry` beside
        // the target when it ends).
        side_mounts.push(VolumeMount {
            sub_path: Some("data".into()),
            ..mount("scratch", paths::DATA, true)
        });
    }
    if let Some(kopia) = spec.containers.first_mut() {
        kopia
            .volume_mounts
            .get_or_insert_with(Vec::new)
            .extend(kopia_mounts);
    }
    spec.containers
        .push(side_container(side, user, side_mounts));
}

fn side_container(side: Side, user: &UserContainer, mounts: Vec<VolumeMount>) -> Container {
    Container {
        name: side.as_str().into(),
        image: Some(user.image.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(vec![
            "/bin/sh".into(),
            format!("{}/{SIDE_SCRIPT}", paths::SCRIPTS),
            side.as_str().into(),
        ]),
        // The user's command, as a container's: `$(VAR)` expands.
        args: Some(user.command.clone()),
        env: (!user.env.is_empty()).then(|| user.env.clone()),
        env_from: (!user.env_from.is_empty()).then(|| user.env_from.clone()),
        resources: user.resources.clone(),
        security_context: Some(container_security_context(false)),
        termination_message_path: Some(paths::TERMINATION_LOG.into()),
        termination_message_policy: Some("FallbackToLogsOnError".into()),
        volume_mounts: Some(mounts),
        working_dir: Some(match side {
            Side::Check => paths::DATA.into(),
            Side::Dump | Side::Load => paths::TMP.into(),
        }),
        ..Container::default()
    }
}
