//! The quick or full maintenance CronJob (or manual Job) of one
//! repository, running as the repository's maintenance owner, its
//! ServiceAccount and cache.

use super::entry::{Frame, Mover};
use super::pod::{DataVolume, env};
use crate::model::{Maintenance, Plan};
use crate::output::Object;
use crate::scripts::environment;

/// Lists the entries a maintenance job serves, for reviewers.
pub const SERVES: &str = "kopiaplan.dev/serves";

pub fn objects(plan: &Plan, maintenance: &Maintenance, scripts_config_map: &str) -> Vec<Object> {
    let mut frame = Frame::new(plan, &maintenance.entry);
    if !maintenance.serves.is_empty() {
        frame
            .annotations
            .insert(SERVES.into(), maintenance.serves.join(","));
    }
    let mut objects = frame.common_objects();
    let pod = frame.mover_pod(
        scripts_config_map,
        Mover {
            script: "maintenance.sh",
            data: DataVolume::None,
            workload_selector: None,
            policy_config_map: None,
            env: vec![
                env(environment::MAINTENANCE_MODE, maintenance.mode.as_str()),
                env(environment::OWNERSHIP, maintenance.ownership.as_str()),
            ],
            args: &[],
            writes_data: false,
        },
    );
    objects.push(frame.run_object(pod));
    objects
}
