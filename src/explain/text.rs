//! The explain report as text for a person at a terminal.

use std::fmt::Write as _;

use super::report::{DAYS, Report, RunReport};

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let entries = plural(report.entries.len(), "entry", "entries");
    let repositories = plural(report.repositories.len(), "repository", "repositories");
    let _ = writeln!(
        out,
        "{entries} on {repositories}; next runs from {}\n",
        report.now
    );
    for entry in &report.entries {
        let _ = writeln!(out, "{}  ({})", entry.title, entry.source);
        let field = |out: &mut String, name: &str, value: &str| {
            let _ = writeln!(out, "  {name:<12} {value}");
        };
        field(&mut out, "plan", &entry.plan);
        if let Some(identity) = &entry.identity {
            field(&mut out, "identity", identity);
        }
        let location = report
            .repositories
            .iter()
            .find(|r| r.plan == entry.plan && r.name == entry.repository)
            .map(|r| format!("{} ({})", r.name, r.location))
            .unwrap_or_else(|| entry.repository.clone());
        field(&mut out, "repository", &location);
        if let Some(copy_method) = entry.copy_method {
            field(&mut out, "copy method", copy_method);
        }
        let namespace = &entry.namespace;
        let (run, next_runs_missing) = match &entry.run {
            RunReport::Scheduled {
                schedule,
                cron,
                time_zone,
                suspended,
                cron_job,
            } => {
                let zone = match time_zone {
                    Some(zone) => zone.clone(),
                    None => "the cluster's time zone, assumed UTC".to_owned(),
                };
                let written = if schedule == cron {
                    format!("`{cron}`")
                } else {
                    format!("`{schedule}` → `{cron}`")
                };
                let paused = if *suspended { ", paused" } else { "" };
                (
                    format!("{written} in {zone} (CronJob {namespace}/{cron_job}{paused})"),
                    if *suspended {
                        "none while paused"
                    } else {
                        "none found"
                    },
                )
            }
            RunReport::Manual { token, job } => (
                format!("once for the token `{token}` (Job {namespace}/{job})"),
                "when the Job is applied",
            ),
            RunReport::OnDemand { cron_job } => (
                format!(
                    "on demand (suspended CronJob {namespace}/{cron_job}): \
                     `kubectl -n {namespace} create job --from=cronjob/{cron_job} <name>`"
                ),
                "when started by hand",
            ),
        };
        field(&mut out, "runs", &run);
        let mut next = entry.next_runs_local.iter();
        match next.next() {
            Some(first) => {
                field(&mut out, "next runs", first);
                for time in next {
                    field(&mut out, "", time);
                }
            }
            None => field(&mut out, "next runs", next_runs_missing),
        }
        let retention = if entry.retention_labels.is_empty() {
            "not set: the repository's global policy applies".to_owned()
        } else {
            entry
                .retention_labels
                .iter()
                .map(|(label, count)| format!("{label} {count}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        field(&mut out, "retention", &retention);
        for (index, step) in entry.steps.iter().enumerate() {
            let name = if index == 0 { "steps" } else { "" };
            field(&mut out, name, &format!("{}. {step}", index + 1));
        }
        if let Some(expansion) = &entry.expanded_from {
            field(
                &mut out,
                "expanded",
                &format!("from entry `{}`: {}", expansion.entry, expansion.by),
            );
        }
        for (index, inferred) in entry.inferred.iter().enumerate() {
            field(
                &mut out,
                if index == 0 { "inferred" } else { "" },
                &format!(
                    "{} = {}  (from {})",
                    inferred.field, inferred.value, inferred.from
                ),
            );
        }
        if entry.component == crate::model::Component::Backup {
            let mut policy = entry.policy.iter();
            let line = |s: &crate::model::PolicySetting| {
                format!("{} = {}  ({})", s.field, s.value, s.from)
            };
            match policy.next() {
                Some(first) => {
                    field(&mut out, "policy", &line(first));
                    for setting in policy {
                        field(&mut out, "", &line(setting));
                    }
                    field(
                        &mut out,
                        "",
                        "every other field: the repository's global policy",
                    );
                }
                None => field(
                    &mut out,
                    "policy",
                    "the repository's global policy, every field",
                ),
            }
        }
        out.push('\n');
    }
    for repository in &report.repositories {
        let _ = writeln!(
            out,
            "repository {} (plan {}): {}",
            repository.name, repository.plan, repository.location
        );
        let _ = writeln!(
            out,
            "  {}: {}",
            plural(repository.entries.len(), "entry", "entries"),
            repository.entries.join(", ")
        );
        let _ = writeln!(
            out,
            "  entries starting per hour in the 7 days from {} ({}):",
            report.week_from_local, report.time_zone
        );
        out.push_str("       ");
        for hour in 0..24 {
            let _ = write!(out, " {hour:02}");
        }
        out.push('\n');
        for (day, counts) in DAYS.iter().zip(&repository.week) {
            let _ = write!(out, "  {:<5}", &day[..3]);
            for count in counts {
                match count {
                    0 => out.push_str("  ."),
                    count => {
                        let _ = write!(out, " {count:>2}");
                    }
                }
            }
            out.push('\n');
        }
        match &repository.busiest {
            Some(slot) => {
                let _ = writeln!(
                    out,
                    "  busiest hour: {} {:02}:00–{:02}:59, {} starting: {}",
                    slot.day,
                    slot.hour,
                    slot.hour,
                    plural(slot.count, "entry", "entries"),
                    slot.entries.join(", ")
                );
            }
            None => out.push_str("  busiest hour: none, nothing is scheduled this week\n"),
        }
        out.push('\n');
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "warning: {warning}");
    }
    out
}

fn plural(count: usize, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}
