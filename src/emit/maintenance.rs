//! The maintenance CronJob (or manual Job) of one repository, running as
//! the repository's maintenance owner, its ServiceAccount and cache.

use super::labels::{self, Component};
use super::pod::{DataVolume, MoverPod, mover_pod};
use super::run::run_object;
use super::{cache_claim, object_meta, service_account};
use crate::model::{Maintenance, Plan};
use crate::output::Object;

/// Lists the entries a maintenance job serves, for reviewers.
pub const SERVES: &str = "kopiaplan.dev/serves";

pub fn objects(plan: &Plan, maintenance: &Maintenance, scripts_config_map: &str) -> Vec<Object> {
    let labels = labels::labels(plan, Component::Maintenance, &maintenance.name);
    let mut annotations = labels::annotations(plan, &maintenance.origin);
    if !maintenance.serves.is_empty() {
        annotations.insert(SERVES.into(), maintenance.serves.join(","));
    }
    let meta = |name: &str| object_meta(name, &maintenance.namespace, &labels, &annotations);
    let mut objects = Vec::new();
    if maintenance.mover.service_account_name.is_none() {
        objects.push(service_account(meta(&maintenance.names.service_account)));
    }
    objects.extend(cache_claim(&maintenance.cache, &meta));
    let pod = mover_pod(MoverPod {
        plan,
        script: "maintenance.sh",
        scripts_config_map,
        data: DataVolume::None,
        workload_selector: None,
        repository: &maintenance.repository,
        username: &maintenance.owner.username,
        hostname: &maintenance.owner.hostname,
        source_path: "",
        cache: &maintenance.cache,
        mover: &maintenance.mover,
        service_account: &maintenance.names.service_account,
        policy_config_map: None,
        env: Vec::new(),
        args: &[],
        writes_data: false,
        labels: labels.clone(),
        annotations: annotations.clone(),
    });
    objects.push(run_object(
        &meta,
        &maintenance.run,
        &maintenance.jobs,
        &maintenance.names,
        pod,
    ));
    objects
}
