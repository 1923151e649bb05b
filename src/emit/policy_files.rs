//! The mover's share of `policyConfig`: the ConfigMap or Secret mounted
//! read-only, and the environment that tells the scripts what to apply.

use k8s_openapi::api::core::v1::{EnvVar, PodTemplateSpec, SecretVolumeSource, Volume};

use super::pod::{config_map_volume, env, mount, user_env};
use crate::model::{PolicyFiles, PolicyFilesSource, paths};
use crate::scripts::environment;

/// The variables the scripts read. A restore gets no global policy file:
/// it never imports one.
pub fn environment(files: &PolicyFiles, with_global_policy: bool) -> Vec<EnvVar> {
    let mut variables = Vec::new();
    if files.source.is_some() {
        if with_global_policy {
            // The translated file, from the backup's own policy ConfigMap,
            // or the mounted file as it is.
            let file = match &files.translated_global_policy {
                Some(_) => format!("{}/{}", paths::POLICY, paths::TRANSLATED_GLOBAL_POLICY),
                None => format!("{}/{}", paths::POLICY_FILES, files.global_policy_filename),
            };
            variables.push(user_env(environment::GLOBAL_POLICY_FILE, &file));
        }
        variables.push(user_env(
            environment::REPOSITORY_CONFIG_FILE,
            &format!(
                "{}/{}",
                paths::POLICY_FILES,
                files.repository_config_filename
            ),
        ));
    }
    let settings = &files.settings;
    if let Some(enabled) = settings.enable_actions {
        variables.push(env(environment::ENABLE_ACTIONS, enabled.to_string()));
    }
    if let Some(speed) = &settings.upload_speed {
        variables.push(env(environment::UPLOAD_SPEED, speed.clone()));
    }
    if let Some(speed) = &settings.download_speed {
        variables.push(env(environment::DOWNLOAD_SPEED, speed.clone()));
    }
    variables
}

/// Mounts the ConfigMap or Secret read-only at [`paths::POLICY_FILES`].
pub fn mount_source(pod: &mut PodTemplateSpec, source: &PolicyFilesSource) {
    let volume = match source {
        PolicyFilesSource::ConfigMap(name) => config_map_volume("policy-config", name, None),
        PolicyFilesSource::Secret(name) => Volume {
            name: "policy-config".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(name.clone()),
                default_mode: Some(0o444),
                items: None,
                optional: Some(false),
            }),
            ..Volume::default()
        },
    };
    let Some(spec) = pod.spec.as_mut() else {
        return;
    };
    spec.volumes.get_or_insert_with(Vec::new).push(volume);
    if let Some(container) = spec.containers.first_mut() {
        container
            .volume_mounts
            .get_or_insert_with(Vec::new)
            .push(mount("policy-config", paths::POLICY_FILES, true));
    }
}
