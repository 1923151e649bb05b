//! Lowering: VolSync objects → BackupPlans, one per namespace, named
//! `volsync`. Every VolSync decision (identity, cache, repository layout,
//! triggers, what a missing snapshot means) is made here, explicitly, in the
//! plan; resolving and emitting the plan is then the same as for a plan a
//! user wrote. Each plan path remembers the VolSync field it came from, so
//! diagnostics point at what the user wrote.

use std::collections::BTreeMap;

use super::types::{self, Common, KopiaMaintenance, ReplicationDestination, ReplicationSource};
use super::{MAINTENANCE_OWNER, Options, PRIVILEGED_MOVERS};
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::load::{Document, PathSegment, display_path};
use crate::parse::{ContextContent, ContextObject, DocId, Mapping, PlanInput, Provenance};
use crate::plan::{
    self, BackupPlan, BackupSpec, CacheSpec, CopyMethod, CreatePolicy, CreatePvc,
    FilesystemRepository, MaintenanceSpec, MoverSpec, OnMissingSnapshot, PlanMetadata, PlanSpec,
    RepositorySpec, RestoreCopyMethod, RestoreSpec, Trigger,
};
use crate::resolve::identity::{hostname_for, username_for};

/// The name of every plan lowered from VolSync objects: objects are named
/// `volsync-<object>-backup`, `volsync-<object>-restore`, ….
pub const PLAN_NAME: &str = "volsync";

/// Where VolSync's seed `repositoryPVC` keeps the repository inside the PVC.
pub const REPOSITORY_PVC_PATH: &str = "/repository";

/// A VolSync cache PVC's size when only its class or access modes are set.
const DEFAULT_CACHE_PVC_CAPACITY: &str = "1Gi";

/// VolSync's annotation for a verbose mover.
const DEBUG_MOVER: &str = "volsync.backube/enable-debug-mover";

/// KopiaMaintenance's schema defaults.
const KM_DEFAULT_SCHEDULE: &str = "0 2 * * *";
const KM_DEFAULT_DEADLINE: i64 = 10800;
const KM_DEFAULT_SUCCESSFUL_HISTORY: i32 = 3;
const KM_DEFAULT_FAILED_HISTORY: i32 = 1;

/// What lowering produced: one plan per namespace, and which VolSync
/// objects went into each (for `convert`'s comments).
#[derive(Debug, Default)]
pub struct Lowered {
    pub plans: Vec<PlanInput>,
    pub diagnostics: Diagnostics,
}

/// Lowers every VolSync document of `docs`.
pub fn lower(
    documents: &[Document],
    docs: &[DocId],
    context: &[ContextObject],
    options: &Options,
) -> Lowered {
    let mut lowering = Lowering {
        documents,
        context,
        options,
        diagnostics: Diagnostics::default(),
        plans: BTreeMap::new(),
        sources: Vec::new(),
    };
    // Read every object first: a destination may discover its source.
    let mut destinations = Vec::new();
    let mut maintenance = Vec::new();
    for &doc in docs {
        let document = &documents[doc.0];
        let kind = document
            .root
            .get("kind")
            .and_then(|n| n.as_str())
            .unwrap_or("");
        if document
            .root
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get(DEBUG_MOVER))
            .is_some()
        {
            let d = lowering.here(doc).at(&["metadata", "annotations", DEBUG_MOVER]).warning(
                format!("`{DEBUG_MOVER}` is not used: kopiaplan's movers have no debug mode"),
                "for more detail in Kopia's logs, convert to a BackupPlan and set `spec.kopia.logging.fileLevel: debug`",
            );
            lowering.diagnostics.push(d);
        }
        match kind {
            "ReplicationSource" => {
                if let Some(source) = lowering.read::<ReplicationSource>(doc) {
                    lowering.sources.push((doc, source));
                }
            }
            "ReplicationDestination" => {
                if let Some(destination) = lowering.read::<ReplicationDestination>(doc) {
                    destinations.push((doc, destination));
                }
            }
            "KopiaMaintenance" => {
                if let Some(object) = lowering.read::<KopiaMaintenance>(doc) {
                    maintenance.push((doc, object));
                }
            }
            other => {
                let help = match crate::diagnostics::nearest(other, super::KINDS) {
                    Some(kind) => format!("did you mean `{kind}`?"),
                    None => format!(
                        "kopiaplan compiles the VolSync kinds {}",
                        super::KINDS.join(", ")
                    ),
                };
                lowering.diagnostics.push(
                    Diagnostic::error(format!(
                        "kopiaplan does not compile VolSync `{other}` objects"
                    ))
                    .at(Some(document.span_of(&[key("kind")])))
                    .field("kind")
                    .help(help),
                );
            }
        }
    }
    let sources = std::mem::take(&mut lowering.sources);
    for (doc, source) in &sources {
        lowering.source(*doc, source);
    }
    lowering.sources = sources;
    for (doc, destination) in &destinations {
        lowering.destination(*doc, destination);
    }
    for (doc, object) in &maintenance {
        lowering.maintenance(*doc, object);
    }
    let plans = std::mem::take(&mut lowering.plans)
        .into_values()
        .map(|builder| builder.finish())
        .collect();
    Lowered {
        plans,
        diagnostics: lowering.diagnostics,
    }
}

