//! `kopiaplan diff --guard`: the changes between a previous output and the
//! compiled one that cost backup history or break the next apply, each
//! stopped unless the plan acknowledges exactly that change.
//!
//! The guard reads objects, not plans, so that the previous side can be any
//! committed output (a golden file, an `--output-dir`): each entry is found
//! by the labels every generated object carries (plan, component, entry
//! name) on the CronJob or Job that runs it, and its Kopia source,
//! repository and maintenance owner by the annotations beside them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;

use super::Object;
use crate::diagnostics::{Code, Diagnostic, DiagnosticKind, Diagnostics, Severity, Span};
use crate::emit::labels;
use crate::model::Model;
use crate::plan::{AcknowledgedChange, GuardedChange};
use crate::resolve::checks::quantity_bytes;

/// One dangerous change: its kind, the entry (`backup/web-data`) of a plan,
/// and the values before and after as an acknowledgement must repeat them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub plan: String,
    pub namespace: String,
    pub change: GuardedChange,
    pub entry: String,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Why the change happens, when the objects tell (not part of the
    /// acknowledgement): the StatefulSet replica a removed backup was for.
    pub because: Option<String>,
}

impl Finding {
    fn acknowledged_by(&self, plan: &str, acknowledged: &AcknowledgedChange) -> bool {
        self.plan == plan
            && self.change == acknowledged.change
            && self.entry == acknowledged.entry
            && self.from == acknowledged.from
            && self.to == acknowledged.to
    }

    /// The `acknowledge` item that lets this change pass, as YAML.
    pub fn acknowledgement(&self) -> String {
        let mut text = format!("{{change: {}, entry: {}", self.change.as_str(), self.entry);
        for (key, value) in [("from", &self.from), ("to", &self.to)] {
            if let Some(value) = value {
                // JSON strings are YAML double-quoted scalars.
                let quoted = serde_json::to_string(value).unwrap_or_default();
                text.push_str(&format!(", {key}: {quoted}"));
            }
        }
        text.push('}');
        text
    }
}

/// What the guard reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardError {
    /// A dangerous change the plan does not acknowledge.
    Unacknowledged(Finding),
    /// An `acknowledge` item that matches no change (warning).
    UnmatchedAcknowledgement { plan: String, written: String },
}

impl fmt::Display for GuardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unacknowledged(finding) => {
                let entry = format!("`{}` of plan `{}`", finding.entry, finding.plan);
                let from = finding.from.as_deref().unwrap_or_default();
                let to = finding.to.as_deref().unwrap_or_default();
                match finding.change {
                    GuardedChange::IdentityChanges => write!(
                        f,
                        "{entry} changes its Kopia source from {from} to {to}: the snapshots of {from} no longer get retention, and restores by the new source do not find them"
                    ),
                    GuardedChange::RepositoryChanges => write!(
                        f,
                        "{entry} moves from repository {from} to {to}: its history stays behind, and the first backup in {to} starts from nothing"
                    ),
                    GuardedChange::RetentionDecreases => write!(
                        f,
                        "{entry} keeps fewer snapshots ({from} becomes {to}): the next maintenance deletes the ones beyond"
                    ),
                    GuardedChange::BackupRemoved => {
                        write!(
                            f,
                            "{entry} is removed: its backups stop, and nothing reports it"
                        )?;
                        match &finding.because {
                            Some(expanded) if expanded.starts_with("StatefulSet/") => write!(
                                f,
                                " (it backed up {expanded}: the StatefulSet has fewer replicas or claim templates now)"
                            ),
                            Some(expanded) => write!(
                                f,
                                " (it was selected by {expanded}, which no longer matches its claim)"
                            ),
                            None => Ok(()),
                        }
                    }
                    GuardedChange::ManualJobChanges => write!(
                        f,
                        "{entry} changes the pod template of its Job `{from}` under the same name: `kubectl apply` of an output compiled without the previous one fails on the immutable field (`compile --previous` or `--output-dir` keeps the issued Job as it was; a new token runs the entry again)"
                    ),
                    GuardedChange::MaintenanceOwnerChanges => write!(
                        f,
                        "{entry} changes the maintenance owner from {from} to {to}: the new owner takes over maintenance of the repository"
                    ),
                    GuardedChange::CreationOptionsChange => write!(
                        f,
                        "{entry} changes the options its repository is created with from {from} to {to}: they apply only when a backup creates the repository, never to an existing one"
                    ),
                    GuardedChange::ClaimChanges => write!(
                        f,
                        "{entry} changes the spec of its PersistentVolumeClaim `{from}` beyond a larger size: `kubectl apply` fails on the immutable field (delete the claim first, or give it another name)"
                    ),
                }
            }
            Self::UnmatchedAcknowledgement { plan, written } => write!(
                f,
                "the acknowledged change {written} of plan `{plan}` matches no change against the previous output"
            ),
        }
    }
}

