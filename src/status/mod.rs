//! `kopiaplan status`: what is backed up and how it went, read from the
//! objects kopiaplan generated as the cluster holds them (`kubectl get
//! cronjobs,jobs,pods -o json`): one line per entry with its last success
//! against the staleness threshold the alerts use, the last result line of
//! its mover (the termination message), its next run and a state.

pub mod render;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::Pod;
use serde::Serialize;

use crate::diagnostics::{Code, DiagnosticKind};
use crate::emit::labels;
use crate::emit::pod::MOVER_CONTAINER;
use crate::emit::run::NEVER;
use crate::explain::runs::Starts;
use crate::monitoring::staleness;

/// The labels `kubectl get` selects kopiaplan's objects by.
pub const SELECTOR: &str = "app.kubernetes.io/managed-by=kopiaplan";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum State {
    Ok,
    Running,
    Paused,
    Stale,
    Failed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Running => "RUNNING",
            State::Paused => "PAUSED",
            State::Stale => "STALE",
            State::Failed => "FAILED",
        }
    }

    /// STALE and FAILED make `status` exit non-zero.
    pub fn needs_attention(self) -> bool {
        matches!(self, State::Stale | State::Failed)
    }
}

/// One entry, as the cluster shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryStatus {
    pub namespace: String,
    pub plan: String,
    pub entry: String,
    pub component: String,
    pub state: State,
    #[serde(serialize_with = "rfc3339")]
    pub last_success: Option<DateTime<Utc>>,
    /// Seconds since the last success (or since the CronJob was created,
    /// when it never succeeded).
    pub age_seconds: Option<i64>,
    /// The staleness threshold; none for paused, manual and on-demand
    /// entries.
    pub threshold_seconds: Option<i64>,
    /// `result` of the newest finished mover's result line.
    pub last_result: Option<String>,
    pub snapshot_id: Option<String>,
    pub bytes: Option<u64>,
    pub duration_seconds: Option<u64>,
    pub message: Option<String>,
    /// The result line's warning: for maintenance, too many index blobs.
    pub warning: Option<String>,
    #[serde(serialize_with = "rfc3339")]
    pub next_run: Option<DateTime<Utc>>,
}

fn rfc3339<S: serde::Serializer>(
    time: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => serializer.serialize_str(&time.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        None => serializer.serialize_none(),
    }
}

/// A Kubernetes timestamp as a chrono instant.
fn utc(time: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(time.0.as_second(), time.0.subsec_nanosecond().max(0) as u32)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusError {
    /// kubectl could not be run or failed, or its output is not the JSON
    /// of `kubectl get -o json`.
    ClusterStateUnreadable { reason: String },
}

impl std::fmt::Display for StatusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ClusterStateUnreadable { reason } => {
                write!(f, "cannot read the cluster's state: {reason}")
            }
        }
    }
}

impl DiagnosticKind for StatusError {
    fn code(&self) -> Code {
        match self {
            Self::ClusterStateUnreadable { .. } => Code::ClusterStateUnreadable,
        }
    }
}

/// The objects of a `kubectl get -o json` List (or one object).
struct Cluster {
    cron_jobs: Vec<CronJob>,
    jobs: Vec<Job>,
    pods: Vec<Pod>,
}

fn unreadable(reason: impl Into<String>) -> StatusError {
    StatusError::ClusterStateUnreadable {
        reason: reason.into(),
    }
}

impl Cluster {
    fn read(text: &str) -> Result<Cluster, StatusError> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| unreadable(format!("the input is not JSON ({e})")))?;
        let items = match value.get("items").and_then(|i| i.as_array()) {
            Some(items) => items.clone(),
            None if value.get("kind").is_some() => vec![value],
            None => {
                return Err(unreadable(
                    "the input is not the output of `kubectl get -o json` (no `items`)",
                ));
            }
        };
        let mut cluster = Cluster {
            cron_jobs: Vec::new(),
            jobs: Vec::new(),
            pods: Vec::new(),
        };
        for item in items {
            let kind = item
                .get("kind")
                .and_then(|k| k.as_str())
                .unwrap_or_default()
                .to_owned();
            let name = item
                .pointer("/metadata/name")
                .and_then(|n| n.as_str())
                .unwrap_or_default()
                .to_owned();
            let bad = |e: serde_json::Error| unreadable(format!("the {kind} `{name}`: {e}"));
            match kind.as_str() {
                "CronJob" => cluster
                    .cron_jobs
                    .push(serde_json::from_value(item).map_err(bad)?),
                "Job" => cluster
                    .jobs
                    .push(serde_json::from_value(item).map_err(bad)?),
                "Pod" => cluster
                    .pods
                    .push(serde_json::from_value(item).map_err(bad)?),
                _ => {}
            }
        }
        Ok(cluster)
    }
}

