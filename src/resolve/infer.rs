//! Inference: the mover settings a plan leaves unset, taken from the
//! workload of the input that mounts the backup's claim. The pod's user,
//! group and fsGroup (so the mover reads and writes what the application
//! does); for a `Direct` copy of a ReadWriteOnce claim, the pod's labels
//! (the mover runs beside it, unless it is a Job's that runs now and then),
//! tolerations, node selector and node affinity (it must be allowed on that
//! node). When several workloads mount the claim, one fixed rule picks the
//! one (`mounting`). Each value is recorded with the object it comes from,
//! for `explain`. `--no-infer` turns it off.

use k8s_openapi::api::core::v1::{Affinity, PodSpec};

use super::PlanResolver;
use crate::model::Inferred;
use crate::parse::{ContextContent, Workload};
use crate::plan::{BackupSpec, CopyMethod, MoverSpec};

/// The label Kubernetes puts on each pod of a StatefulSet.
const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";

impl PlanResolver<'_, '_> {
    /// `spec` with the settings it leaves unset filled from the workload
    /// that mounts its claim, and what was filled.
    pub(super) fn infer(&self, mut spec: BackupSpec) -> (BackupSpec, Vec<Inferred>) {
        let mut inferred = Vec::new();
        let Some(pvc) = spec.pvc.clone().filter(|_| self.context.infer) else {
            return (spec, inferred);
        };
        let namespace = spec
            .namespace
            .clone()
            .or_else(|| self.input.metadata.namespace.clone())
            .unwrap_or_default();
        let mounting = self.mounting(&pvc, &namespace);
        let Some(workload) = mounting.first().copied() else {
            return (spec, inferred);
        };
        let Some(pod) = workload.template.spec.as_ref() else {
            return (spec, inferred);
        };
        let from = match &mounting[1..] {
            [] => workload.reference(),
            others => format!(
                "{}, before {} that mount the claim too",
                workload.reference(),
                others
                    .iter()
                    .map(|w| w.reference())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let defaults = self.input.spec.defaults.mover.clone().unwrap_or_default();
        let written = spec.mover.clone();
        let mut mover = spec.mover.take().unwrap_or_default();
        let mut record = |field: &str, value: String| {
            inferred.push(Inferred {
                field: field.to_owned(),
                value,
                from: from.clone(),
            });
        };

        let privileged = mover.privileged.or(defaults.privileged).unwrap_or(false);
        if !privileged {
            let mut context = mover
                .security_context
                .clone()
                .or(defaults.security_context.clone())
                .unwrap_or_default();
            let (user, group, fs_group) = pod_identity(pod, &pvc);
            let mut changed = false;
            for (field, slot, value) in [
                ("runAsUser", &mut context.run_as_user, user),
                ("runAsGroup", &mut context.run_as_group, group),
                ("fsGroup", &mut context.fs_group, fs_group),
            ] {
                // Root is never inferred: the mover runs as root only when
                // the plan says `privileged: true`.
                if slot.is_none()
                    && let Some(value) = value.filter(|v| *v > 0)
                {
                    *slot = Some(value);
                    changed = true;
                    record(&format!("mover.securityContext.{field}"), value.to_string());
                }
            }
            if changed {
                mover.security_context = Some(context);
            }
        }

        let method = spec
            .copy_method
            .or(self.input.spec.defaults.copy_method)
            .unwrap_or(CopyMethod::Clone);
        if method == CopyMethod::Direct && self.read_write_once(&pvc, &namespace) {
            // A Job's or CronJob's pod runs now and then: a mover required
            // beside it would wait for its next run, and back up nothing.
            let runs_all_the_time = !matches!(workload.kind, "Job" | "CronJob");
            if spec.workload_selector.is_none() && runs_all_the_time {
                let mut labels = workload
                    .template
                    .metadata
                    .as_ref()
                    .and_then(|m| m.labels.clone())
                    .unwrap_or_default();
                // The pods of a StatefulSet share their template's labels:
                // the one that mounts this claim has its own name.
                if let Some(claim) = workload.claims().iter().find(|c| c.name == pvc) {
                    labels.insert(
                        POD_NAME_LABEL.to_owned(),
                        format!("{}-{}", workload.name, claim.ordinal),
                    );
                }
                if !labels.is_empty() {
                    record("workloadSelector", json(&labels));
                    spec.workload_selector = Some(labels);
                }
            }
            self.infer_placement(&mut mover, &defaults, pod, &mut record);
        }
        // Untouched, the entry keeps its own `mover` (or none), so that
        // diagnostics of the defaults' mover still point there.
        let changed = inferred.iter().any(|i| i.field.starts_with("mover."));
        spec.mover = if changed { Some(mover) } else { written };
        (spec, inferred)
    }

    /// Tolerations, node selector and node affinity of the pod, where the
    /// plan sets none: a `Direct` mover must be allowed on its node.
    fn infer_placement(
        &self,
        mover: &mut MoverSpec,
        defaults: &MoverSpec,
        pod: &PodSpec,
        record: &mut impl FnMut(&str, String),
    ) {
        if mover.tolerations.is_none()
            && defaults.tolerations.is_none()
            && let Some(tolerations) = pod.tolerations.clone().filter(|t| !t.is_empty())
        {
            record("mover.tolerations", json(&tolerations));
            mover.tolerations = Some(tolerations);
        }
        if mover.node_selector.is_none()
            && defaults.node_selector.is_none()
            && let Some(selector) = pod.node_selector.clone().filter(|s| !s.is_empty())
        {
            record("mover.nodeSelector", json(&selector));
            mover.node_selector = Some(selector);
        }
        // Only the node affinity: the pod's own pod (anti-)affinity is
        // about its replicas, and would keep the mover away from it.
        if mover.affinity.is_none()
            && defaults.affinity.is_none()
            && let Some(node_affinity) = pod.affinity.as_ref().and_then(|a| a.node_affinity.clone())
        {
            record("mover.affinity.nodeAffinity", json(&node_affinity));
            mover.affinity = Some(Affinity {
                node_affinity: Some(node_affinity),
                ..Affinity::default()
            });
        }
    }

    /// The workloads that mount `claim` in `namespace`, the one settings
    /// are taken from first: the input's before the cluster context's, the
    /// application's own before those that visit its volume (by kind, see
    /// [`kind_rank`]), then by name. Never by the order of documents, which
    /// Helm, kustomize and kpt each choose their own way.
    fn mounting(&self, claim: &str, namespace: &str) -> Vec<&Workload> {
        let mut mounting: Vec<&Workload> = self
            .context
            .workloads
            .iter()
            .filter(|w| w.namespace.as_deref().is_none_or(|n| n == namespace))
            .filter(|w| w.mounts(claim))
            .collect();
        mounting.sort_by_key(|w| (w.cluster, kind_rank(w.kind), &w.name, w.doc));
        mounting
    }

    /// Whether only one node can mount the claim: ReadWriteOnce, or access
    /// modes unknown (the safe guess: running beside the pod never hurts).
    fn read_write_once(&self, claim: &str, namespace: &str) -> bool {
        match self
            .context
            .get("PersistentVolumeClaim", namespace, claim)
            .map(|pvc| &pvc.content)
        {
            Some(ContextContent::PersistentVolumeClaim { access_modes, .. }) => {
                access_modes.is_empty() || access_modes.iter().any(|m| m == "ReadWriteOnce")
            }
            _ => true,
        }
    }
}

/// The order in which workload kinds give a claim its settings: those that
/// run the application (a StatefulSet, a Deployment, a DaemonSet, a bare
/// Pod) before those that visit its volume now and then (a Job, a CronJob,
/// such as a dump or a migration).
fn kind_rank(kind: &str) -> usize {
    [
        "StatefulSet",
        "Deployment",
        "DaemonSet",
        "Pod",
        "Job",
        "CronJob",
    ]
    .iter()
    .position(|k| *k == kind)
    .unwrap_or(usize::MAX)
}

/// The pod's user, group and fsGroup: the pod's security context, else
/// that of the (first) container mounting the claim's volume.
fn pod_identity(pod: &PodSpec, claim: &str) -> (Option<i64>, Option<i64>, Option<i64>) {
    let pod_context = pod.security_context.clone().unwrap_or_default();
    let volume = pod.volumes.iter().flatten().find(|v| {
        v.persistent_volume_claim
            .as_ref()
            .is_some_and(|c| c.claim_name == claim)
    });
    // A StatefulSet's claims are mounted by their template's name.
    let container = pod.containers.iter().find(|c| {
        c.volume_mounts.iter().flatten().any(|m| {
            volume.is_some_and(|v| v.name == m.name) || claim.starts_with(&format!("{}-", m.name))
        })
    });
    let container_context = container.and_then(|c| c.security_context.as_ref());
    // As in Kubernetes, the container's own setting wins over the pod's.
    (
        container_context
            .and_then(|c| c.run_as_user)
            .or(pod_context.run_as_user),
        container_context
            .and_then(|c| c.run_as_group)
            .or(pod_context.run_as_group),
        pod_context.fs_group,
    )
}

fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