fn key(name: &str) -> PathSegment {
    PathSegment::Key(name.to_owned())
}

fn path(keys: &[&str]) -> Vec<PathSegment> {
    keys.iter().map(|k| key(k)).collect()
}

struct Lowering<'a> {
    documents: &'a [Document],
    context: &'a [ContextObject],
    options: &'a Options,
    diagnostics: Diagnostics,
    /// Plans by namespace.
    plans: BTreeMap<String, PlanBuilder>,
    /// Every ReplicationSource read, for destinations' `sourceIdentity`.
    sources: Vec<(DocId, ReplicationSource)>,
}

/// One namespace's plan, and where each of its fields came from.
struct PlanBuilder {
    plan: BackupPlan,
    mappings: Vec<Mapping>,
    first: DocId,
}

impl PlanBuilder {
    fn map(&mut self, plan: Vec<PathSegment>, doc: DocId, source: Vec<PathSegment>) {
        self.mappings.push(Mapping { plan, doc, source });
    }

    fn finish(self) -> PlanInput {
        PlanInput {
            plan: self.plan,
            provenance: Provenance::Lowered {
                mappings: self.mappings,
                fallback: (self.first, Vec::new()),
            },
        }
    }
}

/// A diagnostic at a VolSync document's field.
struct Here<'a> {
    document: &'a Document,
    path: Vec<PathSegment>,
}

impl<'a> Here<'a> {
    fn at(&self, keys: &[&str]) -> Here<'a> {
        let mut path = self.path.clone();
        path.extend(keys.iter().map(|k| key(k)));
        Here {
            document: self.document,
            path,
        }
    }

    fn error(&self, message: impl Into<String>, help: impl Into<String>) -> Diagnostic {
        self.diagnostic(Diagnostic::error(message), help)
    }

    fn warning(&self, message: impl Into<String>, help: impl Into<String>) -> Diagnostic {
        self.diagnostic(Diagnostic::warning(message), help)
    }

    fn diagnostic(&self, diagnostic: Diagnostic, help: impl Into<String>) -> Diagnostic {
        diagnostic
            .at(Some(self.document.span_of(&self.path)))
            .field(display_path(&self.path))
            .help(help)
    }
}