fn label<'a>(
    meta: &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    key: &str,
) -> &'a str {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(key))
        .map(String::as_str)
        .unwrap_or_default()
}

/// An entry's key: namespace, plan, component, entry.
type Key = (String, String, String, String);

fn key_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Option<Key> {
    let component = label(meta, labels::COMPONENT);
    if !["backup", "restore", "verify", "maintenance"].contains(&component) {
        return None;
    }
    Some((
        meta.namespace.clone().unwrap_or_default(),
        label(meta, labels::PART_OF).to_owned(),
        component.to_owned(),
        label(meta, labels::INSTANCE).to_owned(),
    ))
}

fn owned_by_cron_job(job: &Job, cron_job: &str) -> bool {
    job.metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.kind == "CronJob" && o.name == cron_job)
}

fn job_failed(job: &Job) -> bool {
    condition(job, "Failed")
}

fn job_succeeded(job: &Job) -> bool {
    condition(job, "Complete") || condition(job, "SuccessCriteriaMet")
}

fn condition(job: &Job, kind: &str) -> bool {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| c.type_ == kind && c.status == "True")
}

fn job_active(job: &Job) -> bool {
    job.status.as_ref().and_then(|s| s.active).unwrap_or(0) > 0
}

fn job_start(job: &Job) -> Option<DateTime<Utc>> {
    job.status
        .as_ref()
        .and_then(|s| s.start_time.as_ref())
        .and_then(utc)
        .or_else(|| job.metadata.creation_timestamp.as_ref().and_then(utc))
}

fn job_completion(job: &Job) -> Option<DateTime<Utc>> {
    job.status
        .as_ref()
        .and_then(|s| s.completion_time.as_ref())
        .and_then(utc)
}

/// The result line of a finished mover pod: the termination message of its
/// Kopia container. The kubelet lists container statuses by name, so a
/// stream's `dump` or a drill's `check` comes before `kopia`, and when it
/// fails its message is its log's tail, which may hold JSON of the user's.
/// A pod without a Kopia container (the launcher's) has one container.
fn result_line(pod: &Pod) -> Option<serde_json::Value> {
    let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
    let has_mover = statuses.iter().any(|c| c.name == MOVER_CONTAINER);
    statuses
        .iter()
        .filter(|c| !has_mover || c.name == MOVER_CONTAINER)
        .filter_map(|c| c.state.as_ref()?.terminated.as_ref()?.message.as_deref())
        .find_map(|message| {
            message
                .lines()
                .rev()
                .find_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
                .filter(|v| v.get("result").is_some())
        })
}

