//! The explain report: each entry with its next runs, and per repository
//! how many entries start in each hour of the week, the busiest hour and the
//! crowded ones. Built from [`entries`](super::entries) only; the text, JSON
//! and SVG views render this one value.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, SecondsFormat, TimeDelta, Timelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::entries::{Component, Entry, RepositoryRef};
use super::runs::Starts;
use crate::model::{Model, Run};

pub const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

pub const DEFAULT_NEXT_RUNS: usize = 3;
pub const DEFAULT_MAX_STARTS_PER_HOUR: usize = 4;

#[derive(Debug, Clone)]
pub struct Options {
    /// Next runs and the week are counted from here.
    pub now: DateTime<Utc>,
    pub next_runs: usize,
    /// An hour in which more entries than this start on one repository is
    /// reported as crowded.
    pub max_starts_per_hour: usize,
    /// The time zone of the week; by default the one all schedules share,
    /// else UTC.
    pub time_zone: Option<Tz>,
}

impl Options {
    pub fn at(now: DateTime<Utc>) -> Self {
        Self {
            now,
            next_runs: DEFAULT_NEXT_RUNS,
            max_starts_per_hour: DEFAULT_MAX_STARTS_PER_HOUR,
            time_zone: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub now: String,
    /// The start of the week, for the text view.
    #[serde(skip)]
    pub week_from_local: String,
    /// The time zone of the week grids.
    pub time_zone: String,
    /// The week counted: the seven days from `now`.
    pub week_from: String,
    pub week_to: String,
    pub max_starts_per_hour: usize,
    pub entries: Vec<EntryReport>,
    pub repositories: Vec<RepositoryReport>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryReport {
    pub component: Component,
    pub plan: String,
    pub namespace: String,
    pub name: String,
    /// `file:line` of the entry.
    pub source: String,
    pub identity: Option<String>,
    pub repository: String,
    pub copy_method: Option<&'static str>,
    pub run: RunReport,
    /// RFC 3339, in the entry's time zone.
    pub next_runs: Vec<String>,
    /// The same times for people: `Sun 2026-03-29 03:00 CEST (+02:00)`.
    #[serde(skip)]
    pub next_runs_local: Vec<String>,
    /// Kopia's retention keys (`keepDaily`, …) and counts.
    pub retention: serde_json::Map<String, serde_json::Value>,
    #[serde(skip)]
    pub title: String,
    /// The same retention in the plan's words, for the text view.
    #[serde(skip)]
    pub retention_labels: Vec<(&'static str, u64)>,
    /// Every field of a backup's policy, its value and the place of the
    /// plan that sets it.
    pub policy: Vec<crate::model::PolicySetting>,
    /// With workload hooks: each step in order, and where it runs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<String>,
    /// The `pvcSelector` or `statefulSet` entry a backup was expanded from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expanded_from: Option<crate::model::Expansion>,
    /// Mover settings taken from the workload that mounts the claim.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inferred: Vec<crate::model::Inferred>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum RunReport {
    #[serde(rename_all = "camelCase")]
    Scheduled {
        /// As written, `H` tokens included.
        schedule: String,
        /// What the CronJob gets.
        cron: String,
        /// The CronJob's `timeZone`; `null`: the controller's (assumed UTC).
        time_zone: Option<String>,
        suspended: bool,
        cron_job: String,
    },
    #[serde(rename_all = "camelCase")]
    Manual { token: String, job: String },
    #[serde(rename_all = "camelCase")]
    OnDemand { cron_job: String },
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryReport {
    pub plan: String,
    pub name: String,
    pub location: String,
    /// Every entry using it (`backup web/web-data`).
    pub entries: Vec<String>,
    /// `week[day][hour]`: how many entries start in that hour, Monday first,
    /// in the report's time zone.
    pub week: Vec<Vec<usize>>,
    pub busiest: Option<Slot>,
    /// Hours with more than `maxStartsPerHour` entries starting.
    pub crowded: Vec<Slot>,
    #[serde(skip)]
    pub slots: Vec<Vec<Vec<String>>>,
}

/// One hour of the week and the entries that start in it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Slot {
    pub day: &'static str,
    pub hour: u32,
    pub count: usize,
    pub entries: Vec<String>,
}

pub fn explain(model: &Model, options: &Options) -> Report {
    report(&super::entries::entries(model), options)
}

/// The report of a list of entries.
pub fn report(entries: &[Entry], options: &Options) -> Report {
    let mut warnings = Vec::new();
    // The start times of every active schedule, by entry index.
    let mut schedules: BTreeMap<usize, Starts> = BTreeMap::new();
    for (index, entry) in entries.iter().enumerate() {
        if let Run::Scheduled(schedule) = &entry.run
            && !schedule.suspended
        {
            match Starts::new(&schedule.cron, schedule.time_zone.as_deref()) {
                Ok(starts) => {
                    schedules.insert(index, starts);
                }
                Err(error) => warnings.push(format!("{}: {error}", entry.title())),
            }
        }
    }
    let zone = options.time_zone.unwrap_or_else(|| {
        let zones: BTreeMap<&str, Tz> = schedules
            .values()
            .map(|starts| (starts.zone().name(), starts.zone()))
            .collect();
        match zones.len() {
            1 => zones.into_values().next().unwrap_or(Tz::UTC),
            _ => Tz::UTC,
        }
    });
    let week_from = options.now;
    let week_to = options.now + TimeDelta::days(7);

    let entry_reports = entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let next_runs = schedules
                .get(&index)
                .map(|starts| starts.next(options.now, options.next_runs))
                .unwrap_or_default();
            entry_report(entry, &next_runs)
        })
        .collect();

    let mut by_repository: BTreeMap<&RepositoryRef, Vec<usize>> = BTreeMap::new();
    for (index, entry) in entries.iter().enumerate() {
        by_repository
            .entry(&entry.repository)
            .or_default()
            .push(index);
    }
    let mut repositories = Vec::new();
    for (repository, members) in by_repository {
        let mut slots: Vec<Vec<BTreeSet<usize>>> = vec![vec![BTreeSet::new(); 24]; 7];
        for index in &members {
            let Some(starts) = schedules.get(index) else {
                continue;
            };
            for start in starts.between(week_from, week_to) {
                let local = start.with_timezone(&zone);
                let day = local.weekday().num_days_from_monday() as usize;
                slots[day][local.hour() as usize].insert(*index);
            }
        }
        let titles = |set: &BTreeSet<usize>| -> Vec<String> {
            set.iter().map(|i| entries[*i].title()).collect()
        };
        let slot = |day: usize, hour: usize| Slot {
            day: DAYS[day],
            hour: hour as u32,
            count: slots[day][hour].len(),
            entries: titles(&slots[day][hour]),
        };
        let mut busiest: Option<Slot> = None;
        let mut crowded = Vec::new();
        for (day, hours) in slots.iter().enumerate() {
            for (hour, starting) in hours.iter().enumerate() {
                let count = starting.len();
                if count > 0 && busiest.as_ref().is_none_or(|b| count > b.count) {
                    busiest = Some(slot(day, hour));
                }
                if count > options.max_starts_per_hour {
                    crowded.push(slot(day, hour));
                }
            }
        }
        warnings.extend(crowding_warnings(repository, &crowded, options, zone));
        warnings.extend(super::replica_overlap::warnings(
            repository, entries, &slots, zone,
        ));
        repositories.push(RepositoryReport {
            plan: repository.plan.clone(),
            name: repository.name.clone(),
            location: repository.location.clone(),
            entries: members.iter().map(|i| entries[*i].title()).collect(),
            week: slots
                .iter()
                .map(|day| day.iter().map(BTreeSet::len).collect())
                .collect(),
            busiest,
            crowded,
            slots: slots
                .iter()
                .map(|day| day.iter().map(titles).collect())
                .collect(),
        });
    }

    Report {
        now: options.now.to_rfc3339_opts(SecondsFormat::Secs, true),
        week_from_local: local_time(&week_from.with_timezone(&zone)),
        time_zone: zone.name().to_owned(),
        week_from: week_from
            .with_timezone(&zone)
            .to_rfc3339_opts(SecondsFormat::Secs, false),
        week_to: week_to
            .with_timezone(&zone)
            .to_rfc3339_opts(SecondsFormat::Secs, false),
        max_starts_per_hour: options.max_starts_per_hour,
        entries: entry_reports,
        repositories,
        warnings,
    }
}

/// One warning per crowded hour and set of entries, naming the days it
/// happens on: a daily schedule gives one warning, not seven.
fn crowding_warnings(
    repository: &RepositoryRef,
    crowded: &[Slot],
    options: &Options,
    zone: Tz,
) -> Vec<String> {
    struct Group<'a> {
        hour: u32,
        entries: &'a [String],
        days: Vec<&'static str>,
    }
    let mut groups: Vec<Group> = Vec::new();
    for slot in crowded {
        match groups
            .iter_mut()
            .find(|g| g.hour == slot.hour && g.entries == slot.entries.as_slice())
        {
            Some(group) => group.days.push(slot.day),
            None => groups.push(Group {
                hour: slot.hour,
                entries: &slot.entries,
                days: vec![slot.day],
            }),
        }
    }
    groups
        .into_iter()
        .map(
            |Group {
                 hour,
                 entries,
                 days,
             }| {
                let days = if days.len() == 7 {
                    "every day".to_owned()
                } else {
                    format!("on {}", days.join(", "))
                };
                format!(
                    "{} entries start on repository `{}` (plan {}) between {hour:02}:00 and \
                 {hour:02}:59 {zone} {days}, more than {}: {}",
                    entries.len(),
                    repository.name,
                    repository.plan,
                    options.max_starts_per_hour,
                    entries.join(", ")
                )
            },
        )
        .collect()
}

/// How the text view writes a time: weekday, date, time, zone and offset.
pub fn local_time(time: &DateTime<Tz>) -> String {
    time.format("%a %Y-%m-%d %H:%M %Z (%:z)").to_string()
}

fn entry_report(entry: &Entry, next_runs: &[DateTime<Tz>]) -> EntryReport {
    let object = entry.object_name.clone();
    let run = match &entry.run {
        Run::Scheduled(schedule) => RunReport::Scheduled {
            schedule: schedule.written.clone(),
            cron: schedule.cron.clone(),
            time_zone: schedule.time_zone.clone(),
            suspended: schedule.suspended,
            cron_job: object,
        },
        Run::Manual { token } => RunReport::Manual {
            token: token.clone(),
            job: object,
        },
        Run::OnDemand => RunReport::OnDemand { cron_job: object },
    };
    EntryReport {
        component: entry.component,
        plan: entry.plan.clone(),
        namespace: entry.namespace.clone(),
        name: entry.name.clone(),
        source: entry.origin.to_string(),
        identity: entry.identity.as_ref().map(ToString::to_string),
        repository: entry.repository.name.clone(),
        copy_method: entry.copy_method,
        run,
        next_runs: next_runs
            .iter()
            .map(|time| time.to_rfc3339_opts(SecondsFormat::Secs, false))
            .collect(),
        next_runs_local: next_runs.iter().map(local_time).collect(),
        retention: entry
            .retention
            .iter()
            .map(|r| (r.key.to_owned(), serde_json::Value::from(r.count)))
            .collect(),
        title: entry.title(),
        retention_labels: entry.retention.iter().map(|r| (r.label, r.count)).collect(),
        policy: entry.policy.clone(),
        steps: entry.steps.clone(),
        expanded_from: entry.expansion.clone(),
        inferred: entry.inferred.clone(),
    }
}
