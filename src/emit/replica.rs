//! The CronJob of one replica: the repository's maintenance owner copies
//! the repository to its destination (`kopia repository sync-to` or
//! `kopia snapshot migrate`). The destination Secret's keys reach the
//! mover with a prefix, so they never collide with the source's.

use k8s_openapi::api::core::v1::{EnvFromSource, SecretEnvSource};

use super::entry::{Frame, Mover};
use super::pod::{DataVolume, env, user_env};
use crate::model::{Plan, Replica, RepositoryLocation, paths};
use crate::output::Object;
use crate::scripts::environment;

pub fn objects(plan: &Plan, replica: &Replica, scripts_config_map: &str) -> Vec<Object> {
    let frame = Frame::new(plan, &replica.entry);
    let mut objects = frame.common_objects();
    // A destination on a claim is mounted where a restore writes.
    let (url, data) = match &replica.destination {
        RepositoryLocation::Url(url) => (url.clone(), DataVolume::None),
        RepositoryLocation::Claim { claim_name, path } => (
            format!("filesystem://{}{path}", paths::RESTORE_TARGET),
            DataVolume::Claim {
                claim_name,
                read_only: false,
                sub_path: None,
            },
        ),
        // The destination Secret's KOPIA_REPOSITORY, swapped in by the mover.
        RepositoryLocation::FromSecret => (String::new(), DataVolume::None),
    };
    let storage_flags = crate::kopia::backend::storage_flags(&url)
        .unwrap_or_default()
        .join("\n");
    let mut pod = frame.mover_pod(
        scripts_config_map,
        Mover {
            script: "replica.sh",
            data,
            workload_selector: None,
            policy_config_map: None,
            env: vec![
                env(environment::REPLICA_MODE, replica.mode.as_str()),
                env(
                    environment::REPLICA_DIRECTION,
                    if replica.seed { "seed" } else { "copy" },
                ),
                user_env(environment::REPLICA_URL, &url),
                user_env(environment::REPLICA_STORAGE_FLAGS, &storage_flags),
                env(environment::DELETE_EXTRA, replica.delete_extra.to_string()),
            ],
            args: &[],
            writes_data: matches!(replica.destination, RepositoryLocation::Claim { .. }),
        },
    );
    if let Some(container) = pod
        .spec
        .as_mut()
        .and_then(|spec| spec.containers.first_mut())
    {
        container
            .env_from
            .get_or_insert_with(Vec::new)
            .push(EnvFromSource {
                prefix: Some(environment::DESTINATION_PREFIX.to_owned()),
                secret_ref: Some(SecretEnvSource {
                    name: replica.secret_name.clone(),
                    optional: Some(false),
                }),
                ..EnvFromSource::default()
            });
    }
    objects.push(frame.run_object(pod));
    objects
}