/// Every entry of `text` (the JSON of `kubectl get cronjobs,jobs,pods -o
/// json`) as of `now`, sorted by namespace, plan, component and entry.
pub fn status(text: &str, now: DateTime<Utc>) -> Result<Vec<EntryStatus>, StatusError> {
    let cluster = Cluster::read(text)?;
    let mut entries: BTreeMap<Key, EntryStatus> = BTreeMap::new();
    for cron_job in &cluster.cron_jobs {
        let Some(key) = key_of(&cron_job.metadata) else {
            continue;
        };
        let name = cron_job.metadata.name.clone().unwrap_or_default();
        let jobs: Vec<&Job> = cluster
            .jobs
            .iter()
            .filter(|j| {
                j.metadata.namespace == cron_job.metadata.namespace && owned_by_cron_job(j, &name)
            })
            .collect();
        let spec = cron_job.spec.clone().unwrap_or_default();
        let on_demand = spec.schedule == NEVER;
        let suspended = spec.suspend.unwrap_or(false);
        let threshold = (!suspended)
            .then(|| {
                staleness::threshold(
                    &spec.schedule,
                    spec.time_zone.as_deref(),
                    spec.starting_deadline_seconds.unwrap_or(0),
                    spec.job_template
                        .spec
                        .as_ref()
                        .and_then(|s| s.active_deadline_seconds)
                        .unwrap_or(0),
                )
            })
            .flatten();
        let last_success = cron_job
            .status
            .as_ref()
            .and_then(|s| s.last_successful_time.as_ref())
            .and_then(utc)
            .into_iter()
            .chain(
                jobs.iter()
                    .filter(|j| job_succeeded(j))
                    .filter_map(|j| job_completion(j)),
            )
            .max();
        let since = last_success.or(cron_job.metadata.creation_timestamp.as_ref().and_then(utc));
        let next_run = (!suspended)
            .then(|| Starts::new(&spec.schedule, spec.time_zone.as_deref()).ok())
            .flatten()
            .and_then(|starts| starts.next(now, 1).first().map(|t| t.with_timezone(&Utc)));
        let running = cron_job
            .status
            .as_ref()
            .and_then(|s| s.active.as_ref())
            .is_some_and(|a| !a.is_empty())
            || jobs.iter().any(|j| job_active(j));
        let state = decide(DecideInput {
            paused: suspended && !on_demand,
            running,
            jobs: &jobs,
            last_success,
            since,
            threshold,
            now,
        });
        entries.insert(
            key.clone(),
            entry_status(&key, state, last_success, since, threshold, next_run, now),
        );
    }
    // Manual Jobs: one per trigger token, no CronJob.
    for job in &cluster.jobs {
        let Some(key) = key_of(&job.metadata) else {
            continue;
        };
        let manual = job
            .metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key(labels::TRIGGER));
        if !manual || entries.contains_key(&key) {
            continue;
        }
        let last_success = job_succeeded(job).then(|| job_completion(job)).flatten();
        let state = decide(DecideInput {
            paused: false,
            running: job_active(job),
            jobs: &[job],
            last_success,
            since: last_success,
            threshold: None,
            now,
        });
        entries.insert(
            key.clone(),
            entry_status(&key, state, last_success, last_success, None, None, now),
        );
    }
    // The newest finished mover of each entry tells its last result.
    let mut newest: BTreeMap<Key, (DateTime<Utc>, serde_json::Value)> = BTreeMap::new();
    for pod in &cluster.pods {
        let (Some(key), Some(line)) = (key_of(&pod.metadata), result_line(pod)) else {
            continue;
        };
        let created = pod
            .metadata
            .creation_timestamp
            .as_ref()
            .and_then(utc)
            .unwrap_or_default();
        if newest.get(&key).is_none_or(|(at, _)| *at < created) {
            newest.insert(key, (created, line));
        }
    }
    for (key, (_, line)) in newest {
        if let Some(entry) = entries.get_mut(&key) {
            entry.last_result = line["result"].as_str().map(str::to_owned);
            entry.snapshot_id = line["snapshotId"].as_str().map(str::to_owned);
            entry.bytes = line["bytes"].as_u64();
            entry.duration_seconds = line["durationSeconds"].as_u64();
            entry.message = line["message"].as_str().map(str::to_owned);
            entry.warning = line["warning"].as_str().map(str::to_owned);
        }
    }
    Ok(entries.into_values().collect())
}

struct DecideInput<'a> {
    paused: bool,
    running: bool,
    jobs: &'a [&'a Job],
    last_success: Option<DateTime<Utc>>,
    since: Option<DateTime<Utc>>,
    threshold: Option<i64>,
    now: DateTime<Utc>,
}

/// PAUSED, then RUNNING, then FAILED (a failed Job newer than the last
/// success), then STALE (no success for longer than the threshold), else OK.
fn decide(input: DecideInput<'_>) -> State {
    if input.paused {
        return State::Paused;
    }
    if input.running {
        return State::Running;
    }
    let failed_after_success = input.jobs.iter().any(|job| {
        job_failed(job)
            && match (job_start(job), input.last_success) {
                (Some(start), Some(success)) => start > success,
                _ => true,
            }
    });
    if failed_after_success {
        return State::Failed;
    }
    if let (Some(threshold), Some(since)) = (input.threshold, input.since)
        && (input.now - since).num_seconds() > threshold
    {
        return State::Stale;
    }
    State::Ok
}

fn entry_status(
    key: &Key,
    state: State,
    last_success: Option<DateTime<Utc>>,
    since: Option<DateTime<Utc>>,
    threshold: Option<i64>,
    next_run: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> EntryStatus {
    let (namespace, plan, component, entry) = key.clone();
    EntryStatus {
        namespace,
        plan,
        entry,
        component,
        state,
        last_success,
        age_seconds: since.map(|s| (now - s).num_seconds()),
        threshold_seconds: threshold,
        last_result: None,
        snapshot_id: None,
        bytes: None,
        warning: None,
        duration_seconds: None,
        message: None,
        next_run,
    }
}
