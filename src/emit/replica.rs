//! The CronJob of one replica: the repository's maintenance owner copies
//! the repository to its destination (`kopia repository sync-to` or
//! `kopia snapshot migrate`). The destination Secret's keys reach the
//! mover with a prefix, so they never collide with the source's, and its
//! credential files are mounted at a path of their own.

use k8s_openapi::api::core::v1::{EnvFromSource, SecretEnvSource};

use super::entry::{Frame, Mover};
use super::pod::{DataVolume, credential_files_volume, env, mount, user_env};
use crate::kopia::backend::{self, CREDENTIAL_FILES, CredentialFile};
use crate::model::{Plan, Replica, RepositoryLocation, paths};

/// The volume of the destination's credential files.
const DESTINATION_CREDENTIALS_VOLUME: &str = "replica-credentials";
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
    // The destination Secret: its keys under a prefix, its credential
    // files at a path of their own.
    let files = destination_credential_files(&replica.destination);
    if let Some(spec) = pod.spec.as_mut() {
        if !files.is_empty() {
            spec.volumes
                .get_or_insert_with(Vec::new)
                .push(credential_files_volume(
                    DESTINATION_CREDENTIALS_VOLUME,
                    &replica.secret_name,
                    files,
                ));
        }
        if let Some(container) = spec.containers.first_mut() {
            if !files.is_empty() {
                container
                    .volume_mounts
                    .get_or_insert_with(Vec::new)
                    .push(mount(
                        DESTINATION_CREDENTIALS_VOLUME,
                        paths::REPLICA_CREDENTIALS,
                        true,
                    ));
            }
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
    }
    objects.push(frame.run_object(pod));
    objects
}

/// The destination Secret's keys that the mover needs as files: those of
/// the destination URL's backend; every backend's when only the Secret's
/// `KOPIA_REPOSITORY` says which; none for a claim.
fn destination_credential_files(destination: &RepositoryLocation) -> &'static [CredentialFile] {
    match destination {
        RepositoryLocation::Url(url) => {
            backend::backend(url).map_or(&[], |backend| backend.credential_files)
        }
        RepositoryLocation::FromSecret => CREDENTIAL_FILES,
        RepositoryLocation::Claim { .. } => &[],
    }
}
