//! The frame every entry's objects share: labels and annotations, the
//! ServiceAccount and persistent cache, the mover pod's common part, the
//! launcher when one runs the mover, and the CronJob or Job that runs it.
//! Backups, restores, restore drills and maintenance add only what is
//! theirs (a policy ConfigMap, a destination claim, their environment).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{EnvVar, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::labels;
use super::launcher::{self, Launcher, Steps};
use super::pod::{DataVolume, MoverPod, mover_pod};
use super::run::run_object;
use super::{cache_claim, object_meta, service_account};
use crate::model::{Component, Entry, Plan};
use crate::output::Object;

pub(super) struct Frame<'a> {
    pub plan: &'a Plan,
    pub entry: &'a Entry,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// What the mover pod of one kind of entry adds to the frame.
pub(super) struct Mover<'a> {
    pub script: &'a str,
    pub data: DataVolume<'a>,
    pub workload_selector: Option<&'a BTreeMap<String, String>>,
    pub policy_config_map: Option<&'a str>,
    pub env: Vec<EnvVar>,
    pub args: &'a [String],
    pub writes_data: bool,
}

impl<'a> Frame<'a> {
    pub fn new(plan: &'a Plan, entry: &'a Entry) -> Self {
        let labels = labels::labels(plan, entry.component, &entry.name);
        let mut annotations = labels::annotations(plan, &entry.origin);
        annotations.insert(labels::REPOSITORY.into(), entry.repository.described());
        // Maintenance works on the whole repository, as its owner: it has
        // no snapshot source.
        if matches!(entry.component, Component::Maintenance | Component::Replica) {
            let owner = &entry.identity;
            annotations.insert(
                labels::MAINTENANCE_OWNER.into(),
                format!("{}@{}", owner.username, owner.hostname),
            );
        } else {
            annotations.insert(labels::KOPIA_SOURCE.into(), entry.identity.to_string());
        }
        // Backups create the repository: the options they create it with,
        // for reviewers and `diff --guard`.
        let creation = &entry.repository.options.create_flags;
        let parameters = &entry.repository.options.parameter_flags;
        if entry.component == Component::Backup && !(creation.is_empty() && parameters.is_empty()) {
            annotations.insert(
                labels::CREATION.into(),
                [&creation[..], &parameters[..]].concat().join(" "),
            );
        }
        Frame {
            plan,
            entry,
            labels,
            annotations,
        }
    }

    /// The metadata of an object of this entry.
    pub fn meta(&self, name: &str) -> ObjectMeta {
        object_meta(name, &self.entry.namespace, &self.labels, &self.annotations)
    }

    /// The objects every entry starts with: its ServiceAccount (unless the
    /// plan names its own) and the claim of its persistent cache.
    pub fn common_objects(&self) -> Vec<Object> {
        let mut objects = Vec::new();
        if self.entry.mover.service_account_name.is_none() {
            objects.push(service_account(
                self.meta(&self.entry.names.service_account),
            ));
        }
        objects.extend(cache_claim(&self.entry.cache, &|name| self.meta(name)));
        objects
    }

    /// The mover pod: the entry's identity, repository, cache and mover,
    /// with what `mover` adds.
    pub fn mover_pod(&self, scripts_config_map: &str, mover: Mover<'_>) -> PodTemplateSpec {
        mover_pod(MoverPod {
            plan: self.plan,
            entry: self.entry,
            script: mover.script,
            scripts_config_map,
            data: mover.data,
            workload_selector: mover.workload_selector,
            policy_config_map: mover.policy_config_map,
            env: mover.env,
            args: mover.args,
            writes_data: mover.writes_data,
            labels: self.labels.clone(),
            annotations: self.annotations.clone(),
        })
    }

    /// When a launcher runs the mover, its objects go to `objects` and its
    /// pod runs instead, with its own deadline; otherwise the mover pod
    /// runs itself.
    pub fn launched(
        &self,
        steps: Steps<'_>,
        volume_snapshot_class_name: Option<&str>,
        mover_pod: PodTemplateSpec,
        objects: &mut Vec<Object>,
    ) -> Runnable {
        let Some(names) = &self.entry.names.launcher else {
            return mover_pod.into();
        };
        let (launcher_objects, launcher_pod, deadline) = launcher::launcher(Launcher {
            plan: self.plan,
            namespace: &self.entry.namespace,
            names,
            steps,
            volume_snapshot_class_name,
            mover_pod,
            jobs: &self.entry.jobs,
            mover: &self.entry.mover,
            labels: self.labels.clone(),
            annotations: self.annotations.clone(),
        });
        objects.extend(launcher_objects);
        Runnable {
            pod: launcher_pod,
            active_deadline_seconds: Some(deadline),
        }
    }

    /// The CronJob or Job that runs `pod`.
    pub fn run_object(&self, pod: impl Into<Runnable>) -> Object {
        let Runnable {
            pod,
            active_deadline_seconds,
        } = pod.into();
        let entry = self.entry;
        let mut jobs = entry.jobs.clone();
        if let Some(seconds) = active_deadline_seconds {
            jobs.active_deadline_seconds = seconds;
        }
        run_object(
            &|name| self.meta(name),
            &entry.run,
            &jobs,
            &entry.names,
            pod,
        )
    }
}

/// The pod an entry's CronJob or Job runs, and the deadline of that Job
/// when it is not the entry's own (a launcher's).
pub(super) struct Runnable {
    pub pod: PodTemplateSpec,
    pub active_deadline_seconds: Option<i64>,
}

impl From<PodTemplateSpec> for Runnable {
    fn from(pod: PodTemplateSpec) -> Runnable {
        Runnable {
            pod,
            active_deadline_seconds: None,
        }
    }
}
