//! When an entry runs: its schedule (with `H` resolved), trigger, time
//! zone and pause.

use super::defaults::DEFAULT_SCHEDULE;
use super::error::ResolveError;
use super::{At, PlanResolver, schedule};
use crate::model::{Run, Schedule};
use crate::plan::Trigger;

/// When an entry runs, as written on it.
pub(super) struct Timing<'s> {
    /// `backup`, `restore`, `verify` or `maintenance`: part of the `H` seed.
    pub(super) component: &'static str,
    pub(super) name: &'s str,
    pub(super) schedule: Option<&'s String>,
    /// The schedule of entries of this kind that set none (before the plan's default).
    pub(super) default_schedule: Option<&'s str>,
    pub(super) trigger: Option<&'s Trigger>,
    pub(super) paused: Option<bool>,
    pub(super) time_zone: Option<&'s String>,
}

impl PlanResolver<'_, '_> {
    pub(super) fn run(&mut self, spec: &Timing<'_>, at: &At<'_>, namespace: &str) -> Run {
        let defaults = &self.input.spec.defaults;
        let paused = spec.paused.unwrap_or(false);
        // Backups keep the seed they always had, so their times never move.
        let seed = match spec.component {
            "backup" => format!("{}/{namespace}/{}", self.input.metadata.name, spec.name),
            other => format!(
                "{}/{namespace}/{other}/{}",
                self.input.metadata.name, spec.name
            ),
        };
        let (written, at_schedule) = match spec.trigger {
            Some(trigger) => {
                let at_t = at.key("trigger");
                if spec.schedule.is_some() {
                    let d = at.key("schedule").error(
                        &ResolveError::ScheduleAndTrigger,
                        "move the schedule into `trigger.schedule`, or remove one",
                    );
                    self.report(d);
                }
                let set = [
                    trigger.manual.is_some(),
                    trigger.schedule.is_some(),
                    trigger.on_demand.is_some(),
                ];
                if set.iter().filter(|s| **s).count() != 1 {
                    let d = at_t.error(&ResolveError::TriggerKind, "keep one of them");
                    self.report(d);
                    return Run::OnDemand;
                }
                if let Some(token) = &trigger.manual {
                    if token.is_empty() || token.len() > 253 {
                        let d = at_t.key("manual").error(
                            &ResolveError::ManualTokenLength,
                            "use a date or a counter, such as \"2026-11-26\"",
                        );
                        self.report(d);
                    }
                    return Run::Manual {
                        token: token.clone(),
                    };
                }
                if trigger.on_demand == Some(false) {
                    let d = at_t.key("onDemand").error(
                        &ResolveError::OnDemandFalse,
                        "remove the trigger to use the schedule",
                    );
                    self.report(d);
                }
                if trigger.on_demand.is_some() {
                    return Run::OnDemand;
                }
                (
                    trigger.schedule.clone().unwrap_or_default(),
                    at_t.key("schedule"),
                )
            }
            None => match (spec.schedule, spec.default_schedule, &defaults.schedule) {
                (Some(s), _, _) => (s.clone(), at.key("schedule")),
                (None, Some(s), _) => (s.to_owned(), at.clone()),
                (None, None, Some(s)) => (
                    s.clone(),
                    self.root.key("spec").key("defaults").key("schedule"),
                ),
                (None, None, None) => (DEFAULT_SCHEDULE.to_owned(), at.clone()),
            },
        };
        let cron = match schedule::resolve(&written, &seed) {
            Ok(cron) => cron,
            Err(e) => {
                let d = at_schedule.error(&ResolveError::Schedule { message: e.message }, e.help);
                self.report(d);
                String::new()
            }
        };
        let time_zone = spec
            .time_zone
            .cloned()
            .or_else(|| defaults.time_zone.clone());
        if let Some(tz) = &time_zone
            && let Err(e) = schedule::check_time_zone(tz)
        {
            let at_tz = if spec.time_zone.is_some() {
                at.key("timeZone")
            } else {
                self.root.key("spec").key("defaults").key("timeZone")
            };
            let d = at_tz.error(&ResolveError::Schedule { message: e.message }, e.help);
            self.report(d);
        }
        Run::Scheduled(Schedule {
            written,
            cron,
            time_zone,
            suspended: paused,
        })
    }
}
