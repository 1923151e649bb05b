//! Expansion: a backup entry with a `pvcSelector` or a `statefulSet`
//! becomes one ordinary entry per claim it matches, named after the claim,
//! before entries are resolved; everything after (names, identities,
//! collisions, emit, monitoring) sees ordinary backups. Problems point at
//! the selector field of the entry as written.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::error::ResolveError;
use super::selection_error::SelectionError;
use super::{At, PlanResolver};
use crate::model::Expansion;
use crate::model::names::{NAME_LIMIT, object_name};
use crate::parse::{ContextContent, ContextObject, Workload};
use crate::plan::BackupSpec;

/// One backup to resolve: an entry as written, or one expanded from it.
pub(super) struct Expanded {
    /// The index of the entry as written in `spec.backups`.
    pub(super) index: usize,
    pub(super) spec: BackupSpec,
    pub(super) selection: Option<Expansion>,
}

/// The claims the StatefulSets make, as PVCs of the context: what a copy
/// of one reads (size, class, access modes) and what `pvcSelector` matches
/// (the template's labels, and the StatefulSet's selector labels, which
/// its controller adds).
pub(super) fn stateful_set_claims(workloads: &[Workload]) -> Vec<ContextObject> {
    let mut claims = Vec::new();
    for workload in workloads.iter().filter(|w| w.kind == "StatefulSet") {
        for claim in workload.claims() {
            let spec = claim.template.spec.as_ref();
            // As the StatefulSet controller labels them: the template's
            // labels, then the StatefulSet's selector (not its pod labels).
            let mut labels = claim.template.metadata.labels.clone().unwrap_or_default();
            labels.extend(workload.selector_labels.clone());
            claims.push(ContextObject {
                doc: workload.doc,
                cluster: true,
                namespace: workload.namespace.clone(),
                name: claim.name,
                content: ContextContent::PersistentVolumeClaim {
                    size: spec
                        .and_then(|s| s.resources.as_ref())
                        .and_then(|r| r.requests.as_ref())
                        .and_then(|r| r.get("storage"))
                        .map(|q| q.0.clone()),
                    storage_class_name: spec.and_then(|s| s.storage_class_name.clone()),
                    access_modes: spec
                        .and_then(|s| s.access_modes.clone())
                        .unwrap_or_default(),
                    labels,
                },
            });
        }
    }
    claims
}

/// The entry name of a backup expanded for a claim: the claim's name as a
/// DNS-1123 label (dots become dashes; a long name keeps a prefix and a
/// digest of the whole).
pub(super) fn entry_name(claim: &str) -> String {
    object_name(&[&claim.replace('.', "-")], NAME_LIMIT)
}

impl PlanResolver<'_, '_> {
    /// Every backup of the plan to resolve, entries with a selector
    /// expanded; `unique` says which written entries to consider.
    pub(super) fn expand_backups(&mut self, unique: &[bool]) -> Vec<Expanded> {
        let at_list = self.root.key("spec").key("backups");
        let input = self.input;
        let plan_namespace = input.metadata.namespace.clone().unwrap_or_default();
        // A claim an entry names with `pvc` is backed up by that entry (its
        // settings win): selectors of the plan pass over it.
        let named: std::collections::BTreeSet<(String, &str)> = input
            .spec
            .backups
            .iter()
            .filter_map(|spec| {
                let namespace = spec.namespace.clone().unwrap_or(plan_namespace.clone());
                Some((namespace, spec.pvc.as_deref()?))
            })
            .collect();
        let mut expanded = Vec::new();
        for (index, spec) in input.spec.backups.iter().enumerate() {
            if !unique[index] {
                continue;
            }
            let at = at_list.index(index);
            let written: Vec<&str> = [
                spec.pvc.is_some().then_some("pvc"),
                spec.pvc_selector.is_some().then_some("pvcSelector"),
                spec.stateful_set.is_some().then_some("statefulSet"),
            ]
            .into_iter()
            .flatten()
            .collect();
            // None at all, or `stream` beside `pvc`, is the source's own
            // error (resolve/stream.rs); a stream backup names no volume.
            let streams = spec.stream.is_some() && written.iter().all(|w| *w == "pvc");
            if written.len() > 1 && !streams {
                let problem = SelectionError::VolumeChoice {
                    name: spec.name.clone(),
                    written: written.iter().map(|w| format!("`{w}`")).collect(),
                };
                let at_problem = match written.get(1) {
                    Some(second) => at.key(second),
                    None => at.clone(),
                };
                let d = at_problem.key_error(
                    &ResolveError::Selection(problem),
                    "name one PVC with `pvc`, the PVCs of a label selector with `pvcSelector`, or the claims of a StatefulSet with `statefulSet`",
                );
                self.report(d);
                continue;
            }
            let matches = if let Some(selector) = &spec.pvc_selector {
                self.select_claims(spec, selector, &at)
            } else if let Some(name) = &spec.stateful_set {
                self.stateful_set_claims(spec, name, &at)
            } else {
                expanded.push(Expanded {
                    index,
                    spec: spec.clone(),
                    selection: None,
                });
                continue;
            };
            let namespace = spec.namespace.clone().unwrap_or(plan_namespace.clone());
            for (claim, selection) in matches {
                if named.contains(&(namespace.clone(), claim.as_str())) {
                    continue;
                }
                let mut one = spec.clone();
                one.name = entry_name(&claim);
                one.pvc = Some(claim);
                one.pvc_selector = None;
                one.stateful_set = None;
                expanded.push(Expanded {
                    index,
                    spec: one,
                    selection: Some(selection),
                });
            }
        }
        self.without_collisions(expanded)
    }

