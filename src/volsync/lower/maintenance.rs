//! KopiaMaintenance → the maintenance of the repository it names.

use super::*;

impl Lowering<'_> {
    pub(super) fn maintenance(&mut self, doc: DocId, object: &KopiaMaintenance) {
        let here = self.here(doc);
        let namespace = self.namespace(doc, &object.metadata);
        let spec = &object.spec;
        let common = Common {
            repository: Some(spec.repository.repository.clone()),
            custom_ca: spec.repository.custom_ca.clone(),
            ..Common::default()
        };
        let Some(repository) = self.repository(doc, &namespace, &common, None, false) else {
            return;
        };
        let schedule = spec
            .trigger
            .as_ref()
            .and_then(|t| t.schedule.clone())
            .filter(|s| !s.is_empty());
        let manual = spec
            .trigger
            .as_ref()
            .and_then(|t| t.manual.clone())
            .filter(|s| !s.is_empty());
        if schedule.is_some() && manual.is_some() {
            let d = here
                .at(&["spec", "trigger"])
                .report(LowerError::BothMaintenanceTriggers, "remove one of them");
            self.diagnostics.push(d);
            return;
        }
        let schedule = schedule
            .or_else(|| spec.schedule.clone().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| KM_DEFAULT_SCHEDULE.to_owned());
        if let Some(context) = &spec.container_security_context {
            let _ = context;
            let d = here.at(&["spec", "containerSecurityContext"]).report(
                LowerError::ContainerSecurityContextIgnored,
                "remove `containerSecurityContext`; pod-level settings go in `podSecurityContext`",
            );
            self.diagnostics.push(d);
        }
        let cache = match spec.cache_pvc.clone().filter(|c| !c.is_empty()) {
            // VolSync: an existing cache PVC overrides the other cache fields.
            Some(claim) => CacheSpec {
                claim_name: Some(claim),
                metadata_size_limit_mb: non_negative(spec.metadata_cache_size_limit_mb),
                content_size_limit_mb: non_negative(spec.content_cache_size_limit_mb),
                ..CacheSpec::default()
            },
            None => {
                let modes = spec.cache_access_modes.clone();
                let mut cache = volsync_cache(
                    spec.cache_capacity.as_ref(),
                    spec.cache_storage_class_name.as_ref(),
                    modes.as_ref(),
                    spec.metadata_cache_size_limit_mb,
                    spec.content_cache_size_limit_mb,
                    None,
                    None,
                );
                if cache.persistent == Some(true) && cache.access_modes.is_none() {
                    cache.access_modes = Some(vec!["ReadWriteOnce".to_owned()]);
                }
                cache
            }
        };
        let maintenance = MaintenanceSpec {
            schedule: manual.is_none().then_some(schedule),
            enabled: spec.enabled,
            paused: spec.suspend,
            owner: Some(MAINTENANCE_OWNER.to_owned()),
            // VolSync runs full maintenance only.
            quick: Some(crate::plan::MaintenanceRunSpec {
                enabled: Some(false),
                ..Default::default()
            }),
            full: None,
            ownership: None,
            trigger: manual.map(|manual| Trigger {
                manual: Some(manual),
                ..Trigger::default()
            }),
            time_zone: None,
            mover: Some(MoverSpec {
                resources: spec.resources.clone(),
                pod_labels: spec.mover_pod_labels.clone(),
                node_selector: spec.node_selector.clone(),
                tolerations: spec.tolerations.clone(),
                affinity: spec.affinity.clone(),
                security_context: spec.pod_security_context.clone(),
                service_account_name: spec.service_account_name.clone().filter(|s| !s.is_empty()),
                ..MoverSpec::default()
            }),
            cache: Some(cache),
            jobs: Some(plan::JobSettings {
                active_deadline_seconds: Some(
                    spec.active_deadline_seconds.unwrap_or(KM_DEFAULT_DEADLINE),
                ),
                successful_jobs_history_limit: Some(
                    spec.successful_jobs_history_limit
                        .unwrap_or(KM_DEFAULT_SUCCESSFUL_HISTORY),
                ),
                failed_jobs_history_limit: Some(
                    spec.failed_jobs_history_limit
                        .unwrap_or(KM_DEFAULT_FAILED_HISTORY),
                ),
                ..plan::JobSettings::default()
            }),
        };
        let builder = self.plan(&namespace, doc);
        if let Some((index, repo)) = builder
            .plan
            .spec
            .repositories
            .iter_mut()
            .enumerate()
            .find(|(_, r)| r.name == repository)
        {
            repo.maintenance = Some(maintenance);
            let mut p = path(&["spec", "repositories"]);
            p.push(PathSegment::Index(index));
            p.push(key("maintenance"));
            builder.map(p, doc, path(&["spec"]));
        }
    }
}
