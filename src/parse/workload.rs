//! Workloads of the input (Deployments, StatefulSets, DaemonSets, Jobs,
//! CronJobs, Pods), read as typed Kubernetes objects: what a plan may take
//! from the application it backs up (the claims a StatefulSet makes, the
//! pod template that mounts a claim). They are never compiled or written.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, PodTemplateSpec};

use super::DocId;

/// The workload kinds kopiaplan reads, with their `apiVersion`.
pub const KINDS: [(&str, &str); 6] = [
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("v1", "Pod"),
];

/// Whether `apiVersion` and `kind` name a workload kopiaplan reads.
pub fn is_workload(api_version: &str, kind: &str) -> bool {
    KINDS.contains(&(api_version, kind))
}

/// The most replicas whose claims are read: each claim is a backup, and a
/// count beyond this is a typo (or an attempt to exhaust memory).
pub const MAX_REPLICAS: i32 = 1000;

/// A workload: its pod template and, for a StatefulSet, the claims it makes.
#[derive(Debug, Clone)]
pub struct Workload {
    pub doc: DocId,
    /// From the cluster context (`--context`).
    pub cluster: bool,
    pub kind: &'static str,
    pub namespace: Option<String>,
    pub name: String,
    /// The pod template (a Pod's own metadata and spec).
    pub template: PodTemplateSpec,
    /// A StatefulSet's `replicas` (Kubernetes' default: 1).
    pub replicas: i32,
    /// A StatefulSet's first ordinal, `spec.ordinals.start` (default 0):
    /// its replicas are numbered from there.
    pub first_ordinal: i32,
    /// A StatefulSet's `spec.selector.matchLabels`: its controller adds
    /// them to every claim it makes.
    pub selector_labels: BTreeMap<String, String>,
    /// A StatefulSet's `volumeClaimTemplates`.
    pub claim_templates: Vec<PersistentVolumeClaim>,
}

impl Workload {
    /// Reads a workload from its JSON; `None` for another kind, or an
    /// object Kubernetes would refuse (which is not this compiler's to judge:
    /// it is passed through untouched and not used).
    pub fn read(doc: DocId, value: &serde_json::Value, cluster: bool) -> Option<Self> {
        let api_version = value.get("apiVersion")?.as_str()?;
        let kind = value.get("kind")?.as_str()?;
        let (_, kind) = KINDS
            .iter()
            .find(|(version, known)| *version == api_version && *known == kind)?;
        let value = value.clone();
        let mut first_ordinal = 0;
        let mut selector_labels = BTreeMap::new();
        let (metadata, template, replicas, claim_templates) = match *kind {
            "Deployment" => {
                let object: Deployment = serde_json::from_value(value).ok()?;
                let spec = object.spec?;
                (object.metadata, spec.template, 1, Vec::new())
            }
            "StatefulSet" => {
                let object: StatefulSet = serde_json::from_value(value).ok()?;
                let spec = object.spec?;
                first_ordinal = spec.ordinals.as_ref().and_then(|o| o.start).unwrap_or(0);
                selector_labels = spec.selector.match_labels.clone().unwrap_or_default();
                (
                    object.metadata,
                    spec.template,
                    spec.replicas.unwrap_or(1),
                    spec.volume_claim_templates.unwrap_or_default(),
                )
            }
            "DaemonSet" => {
                let object: DaemonSet = serde_json::from_value(value).ok()?;
                (object.metadata, object.spec?.template, 1, Vec::new())
            }
            "Job" => {
                let object: Job = serde_json::from_value(value).ok()?;
                (object.metadata, object.spec?.template, 1, Vec::new())
            }
            "CronJob" => {
                let object: CronJob = serde_json::from_value(value).ok()?;
                let template = object.spec?.job_template.spec?.template;
                (object.metadata, template, 1, Vec::new())
            }
            _ => {
                let object: Pod = serde_json::from_value(value).ok()?;
                let template = PodTemplateSpec {
                    metadata: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                        labels: object.metadata.labels.clone(),
                        ..Default::default()
                    }),
                    spec: object.spec.clone(),
                };
                (object.metadata, template, 1, Vec::new())
            }
        };
        Some(Self {
            doc,
            cluster,
            kind,
            namespace: metadata.namespace,
            name: metadata.name?,
            template,
            replicas,
            first_ordinal,
            selector_labels,
            claim_templates,
        })
    }

    /// The claim names the workload's pods mount: the `persistentVolumeClaim`
    /// volumes of the template, and a StatefulSet's
    /// `<template>-<statefulset>-<ordinal>` claims.
    pub fn mounts(&self, claim: &str) -> bool {
        let volumes = self
            .template
            .spec
            .as_ref()
            .and_then(|spec| spec.volumes.as_ref());
        let direct = volumes.into_iter().flatten().any(|volume| {
            volume
                .persistent_volume_claim
                .as_ref()
                .is_some_and(|source| source.claim_name == claim)
        });
        direct || self.claims().iter().any(|made| made.name == claim)
    }

    /// The claims a StatefulSet makes, by ordinal and then template.
    pub fn claims(&self) -> Vec<StatefulClaim<'_>> {
        let mut claims = Vec::new();
        let first = self.first_ordinal.max(0);
        let last = first.saturating_add(self.replicas.clamp(0, MAX_REPLICAS));
        for ordinal in first..last {
            for template in &self.claim_templates {
                let Some(template_name) = template.metadata.name.as_deref() else {
                    continue;
                };
                claims.push(StatefulClaim {
                    name: format!("{template_name}-{}-{ordinal}", self.name),
                    template,
                    ordinal,
                });
            }
        }
        claims
    }

    /// `Kind/name`, as `explain` shows the source of a value.
    pub fn reference(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}

/// One claim a StatefulSet makes for one replica.
#[derive(Debug, Clone)]
pub struct StatefulClaim<'a> {
    pub name: String,
    pub template: &'a PersistentVolumeClaim,
    pub ordinal: i32,
}
