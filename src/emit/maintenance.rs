//! The quick or full maintenance CronJob (or manual Job) of one
//! repository, running as the repository's maintenance owner, its
//! ServiceAccount and cache.

use super::entry::{Frame, Mover};
use super::pod::{DataVolume, env};
use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, SecretKeySelector};

use crate::model::{Maintenance, MaintenanceMode, Plan};
use crate::output::Object;
use crate::scripts::environment;

/// Lists the entries a maintenance job serves, for reviewers.
pub const SERVES: &str = "kopiaplan.dev/serves";

pub fn objects(plan: &Plan, maintenance: &Maintenance, scripts_config_map: &str) -> Vec<Object> {
    let mut frame = Frame::new(plan, &maintenance.entry);
    // A password change is a Job issued once: its pod template may not
    // change when a backup comes or goes.
    if !maintenance.serves.is_empty()
        && !matches!(maintenance.mode, MaintenanceMode::ChangePassword { .. })
    {
        frame
            .annotations
            .insert(SERVES.into(), maintenance.serves.join(","));
    }
    let mut objects = frame.common_objects();
    let mut env_vars = vec![
        env(environment::MAINTENANCE_MODE, maintenance.mode.as_str()),
        env(environment::OWNERSHIP, maintenance.ownership.as_str()),
    ];
    let script = match &maintenance.mode {
        MaintenanceMode::Quick | MaintenanceMode::Full => "maintenance.sh",
        // Kopia's own variable for `--new-password`, from the Secret.
        MaintenanceMode::ChangePassword { new_password_key } => {
            env_vars.push(EnvVar {
                name: "KOPIA_NEW_PASSWORD".into(),
                value: None,
                value_from: Some(EnvVarSource {
                    secret_key_ref: Some(SecretKeySelector {
                        name: maintenance.entry.repository.secret_name.clone(),
                        key: new_password_key.clone(),
                        optional: Some(false),
                    }),
                    ..EnvVarSource::default()
                }),
            });
            "change-password.sh"
        }
    };
    let pod = frame.mover_pod(
        scripts_config_map,
        Mover {
            script,
            data: DataVolume::None,
            workload_selector: None,
            policy_config_map: None,
            env: env_vars,
            args: &[],
            writes_data: false,
        },
    );
    objects.push(frame.run_object(pod));
    objects
}
