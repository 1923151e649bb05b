//! The order of a backup's steps when workload hooks run around its copy,
//! and where each one runs: the launcher pod, the application's pods, or
//! the mover Job. Read by people in `explain`; the launcher script
//! (templates/launcher-hooks.sh) is what runs them.

use crate::model::hooks::{Hook, HookPods, WorkloadHooks};
use crate::model::{Backup, Copy};

/// Nothing for a backup without workload hooks.
pub fn steps(backup: &Backup) -> Vec<String> {
    let Some(hooks) = &backup.hooks else {
        return Vec::new();
    };
    let Some(names) = &backup.entry.names.launcher else {
        return Vec::new();
    };
    // A stream backup has no copy to cut, and refuses hooks.
    let Some(volume) = backup.source.volume() else {
        return Vec::new();
    };
    let launcher = format!("launcher pod of {}", backup.entry.run_object_name());
    let mover = format!("mover Job {}", names.mover_job);
    let pods = pods(hooks);
    let mut steps = vec![format!(
        "{launcher}: delete what an earlier run left behind"
    )];
    if let Some(before) = &hooks.before {
        steps.push(format!("before, in {pods}: {}", hook(before, true)));
    }
    let after = hooks.after.as_ref().map(|after| {
        let pods = if hooks.before.is_some() {
            "the same pods".to_owned()
        } else {
            pods.clone()
        };
        format!("after, in {pods}: {}", hook(after, false))
    });
    let after_here = |steps: &mut Vec<String>| {
        if let Some(after) = &after {
            steps.push(after.clone());
        }
    };
    match &volume.copy {
        Copy::Snapshot { .. } => {
            steps.push(format!(
                "{launcher}: create VolumeSnapshot {}; the copy is cut at its creationTime",
                names.volume_snapshot
            ));
            after_here(&mut steps);
            steps.push(format!(
                "{launcher}: wait until the snapshot is ready to use, create the {mover}"
            ));
            steps.push(format!(
                "{mover}: kopia snapshot create of a volume restored from the snapshot"
            ));
            steps.push(format!(
                "{launcher}: delete the snapshot; report the mover's result and each hook run"
            ));
        }
        Copy::Clone { .. } => {
            steps.push(format!(
                "{launcher}: create the {mover}; the copy is cut when its clone claim of {} is bound",
                volume.pvc
            ));
            after_here(&mut steps);
            steps.push(format!("{mover}: kopia snapshot create of the clone"));
            steps.push(format!(
                "{launcher}: report the mover's result and each hook run"
            ));
        }
        Copy::Direct { .. } => {
            steps.push(format!(
                "{launcher}: create the {mover}, which runs kopia snapshot create of the live \
                 volume {}; the copy is cut when it has finished",
                volume.pvc
            ));
            after_here(&mut steps);
            steps.push(format!(
                "{launcher}: report the mover's result and each hook run"
            ));
        }
    }
    if hooks.before.is_some() && hooks.after.is_some() {
        steps.push("after runs whenever before ran, also when a step of the copy fails or the launcher is stopped".to_owned());
    }
    steps
}

fn pods(hooks: &WorkloadHooks) -> String {
    let which = match hooks.pods {
        HookPods::One => "the first running pod (by name)",
        HookPods::All => "every running pod at once",
    };
    let container = match &hooks.container {
        Some(container) => format!("container {container}"),
        None => "its first container".to_owned(),
    };
    format!(
        "{which} with labels {}, {container}, by kubectl exec",
        hooks.selector_text()
    )
}

fn hook(hook: &Hook, is_before: bool) -> String {
    let on_error = match (hook.fail_on_error, is_before) {
        (true, true) => "a failure stops the run before any copy",
        (true, false) => "a failure fails the run (the snapshot is kept)",
        (false, _) => "a failure is a warning",
    };
    format!(
        "`{}` (timeout {}s; {on_error})",
        shell_words(&hook.command),
        hook.timeout_seconds
    )
}

/// argv as one line a reader can copy (quoted where a shell would need it).
fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|word| {
            let plain = !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
            if plain {
                word.clone()
            } else {
                format!("'{}'", word.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