impl<'a> Lowering<'a> {
    fn here(&self, doc: DocId) -> Here<'a> {
        Here {
            document: &self.documents[doc.0],
            path: Vec::new(),
        }
    }

    /// Checks a document against VolSync's CRD schema and reads it; `None`
    /// when it cannot be lowered (the reasons are reported).
    fn read<T: serde::de::DeserializeOwned>(&mut self, doc: DocId) -> Option<T> {
        let document = &self.documents[doc.0];
        let here = self.here(doc);
        let spec = document.root.get("spec");
        if let Some(spec) = spec {
            for mover in types::OTHER_MOVERS {
                if spec.get(mover).is_some() {
                    self.diagnostics.push(here.at(&["spec", mover]).error(
                        format!("this object uses VolSync's `{mover}` mover; kopiaplan compiles only the Kopia mover"),
                        "keep this object with VolSync, or move it to `spec.kopia`",
                    ));
                    return None;
                }
            }
        }
        let kind = document
            .root
            .get("kind")
            .and_then(|n| n.as_str())
            .unwrap_or("");
        let has_kopia = spec
            .and_then(|s| s.get("kopia"))
            .is_some_and(|k| matches!(k.value, crate::load::Value::Mapping(_)));
        if kind != "KopiaMaintenance" && !has_kopia {
            self.diagnostics.push(here.at(&["spec"]).error(
                format!("this {kind} has no `spec.kopia`"),
                "kopiaplan compiles VolSync objects that use the Kopia mover: add `spec.kopia`",
            ));
            return None;
        }
        let errors_before = self.diagnostics.error_count();
        if let Some(crd) = schema_kind(kind) {
            for finding in super::schema::check(crd, &document.root) {
                let (message, help) = super::schema::describe(&finding.problem);
                let unknown =
                    matches!(finding.problem, super::schema::Problem::UnknownField { .. });
                let diagnostic = if unknown && !self.options.strict {
                    Diagnostic::warning(format!(
                        "{message}; VolSync's API server drops it, and so does kopiaplan"
                    ))
                } else {
                    Diagnostic::error(message)
                };
                self.diagnostics.push(
                    diagnostic
                        .at(Some(crate::load::span_of_node(document.file, finding.node)))
                        .field(display_path(&finding.path))
                        .help(help),
                );
            }
        }
        if self.diagnostics.error_count() > errors_before {
            return None;
        }
        match serde_path_to_error::deserialize::<_, T>(document.root.to_json()) {
            Ok(value) => Some(value),
            Err(error) => {
                let field = error.path().to_string();
                self.diagnostics.push(
                    Diagnostic::error(format!(
                        "cannot read this VolSync object: {}",
                        error.inner()
                    ))
                    .at(Some(crate::load::span_of_node(
                        document.file,
                        &document.root,
                    )))
                    .field(field)
                    .help("write the field as VolSync's CRD defines it"),
                );
                None
            }
        }
    }

    /// The object's namespace: its own, the command line's default, or
    /// `default` (as kubectl would) with a warning.
    fn namespace(&mut self, doc: DocId, metadata: &types::Metadata) -> String {
        if let Some(namespace) = &metadata.namespace {
            return namespace.clone();
        }
        if let Some(namespace) = &self.options.default_namespace {
            return namespace.clone();
        }
        let d = self.here(doc).at(&["metadata"]).warning(
            "this object names no namespace; it is compiled for the namespace `default`",
            "the namespace is the Kopia hostname: set `metadata.namespace`, or pass `--namespace`",
        );
        self.diagnostics.push(d);
        "default".to_owned()
    }

    fn plan(&mut self, namespace: &str, doc: DocId) -> &mut PlanBuilder {
        self.plans
            .entry(namespace.to_owned())
            .or_insert_with(|| PlanBuilder {
                plan: BackupPlan {
                    api_version: plan::API_VERSION.to_owned(),
                    kind: plan::KIND.to_owned(),
                    metadata: PlanMetadata {
                        name: PLAN_NAME.to_owned(),
                        namespace: Some(namespace.to_owned()),
                        labels: BTreeMap::new(),
                        annotations: BTreeMap::new(),
                    },
                    spec: PlanSpec::default(),
                },
                mappings: vec![Mapping {
                    plan: path(&["metadata", "namespace"]),
                    doc,
                    source: path(&["metadata", "namespace"]),
                }],
                first: doc,
            })
    }

    /// Whether movers in `namespace` are privileged.
    fn privileged(&self, namespace: &str) -> bool {
        self.options
            .privileged_namespaces
            .iter()
            .any(|n| n == namespace)
            || self.context.iter().any(|object| match &object.content {
                ContextContent::Namespace { annotations } => {
                    object.name == namespace
                        && annotations
                            .get(PRIVILEGED_MOVERS)
                            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
                }
                _ => false,
            })
    }

    /// An entry name from an object name: object names may hold dots, entry
    /// names are DNS labels. The Kopia identity is set explicitly, so this
    /// only names the generated objects.
    fn entry_name(&mut self, doc: DocId, name: &str) -> String {
        let entry: String = name
            .chars()
            .map(|c| {
                if c == '.' {
                    '-'
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect();
        if entry.is_empty() {
            let d = self
                .here(doc)
                .at(&["metadata", "name"])
                .error("this object has no name", "set `metadata.name`");
            self.diagnostics.push(d);
        }
        entry
    }

    /// The trigger of a source or destination. VolSync runs an object with
    /// no trigger back to back, forever; a CronJob cannot, and should not.
    fn trigger(
        &mut self,
        doc: DocId,
        kind: &str,
        trigger: Option<&types::TriggerSpec>,
    ) -> Option<Trigger> {
        let here = self.here(doc);
        let schedule = trigger
            .and_then(|t| t.schedule.clone())
            .filter(|s| !s.is_empty());
        let manual = trigger
            .and_then(|t| t.manual.clone())
            .filter(|s| !s.is_empty());
        match (schedule, manual) {
            (Some(schedule), None) => Some(Trigger {
                schedule: Some(schedule),
                ..Trigger::default()
            }),
            (schedule, Some(manual)) => {
                if schedule.is_some() {
                    let d = here.at(&["spec", "trigger", "schedule"]).warning(
                        "`trigger.manual` is set, so the schedule is not used (VolSync does the same while a manual tag is set)",
                        "remove `manual` to run on the schedule, or remove `schedule`",
                    );
                    self.diagnostics.push(d);
                }
                Some(Trigger {
                    manual: Some(manual),
                    ..Trigger::default()
                })
            }
            (None, None) => {
                let d = here.at(&["spec"]).error(
                    format!("this {kind} has no trigger: VolSync would run it back to back, forever"),
                    "set `spec.trigger.schedule` (a cron such as \"0 2 * * *\") or `spec.trigger.manual` (a tag; change it to run again)",
                );
                self.diagnostics.push(d);
                None
            }
        }
    }

    fn source(&mut self, doc: DocId, object: &ReplicationSource) {
        let Some(kopia) = &object.spec.kopia else {
            return;
        };
        let errors_before = self.diagnostics.error_count();
        let here = self.here(doc);
        let namespace = self.namespace(doc, &object.metadata);
        let name = self.entry_name(doc, &object.metadata.name);
        let trigger = self.trigger(doc, "ReplicationSource", object.spec.trigger.as_ref());
        let pvc = match &object.spec.source_pvc {
            Some(pvc) if !pvc.is_empty() => pvc.clone(),
            _ => {
                let d = here.at(&["spec"]).error(
                    "this ReplicationSource names no `sourcePVC`",
                    "set `spec.sourcePVC` to the PersistentVolumeClaim to back up",
                );
                self.diagnostics.push(d);
                String::new()
            }
        };
        let copy_method = match kopia.common.copy_method.as_deref() {
            Some("Direct" | "None") => Some(CopyMethod::Direct),
            Some("Clone") => Some(CopyMethod::Clone),
            Some("Snapshot") => Some(CopyMethod::Snapshot),
            _ => {
                let d = here.at(&["spec", "kopia"]).error(
                    "`copyMethod` is not set; VolSync fails such a ReplicationSource with \"unsupported copyMethod\"",
                    "set `spec.kopia.copyMethod`: `Direct` backs up the live volume, `Snapshot` or `Clone` a point-in-time copy",
                );
                self.diagnostics.push(d);
                None
            }
        };
        if let Some(modes) = &kopia.common.access_modes {
            let d = here.at(&["spec", "kopia", "accessModes"]).warning(
                format!("`accessModes` ({}) is not used: the point-in-time copy gets the access modes kopiaplan gives it (ReadWriteOnce)", modes.join(", ")),
                "remove `accessModes`",
            );
            self.diagnostics.push(d);
        }
        let username = kopia
            .common
            .username
            .clone()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| username_for(&object.metadata.name));
        let hostname = kopia
            .common
            .hostname
            .clone()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| hostname_for(&namespace));
        let privileged = self.privileged(&namespace);
        let repository = self.repository(
            doc,
            &namespace,
            &kopia.common,
            kopia.repository_pvc.as_deref(),
            true,
        );
        let interval = kopia.maintenance_interval_days;
        let retain = kopia.retain.as_ref().map(|r| plan::Retain {
            hourly: non_negative(r.hourly),
            daily: non_negative(r.daily),
            weekly: non_negative(r.weekly),
            monthly: non_negative(r.monthly),
            yearly: non_negative(r.yearly),
            latest: non_negative(r.latest),
        });
        let (additional_args, policy) =
            self.policy_flags(doc, kopia.common.additional_args.as_deref());
        let spec = BackupSpec {
            name,
            pvc,
            namespace: None,
            repository: repository.clone(),
            schedule: None,
            time_zone: None,
            trigger,
            copy_method,
            volume_snapshot_class_name: kopia.common.volume_snapshot_class_name.clone(),
            capacity: kopia
                .common
                .capacity
                .as_ref()
                .map(types::Quantity::as_string),
            storage_class_name: kopia.common.storage_class_name.clone(),
            workload_selector: None,
            parallelism: kopia.parallelism.and_then(|p| u32::try_from(p).ok()),
            source_path: None,
            source_path_override: kopia.source_path_override.clone(),
            actions: kopia.actions.as_ref().and_then(|a| {
                let before = a.before_snapshot.clone().filter(|s| !s.is_empty());
                let after = a.after_snapshot.clone().filter(|s| !s.is_empty());
                (before.is_some() || after.is_some()).then_some(plan::Actions {
                    before_snapshot: before,
                    after_snapshot: after,
                    timeout_seconds: None,
                })
            }),
            policy,
            additional_args,
            paused: object.spec.paused,
            retain,
            compression: kopia.compression.clone().filter(|c| !c.is_empty()),
            cache: cache(&kopia.common),
            mover: Some(mover(&kopia.common, privileged)),
            policy_config: policy_config(&kopia.common),
            username: Some(username),
            hostname: Some(hostname),
            jobs: None,
        };
        self.check_common(doc, &kopia.common);
        if self.diagnostics.error_count() > errors_before {
            // Reported; resolving the entry would only repeat it.
            return;
        }
        let builder = self.plan(&namespace, doc);
        let index = builder.plan.spec.backups.len();
        builder.plan.spec.backups.push(spec);
        map_entry(
            builder,
            ("backups", index),
            doc,
            &[(&["pvc"], &["spec", "sourcePVC"])],
        );
        if let (Some(days), Some(repository)) = (interval, repository) {
            self.maintenance_interval(doc, &namespace, &repository, days);
        }
    }

    /// `maintenanceIntervalDays` (seed VolSync): the docs promise
    /// maintenance every N days (the code never ran it); kopiaplan runs it.
    fn maintenance_interval(&mut self, doc: DocId, namespace: &str, repository: &str, days: i64) {
        let here = self
            .here(doc)
            .at(&["spec", "kopia", "maintenanceIntervalDays"]);
        let schedule = match days {
            d if d < 1 => {
                let d = here.error(
                    format!("`maintenanceIntervalDays` is {days}; it must be at least 1"),
                    "set a number of days such as 7, or remove the field",
                );
                self.diagnostics.push(d);
                return;
            }
            1 => "H H * * *".to_owned(),
            7 => "H H * * H".to_owned(),
            d if d <= 27 => format!("H H */{d} * *"),
            _ => {
                let d = here.warning(
                    format!("maintenance every {days} days is run monthly instead"),
                    "cron cannot count more than 27 days; use a KopiaMaintenance with a schedule to choose",
                );
                self.diagnostics.push(d);
                "H H H * *".to_owned()
            }
        };
        let builder = self.plan(namespace, doc);
        if let Some((index, spec)) = builder
            .plan
            .spec
            .repositories
            .iter_mut()
            .enumerate()
            .find(|(_, r)| r.name == repository)
        {
            let maintenance = spec
                .maintenance
                .get_or_insert_with(MaintenanceSpec::default);
            if maintenance.schedule.is_none() {
                maintenance.schedule = Some(schedule);
                let mut p = path(&["spec", "repositories"]);
                p.push(PathSegment::Index(index));
                p.push(key("maintenance"));
                builder.map(p, doc, path(&["spec", "kopia", "maintenanceIntervalDays"]));
            }
        }
    }

    fn destination(&mut self, doc: DocId, object: &ReplicationDestination) {
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
                let d = here.at(&["spec", "kopia", "copyMethod"]).error(
                    "`copyMethod: Clone` does not work on a ReplicationDestination (VolSync fails after the restore)",
                    "use `Direct` (keep the restored PVC) or `Snapshot` (also take a VolumeSnapshot after each restore)",
                );
                self.diagnostics.push(d);
                None
            }
            _ => {
                let d = here.at(&["spec", "kopia"]).error(
                    "`copyMethod` is not set; VolSync restores, then fails such a ReplicationDestination forever",
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
                    let d = here.at(&["spec", "kopia"]).error(
                        "with no `destinationPVC`, VolSync provisions the destination volume and needs its `capacity` and `accessModes`",
                        "set `spec.kopia.destinationPVC` to an existing PVC, or set `capacity` and `accessModes`",
                    );
                    self.diagnostics.push(d);
                }
                (
                    Some(crate::resolve::names::object_name(
                        &["volsync", &object.metadata.name, "dest"],
                        crate::resolve::names::NAME_LIMIT,
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
            let d = here.at(&["spec", "kopia", "cleanupTempPVC"]).warning(
                "`cleanupTempPVC` is not supported: the provisioned destination PVC is kept after each restore",
                "delete the PVC yourself when you are done with it, or remove `cleanupTempPVC`",
            );
            self.diagnostics.push(d);
        }
        if kopia.cleanup_cache_pvc == Some(true) {
            let d = here.at(&["spec", "kopia", "cleanupCachePVC"]).warning(
                "`cleanupCachePVC` is not supported: a cache PVC is kept between runs",
                "remove `cacheStorageClassName`/`cacheAccessModes` for an emptyDir cache that goes with the pod",
            );
            self.diagnostics.push(d);
        }
        if let Some(shallow) = kopia.shallow {
            let d = here.at(&["spec", "kopia", "shallow"]).warning(
                format!("`shallow: {shallow}` has no effect: the snapshot is chosen by `previous` and `restoreAsOf` alone (VolSync's `shallow` only repeats `previous`)"),
                "remove `shallow`",
            );
            self.diagnostics.push(d);
        }
        let previous = match kopia.previous {
            Some(p) if p < 0 => {
                let d = here.at(&["spec", "kopia", "previous"]).error(
                    format!("`previous` is {p}; it counts snapshots to skip"),
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
                let d = here.at(&["spec", "kopia"]).error(
                    "a ReplicationDestination with `username` needs `hostname` too, and the other way round",
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
                        let d = here.at(&["spec", "kopia", "sourceIdentity"]).error(
                            format!("no repository: VolSync would read it from the ReplicationSource `{source_name}` in `{source_namespace}`, which is not in the input"),
                            "add that ReplicationSource to the input, or set `spec.kopia.repository` to its repository Secret",
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
            create,
            trigger,
            time_zone: None,
            previous,
            restore_as_of: kopia.restore_as_of.clone().filter(|s| !s.is_empty()),
            enable_file_deletion: kopia.enable_file_deletion,
            // VolSync's end-to-end contract: a restore that finds no
            // snapshot completes with nothing restored.
            on_missing_snapshot: Some(OnMissingSnapshot::Succeed),
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

    /// The plan repository for a Secret (and repository PVC, and CA): one
    /// per distinct combination in a namespace, named after the Secret.
    fn repository(
        &mut self,
        doc: DocId,
        namespace: &str,
        common: &Common,
        repository_pvc: Option<&str>,
        creates: bool,
    ) -> Option<String> {
        let here = self.here(doc);
        let Some(secret) = common.repository.clone().filter(|r| !r.is_empty()) else {
            let d = here.at(&["spec", "kopia"]).error(
                "no repository: `spec.kopia.repository` names no Secret",
                "set `spec.kopia.repository` to the Secret holding KOPIA_PASSWORD and the backend settings",
            );
            self.diagnostics.push(d);
            return None;
        };
        let custom_ca = match &common.custom_ca {
            Some(ca) if ca.key.as_deref().is_none_or(str::is_empty) => {
                let d = here.at(&["spec", "kopia", "customCA"]).warning(
                    "`customCA` has no `key`, so it is ignored (as VolSync ignores it)",
                    "set `customCA.key` to the key of the CA bundle",
                );
                self.diagnostics.push(d);
                None
            }
            Some(ca) => Some(plan::CustomCa {
                config_map_name: ca
                    .config_map_name
                    .clone()
                    .filter(|s| !s.is_empty())
                    .filter(|_| ca.secret_name.as_deref().is_none_or(str::is_empty)),
                secret_name: ca.secret_name.clone().filter(|s| !s.is_empty()),
                key: ca.key.clone(),
            }),
            None => None,
        };
        let mut filesystem =
            repository_pvc
                .filter(|p| !p.is_empty())
                .map(|claim| FilesystemRepository {
                    claim_name: claim.to_owned(),
                    path: Some(REPOSITORY_PVC_PATH.to_owned()),
                });
        // Later VolSync: the first PVC of `moverVolumes` is the repository
        // (its root).
        if filesystem.is_none()
            && let Some(claim) = common.mover_volumes.iter().flatten().find_map(|v| {
                v.volume_source
                    .persistent_volume_claim
                    .as_ref()
                    .map(|c| c.claim_name.clone())
            })
        {
            filesystem = Some(FilesystemRepository {
                claim_name: claim,
                path: Some("/".to_owned()),
            });
        }
        let builder = self.plan(namespace, doc);
        let same = |r: &RepositorySpec| {
            r.secret_name == secret
                && r.filesystem.as_ref().map(|f| (&f.claim_name, &f.path))
                    == filesystem.as_ref().map(|f| (&f.claim_name, &f.path))
                && r.custom_ca
                    .as_ref()
                    .map(|c| (&c.config_map_name, &c.secret_name, &c.key))
                    == custom_ca
                        .as_ref()
                        .map(|c| (&c.config_map_name, &c.secret_name, &c.key))
        };
        if let Some(existing) = builder.plan.spec.repositories.iter_mut().find(|r| same(r)) {
            if creates {
                existing.create = Some(CreatePolicy::IfMissing);
                existing
                    .maintenance
                    .get_or_insert_with(MaintenanceSpec::default)
                    .owner
                    .get_or_insert_with(|| MAINTENANCE_OWNER.to_owned());
            }
            return Some(existing.name.clone());
        }
        let taken =
            |name: &str, b: &PlanBuilder| b.plan.spec.repositories.iter().any(|r| r.name == name);
        let mut name = secret.clone();
        let mut n = 2;
        while taken(&name, builder) {
            name = format!("{secret}-{n}");
            n += 1;
        }
        let index = builder.plan.spec.repositories.len();
        builder.plan.spec.repositories.push(RepositorySpec {
            name: name.clone(),
            secret_name: secret,
            url: None,
            filesystem,
            custom_ca,
            // VolSync's sources create a repository that does not exist yet;
            // kopiaplan does so only when Kopia says it is not initialised.
            create: Some(if creates {
                CreatePolicy::IfMissing
            } else {
                CreatePolicy::Never
            }),
            credentials: None,
            // Sources' repositories are maintained (daily unless a
            // KopiaMaintenance or maintenanceIntervalDays says otherwise)
            // by the owner VolSync's KopiaMaintenance claims.
            maintenance: creates.then(|| MaintenanceSpec {
                owner: Some(MAINTENANCE_OWNER.to_owned()),
                ..MaintenanceSpec::default()
            }),
        });
        let mut p = path(&["spec", "repositories"]);
        p.push(PathSegment::Index(index));
        builder.map(p.clone(), doc, path(&["spec", "kopia", "repository"]));
        let mut ca = p.clone();
        ca.push(key("customCA"));
        builder.map(ca, doc, path(&["spec", "kopia", "customCA"]));
        let mut fs = p;
        fs.push(key("filesystem"));
        builder.map(
            fs,
            doc,
            path(&[
                "spec",
                "kopia",
                if repository_pvc.is_some() {
                    "repositoryPVC"
                } else {
                    "moverVolumes"
                },
            ]),
        );
        Some(name)
    }

    /// VolSync's docs pass the policy settings `--one-file-system` and
    /// `--ignore-cache-dirs` as `additionalArgs`, where Kopia 0.23.1's
    /// `snapshot create` rejects them; what they ask for is a policy field,
    /// so that is where they go (with a warning).
    fn policy_flags(
        &mut self,
        doc: DocId,
        args: Option<&[String]>,
    ) -> (Option<Vec<String>>, Option<serde_json::Value>) {
        let Some(args) = args else {
            return (None, None);
        };
        let mut kept = Vec::new();
        let mut files = serde_json::Map::new();
        for (index, arg) in args.iter().enumerate() {
            let (flag, value) = match arg.split_once('=') {
                Some((flag, value)) => (flag, Some(value)),
                None => (arg.as_str(), None),
            };
            let field = match flag {
                "--one-file-system" => "oneFileSystem",
                "--ignore-cache-dirs" => "ignoreCacheDirs",
                _ => {
                    kept.push(arg.clone());
                    continue;
                }
            };
            let enabled = match value {
                None | Some("true") => true,
                Some("false") => false,
                Some(_) => {
                    kept.push(arg.clone());
                    continue;
                }
            };
            files.insert(field.to_owned(), serde_json::Value::Bool(enabled));
            let mut here = self.here(doc).at(&["spec", "kopia", "additionalArgs"]);
            here.path.push(PathSegment::Index(index));
            let d = here.warning(
                format!("`{flag}` is a policy setting, not a flag of `kopia snapshot create`; it becomes the source's policy `files.{field}`"),
                format!("write it as policy `files.{field}: {enabled}` (a BackupPlan's `policy`) to silence this"),
            );
            self.diagnostics.push(d);
        }
        let policy = (!files.is_empty()).then(|| serde_json::json!({ "files": files }));
        (Some(kept).filter(|k| !k.is_empty()), policy)
    }

    /// Warnings about fields both kinds share.
    fn check_common(&mut self, doc: DocId, common: &Common) {
        let here = self.here(doc);
        for (field, value) in [
            (
                "metadataCacheSizeLimitMB",
                common.metadata_cache_size_limit_mb,
            ),
            (
                "contentCacheSizeLimitMB",
                common.content_cache_size_limit_mb,
            ),
        ] {
            if let Some(value) = value
                && value < 0
            {
                let d = here.at(&["spec", "kopia", field]).error(
                    format!("`{field}` is {value}"),
                    "use a number of MiB, or 0 for no limit",
                );
                self.diagnostics.push(d);
            }
        }
    }

    fn maintenance(&mut self, doc: DocId, object: &KopiaMaintenance) {
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
            let d = here.at(&["spec", "trigger"]).error(
                "a KopiaMaintenance takes `trigger.schedule` or `trigger.manual`, not both",
                "remove one of them",
            );
            self.diagnostics.push(d);
            return;
        }
        let schedule = schedule
            .or_else(|| spec.schedule.clone().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| KM_DEFAULT_SCHEDULE.to_owned());
        if let Some(context) = &spec.container_security_context {
            let _ = context;
            let d = here.at(&["spec", "containerSecurityContext"]).warning(
                "`containerSecurityContext` is not used: kopiaplan's maintenance container always runs with the restricted settings (no privilege escalation, all capabilities dropped, read-only root)",
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

fn schema_kind(kind: &str) -> Option<super::schema::CrdKind> {
    match kind {
        "ReplicationSource" => Some(super::schema::CrdKind::ReplicationSource),
        "ReplicationDestination" => Some(super::schema::CrdKind::ReplicationDestination),
        "KopiaMaintenance" => Some(super::schema::CrdKind::KopiaMaintenance),
        _ => None,
    }
}

fn policy_config(common: &Common) -> Option<plan::PolicyConfig> {
    let config = common.policy_config.as_ref()?;
    let text = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    Some(plan::PolicyConfig {
        config_map_name: text(&config.config_map_name),
        secret_name: text(&config.secret_name),
        global_policy_filename: text(&config.global_policy_filename),
        repository_config_filename: text(&config.repository_config_filename),
        repository_config: text(&config.repository_config),
    })
    .filter(|c| {
        c.config_map_name.is_some() || c.secret_name.is_some() || c.repository_config.is_some()
    })
}

fn non_negative(value: Option<i64>) -> Option<u32> {
    value.and_then(|v| u32::try_from(v).ok())
}

/// VolSync's cache: an 8 GiB emptyDir unless a class or access modes ask
/// for a PVC (1 GiB unless `cacheCapacity` says), whose class falls back to
/// `storageClassName` and access modes to `accessModes`.
fn cache(common: &Common) -> Option<CacheSpec> {
    Some(volsync_cache(
        common.cache_capacity.as_ref(),
        common.cache_storage_class_name.as_ref(),
        common.cache_access_modes.as_ref(),
        common.metadata_cache_size_limit_mb,
        common.content_cache_size_limit_mb,
        common.storage_class_name.as_ref(),
        common.access_modes.as_ref(),
    ))
}

/// The cache rules VolSync applies to every mover (KopiaMaintenance too).
fn volsync_cache(
    capacity: Option<&types::Quantity>,
    storage_class_name: Option<&String>,
    access_modes: Option<&Vec<String>>,
    metadata_limit: Option<i64>,
    content_limit: Option<i64>,
    fallback_class: Option<&String>,
    fallback_modes: Option<&Vec<String>>,
) -> CacheSpec {
    let persistent = storage_class_name.is_some() || access_modes.is_some();
    let capacity = capacity.map(types::Quantity::as_string);
    let limits = CacheSpec {
        metadata_size_limit_mb: non_negative(metadata_limit),
        content_size_limit_mb: non_negative(content_limit),
        ..CacheSpec::default()
    };
    if !persistent {
        return CacheSpec { capacity, ..limits };
    }
    CacheSpec {
        capacity: Some(capacity.unwrap_or_else(|| DEFAULT_CACHE_PVC_CAPACITY.to_owned())),
        storage_class_name: storage_class_name.or(fallback_class).cloned(),
        persistent: Some(true),
        access_modes: access_modes
            .filter(|m| !m.is_empty())
            .or(fallback_modes)
            .cloned(),
        ..limits
    }
}

fn mover(common: &Common, privileged: bool) -> MoverSpec {
    // The first PVC of `moverVolumes` is the repository (see `repository`).
    let repository_claim = common
        .mover_volumes
        .iter()
        .flatten()
        .position(|v| v.volume_source.persistent_volume_claim.is_some());
    let volumes: Vec<plan::MoverVolume> = common
        .mover_volumes
        .iter()
        .flatten()
        .enumerate()
        .filter(|(index, _)| Some(*index) != repository_claim)
        .map(|(_, v)| plan::MoverVolume {
            mount_path: v.mount_path.clone(),
            volume_source: plan::MoverVolumeSource {
                secret: v.volume_source.secret.clone(),
                nfs: v.volume_source.nfs.clone(),
                persistent_volume_claim: v.volume_source.persistent_volume_claim.clone(),
            },
        })
        .collect();
    MoverSpec {
        resources: common.mover_resources.clone(),
        pod_labels: common.mover_pod_labels.clone(),
        node_selector: None,
        tolerations: None,
        affinity: common.mover_affinity.clone(),
        security_context: common.mover_security_context.clone(),
        service_account_name: common
            .mover_service_account
            .clone()
            .filter(|s| !s.is_empty()),
        privileged: privileged.then_some(true),
        priority_class_name: None,
        volumes: (!volumes.is_empty()).then_some(volumes),
    }
}

/// Where the fields of the entry `spec.<list>[index]` were written: its
/// own fields (`own`: plan keys → VolSync path), and those every entry has.
fn map_entry(
    builder: &mut PlanBuilder,
    (list, index): (&str, usize),
    doc: DocId,
    own: &[(&[&str], &[&str])],
) {
    let entry = |keys: &[&str]| {
        let mut p = path(&["spec", list]);
        p.push(PathSegment::Index(index));
        p.extend(keys.iter().map(|k| key(k)));
        p
    };
    let kopia = |field: &str| path(&["spec", "kopia", field]);
    let shared: [(&[&str], Vec<PathSegment>); 5] = [
        (&[], path(&["spec", "kopia"])),
        (&["name"], path(&["metadata", "name"])),
        (&["trigger"], path(&["spec", "trigger"])),
        (&["paused"], path(&["spec", "paused"])),
        (&["repository"], kopia("repository")),
    ];
    for (plan, source) in shared {
        builder.map(entry(plan), doc, source);
    }
    for (plan, source) in own {
        builder.map(entry(plan), doc, path(source));
    }
    for (plan, source) in [
        (&["cache", "capacity"][..], "cacheCapacity"),
        (&["cache", "storageClassName"][..], "cacheStorageClassName"),
        (&["cache", "accessModes"][..], "cacheAccessModes"),
        (
            &["cache", "metadataSizeLimitMB"][..],
            "metadataCacheSizeLimitMB",
        ),
        (
            &["cache", "contentSizeLimitMB"][..],
            "contentCacheSizeLimitMB",
        ),
        (&["mover", "resources"][..], "moverResources"),
        (&["mover", "podLabels"][..], "moverPodLabels"),
        (&["mover", "affinity"][..], "moverAffinity"),
        (&["mover", "securityContext"][..], "moverSecurityContext"),
        (&["mover", "serviceAccountName"][..], "moverServiceAccount"),
        (&["mover", "volumes"][..], "moverVolumes"),
        (&["create", "capacity"][..], "capacity"),
        (&["create", "accessModes"][..], "accessModes"),
        (&["create", "storageClassName"][..], "storageClassName"),
    ] {
        builder.map(entry(plan), doc, kopia(source));
    }
}
