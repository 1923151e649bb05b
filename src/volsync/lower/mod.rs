//! Lowering: VolSync objects → BackupPlans, one per namespace, named
//! `volsync`. Every VolSync decision (identity, cache, repository layout,
//! triggers, what a missing snapshot means) is made here, explicitly, in the
//! plan; resolving and emitting the plan is then the same as for a plan a
//! user wrote. Each plan path remembers the VolSync field it came from, so
//! diagnostics point at what the user wrote.

mod destination;
mod maintenance;
mod repository;
mod secret_settings;
mod source;
mod translate;

use translate::{cache, map_entry, mover, non_negative, policy_config, volsync_cache};

use std::collections::BTreeMap;

use super::error::LowerError;
use super::parse::{VolSyncInput, VolSyncObject};
use super::types::{self, Common, KopiaMaintenance, ReplicationDestination, ReplicationSource};
use super::{MAINTENANCE_OWNER, Options, PRIVILEGED_MOVERS};
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::load::{Document, PathSegment, display_path};
use crate::model::identity::{hostname_for, username_for};
use crate::parse::{ContextContent, ContextObject, DocId, Mapping, PlanInput, Provenance};
use crate::plan::{
    self, BackupPlan, BackupSpec, CacheSpec, CopyMethod, CreatePolicy, CreatePvc,
    FilesystemRepository, MaintenanceSpec, MoverSpec, OnMissingSnapshot, PlanMetadata, PlanSpec,
    RepositoryLayout, RepositorySpec, RestoreCopyMethod, RestoreSpec, Trigger,
};

/// The name of every plan lowered from VolSync objects: objects are named
/// `volsync-<object>-backup`, `volsync-<object>-restore`, ….
pub const PLAN_NAME: &str = "volsync";

/// Where VolSync's seed `repositoryPVC` keeps the repository inside the PVC.
pub const REPOSITORY_PVC_PATH: &str = "/repository";

/// A VolSync cache PVC's size when only its class or access modes are set.
const DEFAULT_CACHE_PVC_CAPACITY: &str = "1Gi";

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

/// Lowers every VolSync object. `documents` is used for nothing but
/// looking up where a field was written, for diagnostics.
pub fn lower(
    documents: &[Document],
    objects: &[VolSyncInput],
    cluster_sources: &[VolSyncInput],
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
    // Sources first: a destination may discover its source.
    let mut destinations = Vec::new();
    let mut maintenance = Vec::new();
    for input in objects {
        match &input.object {
            VolSyncObject::Source(source) => lowering.sources.push((input.doc, source.clone())),
            VolSyncObject::Destination(destination) => destinations.push((input.doc, destination)),
            VolSyncObject::Maintenance(object) => maintenance.push((input.doc, object)),
        }
    }
    let sources = std::mem::take(&mut lowering.sources);
    for (doc, source) in &sources {
        lowering.source(*doc, source);
    }
    lowering.sources = sources;
    // The cluster's ReplicationSources, after the input's (which win):
    // looked up by destinations, never lowered.
    lowering.sources.extend(
        cluster_sources
            .iter()
            .filter_map(|input| match &input.object {
                VolSyncObject::Source(source) => Some((input.doc, source.clone())),
                _ => None,
            }),
    );
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

    fn report(&self, kind: LowerError, help: impl Into<String>) -> Diagnostic {
        self.diagnostic(Diagnostic::new(&kind), help)
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

    /// The object's namespace: its own, the command line's default, or
    /// `default` (as kubectl would) with a warning.
    fn namespace(&mut self, doc: DocId, metadata: &types::Metadata) -> String {
        if let Some(namespace) = &metadata.namespace {
            return namespace.clone();
        }
        if let Some(namespace) = &self.options.default_namespace {
            return namespace.clone();
        }
        let d = self.here(doc).at(&["metadata"]).report(
            LowerError::NoNamespace,
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
                .report(LowerError::NoName, "set `metadata.name`");
            self.diagnostics.push(d);
        }
        // An object name may have 253 characters, an entry name (a label
        // value, the start of object names) 63: a longer one is shortened
        // with a digest. The Kopia identity is VolSync's, from the object's
        // own name (`username_for`), whatever the entry is called.
        if entry.len() > crate::model::names::NAME_LIMIT {
            return crate::model::names::object_name(&[&entry], crate::model::names::NAME_LIMIT);
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
                    let d = here.at(&["spec", "trigger", "schedule"]).report(
                        LowerError::ScheduleOverriddenByManual,
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
                let d = here.at(&["spec"]).report(
                    LowerError::NoTrigger { kind: kind.to_owned() },
                    "set `spec.trigger.schedule` (a cron such as \"0 2 * * *\") or `spec.trigger.manual` (a tag; change it to run again)",
                );
                self.diagnostics.push(d);
                None
            }
        }
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
                let d = here.at(&["spec", "kopia", field]).report(
                    LowerError::NegativeCacheLimit {
                        field: field.to_owned(),
                        value,
                    },
                    "use a number of MiB, or 0 for no limit",
                );
                self.diagnostics.push(d);
            }
        }
    }
}
