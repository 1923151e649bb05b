//! The mover pod's settings: an entry's own over the plan's defaults,
//! checked against the restricted Pod Security Standard.

use super::error::ResolveError;
use super::{At, PlanResolver, checks};
use crate::model::Mover;
use crate::plan::MoverSpec;

impl PlanResolver<'_, '_> {
    pub(super) fn mover(&mut self, spec: Option<&MoverSpec>, at: &At<'_>) -> Mover {
        let defaults = self.input.spec.defaults.mover.clone().unwrap_or_default();
        let mut own = spec.cloned().unwrap_or_default();
        let at_volumes = if own.volumes.is_some() {
            at.key("mover").key("volumes")
        } else {
            self.root
                .key("spec")
                .key("defaults")
                .key("mover")
                .key("volumes")
        };
        let at_security = if own.security_context.is_some() {
            at.key("mover").key("securityContext")
        } else {
            self.root
                .key("spec")
                .key("defaults")
                .key("mover")
                .key("securityContext")
        };
        let volumes = own.volumes.take().or(defaults.volumes.clone());
        let volumes = self.mover_volumes(volumes.as_deref().unwrap_or_default(), &at_volumes);
        let mover = Mover {
            resources: own.resources.or(defaults.resources),
            pod_labels: own.pod_labels.or(defaults.pod_labels).unwrap_or_default(),
            node_selector: own
                .node_selector
                .or(defaults.node_selector)
                .unwrap_or_default(),
            tolerations: own.tolerations.or(defaults.tolerations).unwrap_or_default(),
            affinity: own.affinity.or(defaults.affinity),
            security_context: own.security_context.or(defaults.security_context),
            service_account_name: own.service_account_name.or(defaults.service_account_name),
            privileged: own.privileged.or(defaults.privileged).unwrap_or(false),
            priority_class_name: own.priority_class_name.or(defaults.priority_class_name),
            volumes,
        };
        let at_mover = if spec.is_some() {
            at.key("mover")
        } else {
            self.root.key("spec").key("defaults").key("mover")
        };
        self.check_labels(&mover.pod_labels, &at_mover.key("podLabels"));
        if let Some(name) = &mover.service_account_name
            && let Err(e) = checks::dns_subdomain(name)
        {
            let d = at_mover.key("serviceAccountName").invalid_name(
                "ServiceAccount name",
                name,
                e,
                "use the name of an existing ServiceAccount",
            );
            self.report(d);
        }
        if let Some(context) = &mover.security_context
            && !mover.privileged
            && (context.run_as_user == Some(0) || context.run_as_non_root == Some(false))
        {
            let d = at_security.error(
                &ResolveError::RootNeedsPrivileged,
                "set `privileged: true` to opt in, or run as a non-root user",
            );
            self.report(d);
        }
        if let Some(context) = &mover.security_context {
            for (field, problem) in checks::outside_restricted_profile(context) {
                let at_field = at_security.key(field);
                let kind = ResolveError::OutsideRestrictedProfile {
                    problem: problem.to_string(),
                    privileged: mover.privileged,
                };
                let help = if mover.privileged {
                    "the mover is `privileged: true`, so this is allowed; remove it unless it is needed"
                } else {
                    "remove it, or set `privileged: true` to opt out of the restricted profile on purpose"
                };
                let d = at_field.error(&kind, help);
                self.report(d);
            }
        }
        mover
    }
}