    /// The namespace an entry's claims are looked for in; `None` (reported
    /// when the entry is resolved, or here for a selector) when there is none.
    fn claim_namespace(&mut self, spec: &BackupSpec, at: &At<'_>) -> Option<String> {
        let namespace = self.namespace("backup", &spec.name, spec.namespace.as_ref(), at);
        (!namespace.is_empty()).then_some(namespace)
    }

    fn select_claims(
        &mut self,
        spec: &BackupSpec,
        selector: &LabelSelector,
        at: &At<'_>,
    ) -> Vec<(String, Expansion)> {
        let at_selector = at.key("pvcSelector");
        for (index, requirement) in selector.match_expressions.iter().flatten().enumerate() {
            if let Err(problem) = check_requirement(requirement) {
                let d = at_selector.key("matchExpressions").index(index).error(
                    &ResolveError::Selection(SelectionError::InvalidSelector { problem }),
                    "use `In` or `NotIn` with `values`, or `Exists` or `DoesNotExist` without",
                );
                self.report(d);
                return Vec::new();
            }
        }
        self.check_labels(
            &selector.match_labels.clone().unwrap_or_default(),
            &at_selector.key("matchLabels"),
        );
        let Some(namespace) = self.claim_namespace(spec, at) else {
            return Vec::new();
        };
        let claims = self
            .context
            .in_namespace("PersistentVolumeClaim", &namespace);
        let text = selector_text(selector);
        let mut found = Vec::new();
        for claim in &claims {
            if let ContextContent::PersistentVolumeClaim { labels, .. } = &claim.content
                && matches(selector, labels)
            {
                found.push((
                    claim.name.clone(),
                    Expansion {
                        entry: spec.name.clone(),
                        by: format!("pvcSelector {text}"),
                        stateful_set: None,
                    },
                ));
            }
        }
        let names_no_label = selector.match_labels.iter().flatten().next().is_none()
            && selector.match_expressions.iter().flatten().next().is_none();
        if names_no_label && !found.is_empty() {
            let d = at_selector.key_error(
                &ResolveError::Selection(SelectionError::EmptySelector {
                    namespace: namespace.clone(),
                    count: found.len(),
                }),
                "narrow it to the application's claims with `matchLabels` (such as `app.kubernetes.io/instance: <release>`) or `matchExpressions`, or name each claim with `pvc`",
            );
            self.report(d);
        }
        if found.is_empty() {
            let seen = claims
                .iter()
                .take(12)
                .map(|claim| match &claim.content {
                    ContextContent::PersistentVolumeClaim { labels, .. } if !labels.is_empty() => {
                        let labels: Vec<String> =
                            labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        format!("`{}` ({})", claim.name, labels.join(", "))
                    }
                    _ => format!("`{}` (no labels)", claim.name),
                })
                .collect();
            let d = at_selector.key_error(
                &ResolveError::Selection(SelectionError::NoClaimMatches {
                    selector: text,
                    namespace,
                    seen,
                }),
                "put the PVCs in the input (or in `--context`: `kubectl get pvc -A -o yaml > cluster.yaml`), or fix the labels",
            );
            self.report(d);
        }
        found
    }

