//! The objects of one restore drill: a CronJob (or Job) that runs
//! `kopia snapshot verify` on a backup's snapshots, and its ServiceAccount;
//! with `restoreCheck`, a restore of the newest snapshot into a scratch
//! volume that the user's check container reads.

use super::entry::{Frame, Mover};
use super::pod::{DataVolume, env};
use super::stream::{self, Side};
use crate::model::{Plan, Verify};
use crate::output::Object;
use crate::scripts::environment;

pub fn objects(plan: &Plan, verify: &Verify, scripts_config_map: &str) -> Vec<Object> {
    let frame = Frame::new(plan, &verify.entry);
    let mut objects = frame.common_objects();
    let mut pod = frame.mover_pod(
        scripts_config_map,
        Mover {
            script: "verify.sh",
            data: DataVolume::None,
            workload_selector: None,
            policy_config_map: None,
            env: vec![
                env(
                    environment::VERIFY_FILES_PERCENT,
                    verify.files_percent.to_string(),
                ),
                env(
                    environment::LIST_ALL_HOSTNAMES,
                    verify.list_all_hostnames.to_string(),
                ),
                env(
                    environment::RESTORE_CHECK,
                    verify.restore_check.is_some().to_string(),
                ),
            ],
            args: &[],
            writes_data: false,
        },
    );
    if let Some(check) = &verify.restore_check {
        stream::attach(
            &mut pod,
            Side::Check,
            &check.container,
            Some(&check.capacity),
        );
    }
    objects.push(frame.run_object(pod));
    objects
}
