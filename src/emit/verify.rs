//! The objects of one restore drill: a CronJob (or Job) that runs
//! `kopia snapshot verify` on a backup's snapshots, and its ServiceAccount.

use super::labels::{self, Component};
use super::pod::{DataVolume, MoverPod, env, mover_pod};
use super::run::run_object;
use super::{cache_claim, object_meta, service_account};
use crate::model::{Plan, Verify};
use crate::output::Object;
use crate::scripts::environment;

pub fn objects(plan: &Plan, verify: &Verify, scripts_config_map: &str) -> Vec<Object> {
    let labels = labels::labels(plan, Component::Verify, &verify.name);
    let mut annotations = labels::annotations(plan, &verify.origin);
    annotations.insert(labels::KOPIA_SOURCE.into(), verify.identity.to_string());
    let meta = |name: &str| object_meta(name, &verify.namespace, &labels, &annotations);
    let mut objects = Vec::new();
    if verify.mover.service_account_name.is_none() {
        objects.push(service_account(meta(&verify.names.service_account)));
    }
    objects.extend(cache_claim(&verify.cache, &meta));
    let pod = mover_pod(MoverPod {
        plan,
        script: "verify.sh",
        scripts_config_map,
        data: DataVolume::None,
        workload_selector: None,
        repository: &verify.repository,
        username: &verify.identity.username,
        hostname: &verify.identity.hostname,
        source_path: &verify.identity.path,
        cache: &verify.cache,
        mover: &verify.mover,
        service_account: &verify.names.service_account,
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
        ],
        args: &[],
        writes_data: false,
        labels: labels.clone(),
        annotations: annotations.clone(),
    });
    objects.push(run_object(
        &meta,
        &verify.run,
        &verify.jobs,
        &verify.names,
        pod,
    ));
    objects
}