impl DiagnosticKind for GuardError {
    fn code(&self) -> Code {
        match self {
            Self::Unacknowledged(finding) => match finding.change {
                GuardedChange::IdentityChanges => Code::IdentityChanges,
                GuardedChange::RepositoryChanges => Code::RepositoryChanges,
                GuardedChange::RetentionDecreases => Code::RetentionDecreases,
                GuardedChange::BackupRemoved => Code::BackupRemoved,
                GuardedChange::ManualJobChanges => Code::ManualJobChanges,
                GuardedChange::MaintenanceOwnerChanges => Code::MaintenanceOwnerChanges,
                GuardedChange::ClaimChanges => Code::ClaimChanges,
                GuardedChange::CreationOptionsChange => Code::CreationOptionsChange,
            },
            Self::UnmatchedAcknowledgement { .. } => Code::UnmatchedAcknowledgement,
        }
    }

    fn severity(&self) -> Severity {
        match self {
            Self::Unacknowledged(_) => Severity::Error,
            Self::UnmatchedAcknowledgement { .. } => Severity::Warning,
        }
    }
}

/// What the guard found: errors for unacknowledged changes, warnings for
/// acknowledgements that match nothing, and how many changes passed.
pub struct Verdict {
    pub diagnostics: Diagnostics,
    pub acknowledged: usize,
}

impl Verdict {
    /// Whether a change was found that the plans do not acknowledge.
    pub fn stops(&self) -> bool {
        self.diagnostics.has_errors()
    }
}

/// Compares `previous` with `compiled` and judges every dangerous change
/// against the acknowledgements of `model`'s plans.
pub fn guard(previous: &[Object], compiled: &[Object], model: &Model) -> Verdict {
    let findings = findings(previous, compiled);
    let mut diagnostics = Diagnostics::default();
    let mut matched = BTreeSet::new();
    let mut acknowledged = 0;
    for finding in &findings {
        let by = model.plans.iter().enumerate().find_map(|(p, plan)| {
            plan.acknowledged
                .iter()
                .position(|a| finding.acknowledged_by(&plan.name, &a.change))
                .map(|a| (p, a))
        });
        if let Some(found) = by {
            matched.insert(found);
            acknowledged += 1;
            continue;
        }
        diagnostics.push(
            Diagnostic::new(&GuardError::Unacknowledged(finding.clone()))
                .at(span_of(model, finding))
                .help(format!(
                    "if this is intended, add to `spec.acknowledge` of plan `{}`: - {}",
                    finding.plan,
                    finding.acknowledgement()
                )),
        );
    }
    for (p, plan) in model.plans.iter().enumerate() {
        for (a, item) in plan.acknowledged.iter().enumerate() {
            if matched.contains(&(p, a)) {
                continue;
            }
            let written = Finding {
                plan: plan.name.clone(),
                namespace: String::new(),
                change: item.change.change,
                entry: item.change.entry.clone(),
                from: item.change.from.clone(),
                to: item.change.to.clone(),
                because: None,
            }
            .acknowledgement();
            diagnostics.push(
                Diagnostic::new(&GuardError::UnmatchedAcknowledgement {
                    plan: plan.name.clone(),
                    written,
                })
                .at(Some(item.span))
                .help("remove it once the change has landed; otherwise check its values against the guard's output"),
            );
        }
    }
    Verdict {
        diagnostics: diagnostics.sorted(),
        acknowledged,
    }
}

