//! The Kopia policy of each source, checked against Kopia's policy fields:
//! the plan's defaults (`policy`, then the shortcuts `retain` and
//! `compression`), then the entry's own, which win. A default shortcut
//! never overrides what the entry's `policy` sets.

use serde_json::{Map, Value, json};

use super::At;
use super::error::ResolveError;
use crate::diagnostics::{Diagnostics, nearest};
use crate::kopia::policy::{check, merge};
use crate::model::PolicySetting;
use crate::plan::{BackupSpec, Defaults, Retain};

pub(super) fn resolve(
    defaults: &Defaults,
    spec: &BackupSpec,
    at_defaults: &At<'_>,
    at: &At<'_>,
    diagnostics: &mut Diagnostics,
) -> Value {
    let mut policy = Value::Object(Map::new());
    for (source, at_policy) in [
        (&defaults.policy, at_defaults.key("policy")),
        (&spec.policy, at.key("policy")),
    ] {
        let Some(source) = source else { continue };
        let problems = check(source);
        for problem in &problems {
            let mut at_field = at_policy.clone();
            for part in problem.path.split('.') {
                match part.split_once('[') {
                    Some((key, index)) => {
                        at_field = at_field.key(key);
                        if let Ok(i) = index.trim_end_matches(']').parse() {
                            at_field = at_field.index(i);
                        }
                    }
                    None => at_field = at_field.key(part),
                }
            }
            let at_field = if at_field.exists() {
                at_field
            } else {
                at_policy.clone()
            };
            let kind = ResolveError::InvalidPolicy {
                place: None,
                message: problem.message.clone(),
            };
            diagnostics.push(if problem.unknown_field {
                at_field.key_error(&kind, problem.help.clone())
            } else {
                at_field.error(&kind, problem.help.clone())
            });
        }
        if problems.is_empty() {
            merge(&mut policy, source);
        }
    }

    // On one level (the plan's defaults, or the entry), a shortcut and the
    // `policy` block must not disagree: which one wins would be a guess.
    for (retain, compression, own_policy, at_level) in [
        (
            &defaults.retain,
            &defaults.compression,
            &defaults.policy,
            at_defaults,
        ),
        (&spec.retain, &spec.compression, &spec.policy, at),
    ] {
        let Some(own_policy) = own_policy else {
            continue;
        };
        let mut shortcuts: Vec<(String, Value, At<'_>)> = retention_of(retain.as_ref())
            .into_iter()
            .map(|(key, value)| (format!("retention.{key}"), value, at_level.key("retain")))
            .collect();
        if let Some(name) = compression {
            shortcuts.push((
                "compression.compressorName".to_owned(),
                json!(name),
                at_level.key("compression"),
            ));
        }
        for (setting, value, at_shortcut) in shortcuts {
            let written = setting.split('.').try_fold(own_policy, |v, key| v.get(key));
            if let Some(written) = written
                && *written != value
            {
                let kind = ResolveError::SettingSetTwice {
                    setting: setting.clone(),
                    shortcut: value.to_string(),
                    policy: written.to_string(),
                };
                diagnostics.push(at_shortcut.error(
                    &kind,
                    format!("set it in one place: remove `policy.{setting}`, or this field"),
                ));
            }
        }
    }

    // The nearer level wins: the entry's shortcuts and `policy` over the
    // defaults' shortcuts, which apply only where the entry says nothing.
    let entry_sets = |setting: &str| {
        spec.policy
            .as_ref()
            .and_then(|p| setting.split('.').try_fold(p, |v, key| v.get(key)))
            .is_some()
    };
    let mut retention = retention_of(defaults.retain.as_ref());
    retention.retain(|key, _| !entry_sets(&format!("retention.{key}")));
    retention.extend(retention_of(spec.retain.as_ref()));
    let kept = |policy: &Value| {
        let periods = [
            "keepLatest",
            "keepHourly",
            "keepDaily",
            "keepWeekly",
            "keepMonthly",
            "keepAnnual",
        ];
        let values: Vec<Option<&Value>> = periods
            .iter()
            .map(|p| policy.get("retention").and_then(|r| r.get(p)))
            .collect();
        // A period not set is inherited from Kopia's global policy, which
        // keeps some: only six explicit zeros keep nothing.
        !values.iter().all(|v| v.and_then(Value::as_u64) == Some(0))
    };
    if !retention.is_empty() {
        merge(&mut policy, &json!({ "retention": retention }));
    }
    if !kept(&policy) {
        let at_retain = if spec.retain.is_some() || spec.policy.is_some() {
            at.key(if spec.retain.is_some() {
                "retain"
            } else {
                "policy"
            })
        } else {
            at_defaults.key(if defaults.retain.is_some() {
                "retain"
            } else {
                "policy"
            })
        };
        diagnostics.push(at_retain.error(
            &ResolveError::KeepsNothing,
            "keep at least one snapshot (for example `retain: {latest: 1}`); to stop backing up, set `paused: true`",
        ));
    }

    let compression = spec.compression.as_ref().or(defaults
        .compression
        .as_ref()
        .filter(|_| !entry_sets("compression.compressorName")));
    if let Some(name) = compression {
        let known = crate::kopia::compressors();
        if known.contains(&name.as_str()) {
            merge(
                &mut policy,
                &json!({ "compression": { "compressorName": name } }),
            );
        } else {
            let at_c = if spec.compression.is_some() {
                at.key("compression")
            } else {
                at_defaults.key("compression")
            };
            let help = match nearest(name, known.iter().copied()) {
                Some(n) => format!("did you mean `{n}`?"),
                None => format!("Kopia knows {}", known.join(", ")),
            };
            let kind = ResolveError::NotAKopiaValue {
                value: name.to_string(),
                expected: "a Kopia compression algorithm".into(),
            };
            diagnostics.push(at_c.error(&kind, help));
        }
    }
    policy
}

/// Where each field of the resolved `policy` comes from, in the plan's
/// words: the nearest level that sets it, a shortcut before the `policy`
/// block of its level (they may not disagree). Every field left out is the
/// repository's global policy's.
pub(super) fn sources(
    defaults: &Defaults,
    spec: &BackupSpec,
    policy: &Value,
) -> Vec<PolicySetting> {
    let sets = |policy: &Option<Value>, path: &str| {
        policy
            .as_ref()
            .and_then(|p| path.split('.').try_fold(p, |v, key| v.get(key)))
            .is_some()
    };
    let shortcut = |retain: &Option<Retain>, compression: &Option<String>, path: &str| match path
        .strip_prefix("retention.")
    {
        Some(key) => retention_of(retain.as_ref())
            .contains_key(key)
            .then_some("retain"),
        None => {
            (path == "compression.compressorName" && compression.is_some()).then_some("compression")
        }
    };
    let mut settings = Vec::new();
    let mut leaves = Vec::new();
    flatten(policy, String::new(), &mut leaves);
    for (field, value) in leaves {
        let from = if let Some(name) = shortcut(&spec.retain, &spec.compression, &field) {
            format!("the entry's `{name}`")
        } else if sets(&spec.policy, &field) {
            "the entry's `policy`".to_owned()
        } else if let Some(name) = shortcut(&defaults.retain, &defaults.compression, &field) {
            format!("`defaults.{name}`")
        } else {
            "`defaults.policy`".to_owned()
        };
        settings.push(PolicySetting {
            field,
            value: value.to_string(),
            from,
        });
    }
    settings
}

/// The leaves of a policy: `retention.keepDaily` and its value; a list is
/// one leaf.
fn flatten(value: &Value, path: String, out: &mut Vec<(String, Value)>) {
    match value.as_object() {
        Some(object) => {
            for (key, child) in object {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                flatten(child, child_path, out);
            }
        }
        None => out.push((path, value.clone())),
    }
}

/// A `retain` block as Kopia's `retention` fields, the periods it sets only.
fn retention_of(retain: Option<&Retain>) -> Map<String, Value> {
    let Some(retain) = retain else {
        return Map::new();
    };
    [
        ("keepLatest", retain.latest),
        ("keepHourly", retain.hourly),
        ("keepDaily", retain.daily),
        ("keepWeekly", retain.weekly),
        ("keepMonthly", retain.monthly),
        ("keepAnnual", retain.yearly),
    ]
    .into_iter()
    .filter_map(|(key, value)| Some((key.to_owned(), json!(value?))))
    .collect()
}