    fn stateful_set_claims(
        &mut self,
        spec: &BackupSpec,
        name: &str,
        at: &At<'_>,
    ) -> Vec<(String, Expansion)> {
        let Some(namespace) = self.claim_namespace(spec, at) else {
            return Vec::new();
        };
        let at_field = at.key("statefulSet");
        let in_namespace = |w: &&Workload| {
            w.kind == "StatefulSet" && w.namespace.as_deref().is_none_or(|n| n == namespace)
        };
        let workloads = self.context.workloads;
        // The input's StatefulSet wins over the cluster's.
        let Some(workload) = workloads
            .iter()
            .filter(in_namespace)
            .filter(|w| w.name == name)
            .min_by_key(|w| w.cluster)
        else {
            let seen = workloads
                .iter()
                .filter(in_namespace)
                .map(|w| format!("`{}`", w.name))
                .collect();
            let d = at_field.error(
                &ResolveError::Selection(SelectionError::UnknownStatefulSet {
                    name: name.to_owned(),
                    namespace,
                    seen,
                }),
                "name a StatefulSet of the input, or pass the cluster's with `--context` (`kubectl get statefulsets -A -o yaml`)",
            );
            self.report(d);
            return Vec::new();
        };
        if workload.replicas > crate::parse::workload::MAX_REPLICAS {
            let d = at_field.error(
                &ResolveError::Selection(SelectionError::TooManyReplicas {
                    name: name.to_owned(),
                    replicas: workload.replicas,
                    limit: crate::parse::workload::MAX_REPLICAS,
                }),
                "check the StatefulSet's `replicas`; back up its claims with `pvcSelector` or `pvc` entries",
            );
            self.report(d);
            return Vec::new();
        }
        let claims = workload.claims();
        if claims.is_empty() {
            let d = at_field.error(
                &ResolveError::Selection(SelectionError::StatefulSetWithoutClaims {
                    name: name.to_owned(),
                    templates: workload.claim_templates.len(),
                    replicas: workload.replicas,
                }),
                "back up the claims its pods mount with `pvc` or `pvcSelector` instead",
            );
            self.report(d);
        }
        claims
            .into_iter()
            .map(|claim| {
                let template = claim.template.metadata.name.clone().unwrap_or_default();
                (
                    claim.name,
                    Expansion {
                        entry: spec.name.clone(),
                        by: format!(
                            "StatefulSet/{name}, claim template `{template}`, replica {}",
                            claim.ordinal
                        ),
                        stateful_set: Some((name.to_owned(), claim.ordinal)),
                    },
                )
            })
            .collect()
    }

    /// Drops (and reports) every expanded backup whose name another backup
    /// of the plan in its namespace already has; two entries as written
    /// with one name are reported by `unique_names`.
    fn without_collisions(&mut self, expanded: Vec<Expanded>) -> Vec<Expanded> {
        let at_list = self.root.key("spec").key("backups");
        let plan_namespace = self.input.metadata.namespace.clone().unwrap_or_default();
        let mut first: BTreeMap<(String, String), String> = BTreeMap::new();
        // Entries as written claim their names first.
        for one in expanded.iter().filter(|e| e.selection.is_none()) {
            let namespace = one.spec.namespace.clone().unwrap_or(plan_namespace.clone());
            let written = match &one.spec.pvc {
                Some(claim) => format!("the entry `{}` (of claim `{claim}`)", one.spec.name),
                None => format!("the entry `{}`", one.spec.name),
            };
            first.insert((namespace, one.spec.name.clone()), written);
        }
        let mut kept = Vec::new();
        for one in expanded {
            let Some(selection) = &one.selection else {
                kept.push(one);
                continue;
            };
            let namespace = one.spec.namespace.clone().unwrap_or(plan_namespace.clone());
            let key = (namespace.clone(), one.spec.name.clone());
            if let Some(earlier) = first.get(&key) {
                let field = match selection.stateful_set {
                    Some(_) => "statefulSet",
                    None => "pvcSelector",
                };
                let d = at_list.index(one.index).key(field).key_error(
                    &ResolveError::Selection(SelectionError::Collision {
                        name: one.spec.name.clone(),
                        namespace,
                        claim: one.spec.pvc.clone().unwrap_or_default(),
                        first: earlier.clone(),
                    }),
                    "narrow the selector so that each claim is selected once, or back up one of the two claims with an entry of its own (`pvc`, under another name): selectors pass over a claim an entry names",
                );
                self.report(d);
                continue;
            }
            first.insert(
                key,
                format!(
                    "the backup of `{}` expanded from entry `{}`",
                    one.spec.pvc.as_deref().unwrap_or_default(),
                    selection.entry
                ),
            );
            kept.push(one);
        }
        kept
    }
}

