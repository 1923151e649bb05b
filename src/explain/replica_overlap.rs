//! Replicas against the rest of their repository: a copy that starts in the
//! same hour as a backup or the full maintenance of the repository it
//! copies competes with them for the storage, and may copy a repository
//! in the middle of a change. One warning per replica, hour and set of
//! entries, naming the days.

use std::collections::{BTreeMap, BTreeSet};

use chrono_tz::Tz;

use super::entries::{Entry, RepositoryRef};
use super::report::DAYS;
use crate::model::Component;

/// Quick maintenance runs every hour: it meets everything, and it is short.
fn competes(entry: &Entry) -> bool {
    match entry.component {
        Component::Backup => true,
        Component::Maintenance => !entry.name.ends_with("-quick"),
        _ => false,
    }
}

/// `slots[day][hour]`: the entries (indexes into `entries`) starting then.
pub fn warnings(
    repository: &RepositoryRef,
    entries: &[Entry],
    slots: &[Vec<BTreeSet<usize>>],
    zone: Tz,
) -> Vec<String> {
    // (replica, hour, the others) → days
    let mut groups: BTreeMap<(usize, usize, Vec<usize>), Vec<&'static str>> = BTreeMap::new();
    for (day, hours) in slots.iter().enumerate() {
        for (hour, starting) in hours.iter().enumerate() {
            for &replica in starting {
                if entries[replica].component != Component::Replica {
                    continue;
                }
                let others: Vec<usize> = starting
                    .iter()
                    .copied()
                    .filter(|&other| competes(&entries[other]))
                    .collect();
                if !others.is_empty() {
                    groups
                        .entry((replica, hour, others))
                        .or_default()
                        .push(DAYS[day]);
                }
            }
        }
    }
    groups
        .into_iter()
        .map(|((replica, hour, others), days)| {
            let days = if days.len() == 7 {
                "every day".to_owned()
            } else {
                format!("on {}", days.join(", "))
            };
            let others: Vec<String> = others.iter().map(|i| entries[*i].title()).collect();
            format!(
                "{} starts in the same hour as {} on repository `{}` (plan {}), between \
                 {hour:02}:00 and {hour:02}:59 {zone} {days}: the copy competes with them for \
                 the storage and may copy the repository halfway through a change; move its \
                 `schedule`",
                entries[replica].title(),
                others.join(", "),
                repository.name,
                repository.plan,
            )
        })
        .collect()
}
