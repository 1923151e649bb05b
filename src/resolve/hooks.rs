//! `backups[].hooks`: the application's pods, the commands, their timeouts
//! and what a failure does.

use super::error::ResolveError;
use super::{At, PlanResolver, checks, defaults};
use crate::model::hooks::{Hook, HookPods, WorkloadHooks};
use crate::plan::{HookOnError, HookSpec, HooksSpec};

impl PlanResolver<'_, '_> {
    pub(super) fn hooks(&mut self, spec: Option<&HooksSpec>, at: &At<'_>) -> Option<WorkloadHooks> {
        let spec = spec?;
        let at = at.key("hooks");
        let at_workload = at.key("workload");
        if spec.workload.selector.is_empty() {
            let d = at_workload.key("selector").error(
                &ResolveError::HookSelectorEmpty,
                "name the labels of the application's pods, such as `selector: {app: orders-db}`",
            );
            self.report(d);
        }
        self.check_labels(&spec.workload.selector, &at_workload.key("selector"));
        if let Some(container) = &spec.workload.container
            && let Err(e) = checks::dns_label(container)
        {
            let d = at_workload.key("container").invalid_name(
                "container name",
                container,
                e,
                "name a container of the application's pods, such as `postgres`",
            );
            self.report(d);
        }
        if spec.before.is_none() && spec.after.is_none() {
            let d = at.error(
                &ResolveError::HooksWithoutCommand,
                "add `before: {command: [...]}` or `after: {command: [...]}`, or remove `hooks`",
            );
            self.report(d);
        }
        let before = spec
            .before
            .as_ref()
            .map(|hook| self.hook("before", hook, true, &at));
        let after = spec
            .after
            .as_ref()
            .map(|hook| self.hook("after", hook, false, &at));
        Some(WorkloadHooks {
            selector: spec.workload.selector.clone(),
            container: spec.workload.container.clone(),
            pods: spec.workload.pods.unwrap_or(HookPods::One),
            before,
            after,
        })
    }

    fn hook(&mut self, name: &str, spec: &HookSpec, fails_by_default: bool, at: &At<'_>) -> Hook {
        let at = at.key(name);
        if spec.command.is_empty() || spec.command[0].trim().is_empty() {
            let d = at.key("command").error(
                &ResolveError::HookCommandEmpty {
                    hook: name.to_owned(),
                },
                "write the command as a list, such as `[\"sh\", \"-c\", \"psql -c CHECKPOINT\"]`",
            );
            self.report(d);
        }
        let timeout_seconds = spec
            .timeout_seconds
            .unwrap_or(defaults::HOOK_TIMEOUT_SECONDS);
        if timeout_seconds == 0 {
            let d = at.key("timeoutSeconds").error(
                &ResolveError::HookTimeoutZero {
                    hook: name.to_owned(),
                },
                format!("use 1 or more (default {})", defaults::HOOK_TIMEOUT_SECONDS),
            );
            self.report(d);
        }
        Hook {
            command: spec.command.clone(),
            timeout_seconds,
            fail_on_error: match spec.on_error {
                Some(HookOnError::Fail) => true,
                Some(HookOnError::Continue) => false,
                None => fails_by_default,
            },
        }
    }
}