/// A `matchExpressions` item as Kubernetes checks it.
fn check_requirement(
    requirement: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement,
) -> Result<(), String> {
    let values = requirement.values.as_deref().unwrap_or_default();
    match requirement.operator.as_str() {
        "In" | "NotIn" if values.is_empty() => Err(format!(
            "`{}` needs at least one value",
            requirement.operator
        )),
        "Exists" | "DoesNotExist" if !values.is_empty() => {
            Err(format!("`{}` takes no values", requirement.operator))
        }
        "In" | "NotIn" | "Exists" | "DoesNotExist" => Ok(()),
        other => Err(format!("unknown operator `{other}`")),
    }
}

/// Whether `labels` match `selector`, as Kubernetes decides it.
pub(super) fn matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let by_label = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(key, value)| labels.get(key) == Some(value));
    let by_expression = selector.match_expressions.iter().flatten().all(|r| {
        let values = r.values.as_deref().unwrap_or_default();
        let value = labels.get(&r.key);
        match r.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    });
    by_label && by_expression
}

/// The selector as `explain` and messages show it: `{app: db, tier in (a, b)}`.
fn selector_text(selector: &LabelSelector) -> String {
    let mut parts: Vec<String> = selector
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    for r in selector.match_expressions.iter().flatten() {
        let values = r.values.as_deref().unwrap_or_default().join(", ");
        parts.push(match r.operator.as_str() {
            "Exists" => r.key.clone(),
            "DoesNotExist" => format!("!{}", r.key),
            operator => format!("{} {} ({values})", r.key, operator.to_lowercase()),
        });
    }
    format!("{{{}}}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn expression(key: &str, operator: &str, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.to_owned(),
            operator: operator.to_owned(),
            values: (!values.is_empty()).then(|| values.iter().map(|v| (*v).to_owned()).collect()),
        }
    }

    #[test]
    fn selectors_match_as_kubernetes_decides() {
        let claim = labels(&[("app", "db"), ("tier", "gold")]);
        let selector = |match_labels: &[(&str, &str)], expressions| LabelSelector {
            match_labels: Some(labels(match_labels)),
            match_expressions: Some(expressions),
        };
        assert!(matches(&selector(&[("app", "db")], vec![]), &claim));
        assert!(!matches(&selector(&[("app", "web")], vec![]), &claim));
        assert!(matches(&selector(&[], vec![]), &claim), "empty: everything");
        for (requirement, expected) in [
            (expression("tier", "In", &["gold", "silver"]), true),
            (expression("tier", "In", &["silver"]), false),
            (expression("tier", "NotIn", &["silver"]), true),
            (expression("zone", "NotIn", &["a"]), true),
            (expression("tier", "Exists", &[]), true),
            (expression("zone", "Exists", &[]), false),
            (expression("zone", "DoesNotExist", &[]), true),
            (expression("tier", "DoesNotExist", &[]), false),
            (expression("tier", "Equals", &["gold"]), false),
        ] {
            let text = format!("{requirement:?}");
            assert_eq!(
                matches(&selector(&[("app", "db")], vec![requirement]), &claim),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn requirements_are_checked_as_kubernetes_checks_them() {
        assert!(check_requirement(&expression("a", "In", &["x"])).is_ok());
        assert!(check_requirement(&expression("a", "In", &[])).is_err());
        assert!(check_requirement(&expression("a", "Exists", &["x"])).is_err());
        assert!(check_requirement(&expression("a", "Equals", &["x"])).is_err());
    }

    #[test]
    fn entry_names_are_dns_labels_derived_from_the_claim() {
        assert_eq!(entry_name("data-db-0"), "data-db-0");
        assert_eq!(entry_name("data.db-0"), "data-db-0");
        let long = "d".repeat(80);
        let name = entry_name(&long);
        assert!(name.len() <= 63, "{name}");
        assert_ne!(
            name,
            entry_name(&"d".repeat(81)),
            "distinct long names stay distinct"
        );
    }
}