/// Where the finding's entry is written now (or its plan, for a removed
/// entry); nowhere when its plan is gone too.
fn span_of(model: &Model, finding: &Finding) -> Option<Span> {
    let entry = model.entries().find(|entry| {
        model.plans[entry.plan.0].name == finding.plan
            && format!("{}/{}", entry.component, entry.name) == finding.entry
    });
    entry.map(|entry| entry.span).or_else(|| {
        model
            .plans
            .iter()
            .find(|plan| plan.name == finding.plan)
            .and_then(|plan| plan.acknowledged.first().map(|a| a.span))
    })
}

/// An entry as its objects show it.
#[derive(Debug, Default)]
struct Seen<'a> {
    namespace: String,
    /// The CronJob or Job that runs it.
    run: Option<&'a Object>,
    kopia_source: Option<String>,
    repository: Option<String>,
    owner: Option<String>,
    /// How it was expanded from a `pvcSelector` or `statefulSet` entry.
    expanded_from: Option<String>,
    /// The options a backup creates its repository with.
    creation: Option<String>,
    /// `keepLatest` … `keepAnnual` of its policy ConfigMap (backups).
    retention: BTreeMap<String, Option<u64>>,
    /// The claims it creates (a cache, a restore's destination), by name.
    claims: BTreeMap<String, &'a Object>,
}

/// (plan, `component/name`)
type EntryKey = (String, String);

fn entries(objects: &[Object]) -> BTreeMap<EntryKey, Seen<'_>> {
    let mut entries: BTreeMap<EntryKey, Seen<'_>> = BTreeMap::new();
    for object in objects {
        let value = object.value();
        let metadata = &value["metadata"];
        let label = |key: &str| metadata["labels"][key].as_str();
        if label(labels::MANAGED_BY) != Some("kopiaplan") {
            continue;
        }
        let (Some(plan), Some(component), Some(name)) = (
            label(labels::PART_OF),
            label(labels::COMPONENT),
            label(labels::INSTANCE),
        ) else {
            continue;
        };
        let key = (plan.to_owned(), format!("{component}/{name}"));
        let annotation = |key: &str| metadata["annotations"][key].as_str().map(str::to_owned);
        match object.kind.as_str() {
            "CronJob" | "Job" => {
                let seen = entries.entry(key).or_default();
                seen.namespace = object.namespace.clone();
                seen.run = Some(object);
                seen.kopia_source = annotation(labels::KOPIA_SOURCE);
                seen.repository = annotation(labels::REPOSITORY);
                seen.owner = annotation(labels::MAINTENANCE_OWNER);
                seen.expanded_from = annotation(labels::EXPANDED_FROM);
                seen.creation = annotation(labels::CREATION);
            }
            "PersistentVolumeClaim" => {
                let seen = entries.entry(key).or_default();
                seen.claims.insert(object.name.clone(), object);
            }
            "ConfigMap" => {
                let Some(policy) = value["data"]["policy.json"].as_str() else {
                    continue;
                };
                let Ok(policy) = serde_json::from_str::<Value>(policy) else {
                    continue;
                };
                // `{"user@host:path": {policy}}`: one source per ConfigMap.
                let Some(policy) = policy.as_object().and_then(|p| p.values().next()) else {
                    continue;
                };
                let seen = entries.entry(key).or_default();
                for field in RETENTION {
                    seen.retention
                        .insert((*field).to_owned(), policy["retention"][*field].as_u64());
                }
            }
            _ => {}
        }
    }
    entries.retain(|_, seen| seen.run.is_some());
    entries
}

const RETENTION: &[&str] = &[
    "keepLatest",
    "keepHourly",
    "keepDaily",
    "keepWeekly",
    "keepMonthly",
    "keepAnnual",
];

