//! The launcher of a backup with workload hooks: one container running
//! `templates/launcher-hooks.sh` (bash and kubectl), because `after` must
//! run even when a step before it failed, which a chain of init containers
//! cannot do. The hooks' commands are its argv; everything else its
//! environment. The Role adds to the launcher's the pods it execs into.

use k8s_openapi::api::core::v1::{Container, EnvVar, PodSpec, Volume};
use k8s_openapi::api::rbac::v1::PolicyRule;

use super::pod::{env, escape_dollars};
use super::volume_snapshot;
use crate::model::hooks::{Hook, HookPods, WorkloadHooks};
use crate::model::{LauncherNames, Plan};
use crate::scripts::environment::launcher::timing;
use crate::scripts::{self, environment, environment::launcher as settings};

/// The script's file in the launcher's manifests ConfigMap.
pub const SCRIPT_FILE: &str = "launcher-hooks.sh";

/// A backup launcher that runs workload hooks around a copy.
#[derive(Clone, Copy)]
pub struct Hooked<'a> {
    pub hooks: &'a WorkloadHooks,
    /// `Direct`, `Clone` or `Snapshot`.
    pub copy_method: &'static str,
}

/// The rendered script (`emit` checked that it renders before any entry).
pub fn script(manifests: &str) -> String {
    scripts::render_launcher_hooks(manifests).unwrap_or_default()
}

/// What the one container of a launcher with hooks is made of.
pub struct Launcher<'a> {
    pub plan: &'a Plan,
    pub names: &'a LauncherNames,
    pub hooked: Hooked<'a>,
    pub namespace: &'a str,
    /// Where the manifests ConfigMap (and the script) is mounted.
    pub manifests: &'a str,
    /// The mover Job's pod, whose ephemeral volume is the clone.
    pub mover_pod: Option<&'a PodSpec>,
    pub mover_timeout_seconds: i64,
}

/// Turns `base` (a launcher step container) into the one container of a
/// launcher with hooks.
pub fn container(mut base: Container, launcher: &Launcher<'_>) -> Container {
    let Launcher {
        plan,
        names,
        hooked,
        namespace,
        manifests,
        mover_pod,
        mover_timeout_seconds,
    } = *launcher;
    let hooks = hooked.hooks;
    let before = hooks.before.as_ref();
    let after = hooks.after.as_ref();
    let count =
        |hook: Option<&crate::model::hooks::Hook>| hook.map_or(0, |h| h.command.len()).to_string();
    let on_error = |hook: Option<&crate::model::hooks::Hook>| {
        if hook.is_some_and(|h| h.fail_on_error) {
            "Fail"
        } else {
            "Continue"
        }
    };
    let timeout = |hook: Option<&crate::model::hooks::Hook>| {
        hook.map_or(0, |h| h.timeout_seconds).to_string()
    };
    let mut vars: Vec<EnvVar> = base.env.take().unwrap_or_default();
    vars.extend([
        env(environment::NAMESPACE, namespace),
        env(settings::COPY_METHOD, hooked.copy_method),
        env(settings::MOVER_JOB, names.mover_job.clone()),
        env(
            settings::VOLUME_SNAPSHOT,
            format!(
                "volumesnapshot.{}/{}",
                volume_snapshot::GROUP,
                names.volume_snapshot
            ),
        ),
        env(settings::CLONE_VOLUME, clone_volume(mover_pod)),
        env(
            settings::READY_TIMEOUT,
            plan.snapshot_ready_timeout_seconds.to_string(),
        ),
        env(settings::MOVER_TIMEOUT, mover_timeout_seconds.to_string()),
        env(settings::HOOK_SELECTOR, hooks.selector_text()),
        env(
            settings::HOOK_CONTAINER,
            hooks.container.clone().unwrap_or_default(),
        ),
        env(
            settings::HOOK_PODS,
            match hooks.pods {
                HookPods::One => "One",
                HookPods::All => "All",
            },
        ),
        env(settings::BEFORE_ARGC, count(before)),
        env(settings::AFTER_ARGC, count(after)),
        env(settings::BEFORE_TIMEOUT, timeout(before)),
        env(settings::AFTER_TIMEOUT, timeout(after)),
        env(settings::BEFORE_ON_ERROR, on_error(before)),
        env(settings::AFTER_ON_ERROR, on_error(after)),
    ]);
    base.name = "launcher".into();
    base.image = Some(plan.launcher_hooks_image.clone());
    base.command = Some(vec!["bash".into(), format!("{manifests}/{SCRIPT_FILE}")]);
    // The commands as argv, `$` escaped so Kubernetes passes them verbatim.
    base.args = Some(
        before
            .into_iter()
            .chain(after)
            .flat_map(|h| h.command.iter().map(|word| escape_dollars(word)))
            .collect(),
    );
    base.env = Some(vars);
    base
}

/// The longest a hook can run: its timeout, then `timeout -k`, and the
/// calls that find its pods.
fn hook_seconds(hook: Option<&Hook>) -> i64 {
    hook.map_or(0, |hook| {
        i64::from(hook.timeout_seconds)
            + timing::KILL_AFTER_SECONDS
            + timing::REQUEST_TIMEOUT_SECONDS
    })
}

/// How long the hooks can hold the launcher, in all pods (they run in every
/// pod at once).
pub fn running_seconds(hooks: &WorkloadHooks) -> i64 {
    hook_seconds(hooks.before.as_ref()) + hook_seconds(hooks.after.as_ref())
}

/// What the launcher needs once stopped (`stopped` in the script): a hook
/// running may end, the copy not cut is deleted, `after` runs, the
/// snapshot is deleted.
const STOP_MARGIN_SECONDS: i64 = 30;

/// The launcher pod's `terminationGracePeriodSeconds`.
pub fn grace_period_seconds(hooks: &WorkloadHooks) -> i64 {
    running_seconds(hooks) + 2 * timing::REQUEST_TIMEOUT_SECONDS + STOP_MARGIN_SECONDS
}

/// The mover pod's volume restored from a clone: the ephemeral one.
fn clone_volume(mover_pod: Option<&PodSpec>) -> String {
    mover_pod
        .and_then(|pod| pod.volumes.as_ref())
        .and_then(|volumes| volumes.iter().find(|v: &&Volume| v.ephemeral.is_some()))
        .map(|v| v.name.clone())
        .unwrap_or_default()
}

/// What the hooks add to the launcher's Role. Neither can be narrowed:
/// RBAC cannot limit a verb to pods with some labels, and the application's
/// pod names (and the mover's, whose clone claim is `<pod>-<volume>`) are
/// not known when the plan is compiled, so `resourceNames` cannot be used.
/// `pods/exec` needs `get` as well as `create`: current kubectl (1.33
/// does) execs over WebSockets, an HTTP GET, which API servers before 1.35
/// authorise as `get` (1.35 checks `create` too).
pub fn rules(copy_method: &str) -> Vec<PolicyRule> {
    let rule = |resource: &str, verbs: &[&str]| PolicyRule {
        api_groups: Some(vec![String::new()]),
        resources: Some(vec![resource.to_owned()]),
        verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
        resource_names: None,
        non_resource_urls: None,
    };
    let mut rules = vec![
        rule("pods", &["get", "list"]),
        rule("pods/exec", &["create", "get"]),
    ];
    if copy_method == "Clone" {
        rules.push(rule("persistentvolumeclaims", &["get"]));
    }
    rules
}
