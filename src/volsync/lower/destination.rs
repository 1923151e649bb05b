//! ReplicationDestination → a plan's restore entry: the destination PVC
//! (existing or provisioned), the snapshot to restore, and the identity and
//! repository, discovered from the ReplicationSource when VolSync would.

use super::*;

impl Lowering<'_> {
    pub(super) fn destination(&mut self, doc: DocId, object: &ReplicationDestination) {
        let Some(kopia) = &object.spec.kopia else {
            return;
        };
        let errors_before = self.diagnostics.error_count();
        let here = self.here(doc);
        let namespace = self.namespace(doc, &object.metadata);
        let name = self.entry_name(doc, &object.metadata.name);
        let trigger = self.trigger(doc, "ReplicationDestination", object.spec.trigger.as_ref());
        let copy_method = match kopia.common.copy_method.as_deref() {
            Some("Direct" | "None") => Some(RestoreCopyMethod::Direct),
            Some("Snapshot") => Some(RestoreCopyMethod::Snapshot),
            Some("Clone") => {
                let d = here.at(&["spec", "kopia", "copyMethod"]).report(
                    LowerError::CloneOnDestination,
                    "use `Direct` (keep the restored PVC) or `Snapshot` (also take a VolumeSnapshot after each restore)",
                );
                self.diagnostics.push(d);
                None
            }
            _ => {
                let d = here.at(&["spec", "kopia"]).report(
                    LowerError::DestinationCopyMethodUnset,
                    "set `spec.kopia.copyMethod`: `Direct` keeps the restored PVC, `Snapshot` also takes a VolumeSnapshot of it",
                );
                self.diagnostics.push(d);
                None
            }
        };
        // The destination PVC: an existing one, or VolSync's provisioned one.
        let (pvc, create) = match kopia.destination_pvc.as_deref().filter(|p| !p.is_empty()) {
            Some(pvc) => (Some(pvc.to_owned()), None),
            None => {
                let capacity = kopia
                    .common
                    .capacity
                    .as_ref()
                    .map(types::Quantity::as_string);
                let modes = kopia.common.access_modes.clone().filter(|m| !m.is_empty());
                if capacity.is_none() || modes.is_none() {
                    let d = here.at(&["spec", "kopia"]).report(
                        LowerError::NoDestinationSize,
                        "set `spec.kopia.destinationPVC` to an existing PVC, or set `capacity` and `accessModes`",
                    );
                    self.diagnostics.push(d);
                }
                (
                    Some(crate::model::names::object_name(
                        &["volsync", &object.metadata.name, "dest"],
                        crate::model::names::NAME_LIMIT,
                    )),
                    Some(CreatePvc {
                        capacity: capacity.unwrap_or_default(),
                        access_modes: modes,
                        storage_class_name: kopia.common.storage_class_name.clone(),
                    }),
                )
            }
        };
        if kopia.cleanup_temp_pvc == Some(true) && create.is_some() {
            let d = here.at(&["spec", "kopia", "cleanupTempPVC"]).report(
                LowerError::CleanupTempPvcUnsupported,
                "delete the PVC yourself when you are done with it, or remove `cleanupTempPVC`",
            );
            self.diagnostics.push(d);
        }
        if kopia.cleanup_cache_pvc == Some(true) {
            let d = here.at(&["spec", "kopia", "cleanupCachePVC"]).report(
                LowerError::CleanupCachePvcUnsupported,
                "remove `cacheStorageClassName`/`cacheAccessModes` for an emptyDir cache that goes with the pod",
            );
            self.diagnostics.push(d);
        }
        if let Some(shallow) = kopia.shallow {
            let d = here
                .at(&["spec", "kopia", "shallow"])
                .report(LowerError::ShallowIgnored { shallow }, "remove `shallow`");
            self.diagnostics.push(d);
        }
        let previous = match kopia.previous {
            Some(p) if p < 0 => {
                let d = here.at(&["spec", "kopia", "previous"]).report(
                    LowerError::NegativePrevious { previous: p },
                    "use 0 for the newest snapshot, 1 for the one before, …",
                );
                self.diagnostics.push(d);
                None
            }
            p => p.and_then(|p| u32::try_from(p).ok()),
        };

        // Identity: explicit, then sourceIdentity (with discovery), then the
        // destination's own name — VolSync's order.
        let explicit_user = kopia.common.username.clone().filter(|u| !u.is_empty());
        let explicit_host = kopia.common.hostname.clone().filter(|h| !h.is_empty());
        let mut repository_secret = kopia.common.repository.clone().filter(|r| !r.is_empty());
        let mut discovered_repository = None;
        let mut source_path_override = None;
        let mut discovery_failed = false;
        let (username, hostname) = match (&explicit_user, &explicit_host) {
            (Some(user), Some(host)) => (user.clone(), host.clone()),
            (Some(_), None) | (None, Some(_)) => {
                let d = here.at(&["spec", "kopia"]).report(
                    LowerError::HalfIdentity,
                    "set both `username` and `hostname`, or neither (and use `sourceIdentity`)",
                );
                self.diagnostics.push(d);
                (String::new(), String::new())
            }
            (None, None) => match kopia
                .source_identity
                .as_ref()
                .filter(|s| s.source_name.as_deref().is_some_and(|n| !n.is_empty()))
            {
                Some(identity) => {
                    let source_name = identity.source_name.clone().unwrap_or_default();
                    let source_namespace = identity
                        .source_namespace
                        .clone()
                        .filter(|n| !n.is_empty())
                        .unwrap_or_else(|| namespace.clone());
                    source_path_override = identity.source_path_override.clone();
                    let discover = identity
                        .source_pvc_name
                        .as_deref()
                        .is_none_or(str::is_empty);
                    if discover
                        && let Some((source_doc, source)) =
                            self.find_source(&source_name, &source_namespace)
                        && let Some(source_kopia) = &source.spec.kopia
                    {
                        if source_path_override.is_none() {
                            source_path_override = source_kopia.source_path_override.clone();
                        }
                        if repository_secret.is_none() {
                            repository_secret = source_kopia.common.repository.clone();
                            discovered_repository = Some((source_doc, source_kopia.clone()));
                        }
                    } else if discover && repository_secret.is_none() {
                        let d = here.at(&["spec", "kopia", "sourceIdentity"]).report(
                            LowerError::SourceNotInInput { name: source_name.clone(), namespace: source_namespace.clone() },
                            "add that ReplicationSource to the input or to `--context` (`kubectl get replicationsources.volsync.backube -A -o yaml > cluster.yaml`), or set `spec.kopia.repository` to its repository Secret",
                        );
                        self.diagnostics.push(d);
                        discovery_failed = true;
                    }
                    (username_for(&source_name), hostname_for(&source_namespace))
                }
                None => (
                    username_for(&object.metadata.name),
                    hostname_for(&namespace),
                ),
            },
        };
        let privileged = self.privileged(&namespace);
        let mut common = kopia.common.clone();
        common.repository = repository_secret;
        let repository = match &discovered_repository {
            _ if discovery_failed => None,
            // The source's repository, as the source declared it (its
            // repositoryPVC and customCA included).
            Some((_, source)) if kopia.common.repository.as_deref().is_none_or(str::is_empty) => {
                let mut source_common = source.common.clone();
                if common.custom_ca.is_some() {
                    source_common.custom_ca = common.custom_ca.clone();
                }
                self.repository(
                    doc,
                    &namespace,
                    &source_common,
                    source.repository_pvc.as_deref(),
                    false,
                )
            }
            _ => self.repository(doc, &namespace, &common, None, false),
        };
        let spec = RestoreSpec {
            name,
            namespace: None,
            from: None,
            source_identity: None,
            username: Some(username),
            hostname: Some(hostname),
            source_path_override,
            repository,
            pvc,
            stream: None,
            create,
            trigger,
            time_zone: None,
            previous,
            restore_as_of: kopia.restore_as_of.clone().filter(|s| !s.is_empty()),
            enable_file_deletion: kopia.enable_file_deletion,
            // VolSync's end-to-end contract: a restore that finds no
            // snapshot completes with nothing restored.
            on_missing_snapshot: Some(OnMissingSnapshot::Succeed),
            only_if_empty: None,
            argo_cd_sync_wave: None,
            list_all_hostnames: None,
            copy_method,
            volume_snapshot_class_name: kopia.common.volume_snapshot_class_name.clone(),
            additional_args: kopia.common.additional_args.clone(),
            paused: object.spec.paused,
            cache: cache(&kopia.common),
            mover: Some(mover(&kopia.common, privileged)),
            policy_config: policy_config(&kopia.common),
            jobs: None,
        };
        self.check_common(doc, &kopia.common);
        if self.diagnostics.error_count() > errors_before {
            return;
        }
        self.secret_settings(doc, &namespace, common.repository.as_deref());
        let builder = self.plan(&namespace, doc);
        let index = builder.plan.spec.restores.len();
        builder.plan.spec.restores.push(spec);
        map_entry(
            builder,
            ("restores", index),
            doc,
            &[
                (&["pvc"], &["spec", "kopia", "destinationPVC"]),
                (&["create"], &["spec", "kopia"]),
                (
                    &["sourcePathOverride"],
                    &["spec", "kopia", "sourceIdentity", "sourcePathOverride"],
                ),
            ],
        );
    }

    fn find_source(&self, name: &str, namespace: &str) -> Option<(DocId, &ReplicationSource)> {
        self.sources
            .iter()
            .find(|(_, source)| {
                source.metadata.name == name
                    && source
                        .metadata
                        .namespace
                        .clone()
                        .or_else(|| self.options.default_namespace.clone())
                        .unwrap_or_else(|| "default".to_owned())
                        == namespace
            })
            .map(|(doc, source)| (*doc, source))
    }
}