/// Every dangerous change from `previous` to `compiled`, in a stable order.
pub fn findings(previous: &[Object], compiled: &[Object]) -> Vec<Finding> {
    let before = entries(previous);
    let after = entries(compiled);
    let mut findings = Vec::new();
    let mut owner_changes = BTreeSet::new();
    for ((plan, entry), old) in &before {
        let finding = |change, from: Option<String>, to: Option<String>| Finding {
            plan: plan.clone(),
            namespace: old.namespace.clone(),
            change,
            entry: entry.clone(),
            from,
            to,
            because: None,
        };
        let Some(new) = after.get(&(plan.clone(), entry.clone())) else {
            if entry.starts_with("backup/") {
                findings.push(Finding {
                    because: old.expanded_from.clone(),
                    ..finding(GuardedChange::BackupRemoved, None, None)
                });
            }
            continue;
        };
        if entry.starts_with("backup/") {
            if old.kopia_source != new.kopia_source {
                findings.push(finding(
                    GuardedChange::IdentityChanges,
                    old.kopia_source.clone(),
                    new.kopia_source.clone(),
                ));
            }
            if old.repository != new.repository {
                findings.push(finding(
                    GuardedChange::RepositoryChanges,
                    old.repository.clone(),
                    new.repository.clone(),
                ));
            }
            for field in RETENTION {
                let count = |seen: &Seen<'_>| seen.retention.get(*field).copied().flatten();
                let (Some(was), now) = (count(old), count(new)) else {
                    continue;
                };
                // A count left out is the repository's global policy's:
                // possibly fewer, so it is reported too.
                if now.is_none_or(|now| now < was) {
                    let now = now.map_or("inherited".to_owned(), |n| n.to_string());
                    findings.push(finding(
                        GuardedChange::RetentionDecreases,
                        Some(format!("{field}: {was}")),
                        Some(format!("{field}: {now}")),
                    ));
                }
            }
        }
        // Quick and full maintenance of one repository change owner
        // together: one finding, on the first of them.
        if entry.starts_with("maintenance/")
            && old.owner != new.owner
            && owner_changes.insert((plan.clone(), old.namespace.clone(), old.repository.clone()))
        {
            findings.push(finding(
                GuardedChange::MaintenanceOwnerChanges,
                old.owner.clone(),
                new.owner.clone(),
            ));
        }
        if entry.starts_with("backup/") && old.creation != new.creation {
            findings.push(finding(
                GuardedChange::CreationOptionsChange,
                Some(
                    old.creation
                        .clone()
                        .unwrap_or_else(|| "Kopia's defaults".into()),
                ),
                Some(
                    new.creation
                        .clone()
                        .unwrap_or_else(|| "Kopia's defaults".into()),
                ),
            ));
        }
        if let (Some(old_run), Some(new_run)) = (old.run, new.run)
            && old_run.kind == "Job"
            && new_run.kind == "Job"
            && old_run.name == new_run.name
            && old_run.namespace == new_run.namespace
            && old_run.value()["spec"]["template"] != new_run.value()["spec"]["template"]
        {
            findings.push(finding(
                GuardedChange::ManualJobChanges,
                Some(old_run.name.clone()),
                None,
            ));
        }
        for (name, old_claim) in &old.claims {
            if let Some(new_claim) = new.claims.get(name)
                && !only_grows(&old_claim.value()["spec"], &new_claim.value()["spec"])
            {
                findings.push(finding(
                    GuardedChange::ClaimChanges,
                    Some(name.clone()),
                    None,
                ));
            }
        }
    }
    findings.sort();
    findings
}

/// Whether a claim's spec is the same but for a larger storage request,
/// the one change Kubernetes allows (where the class allows expansion).
fn only_grows(old: &Value, new: &Value) -> bool {
    let storage = |spec: &Value| {
        spec["resources"]["requests"]["storage"]
            .as_str()
            .map(str::to_owned)
    };
    let without_storage = |spec: &Value| {
        let mut spec = spec.clone();
        if let Some(requests) = spec
            .pointer_mut("/resources/requests")
            .and_then(Value::as_object_mut)
        {
            requests.remove("storage");
        }
        spec
    };
    if without_storage(old) != without_storage(new) {
        return false;
    }
    match (storage(old), storage(new)) {
        (Some(old), Some(new)) if old != new => {
            match (quantity_bytes(&old), quantity_bytes(&new)) {
                (Ok(old), Ok(new)) => new >= old,
                _ => false,
            }
        }
        (old, new) => old == new,
    }
}
