//! Resolution: input types → the fully resolved [`Model`]. Defaults are
//! applied, names, identities, schedules and policies decided, and the
//! cross-entry rules checked (unknown references, collisions). Every problem
//! is reported with the field path and position of the input that caused it.

mod access_modes;
mod backup;
mod cache;
pub(crate) mod checks;
mod collisions;
mod context;
pub mod defaults;
mod entry;
pub mod error;
mod error_kind;
mod expand;
mod hooks;
mod infer;
mod jobs;
mod location;
mod maintenance;
mod monitoring;
mod mover;
mod mover_volumes;
mod policy;
mod policy_config;
mod replica;
mod repository;
mod repository_options;
mod restore;
mod run;
pub mod schedule;
mod selection_error;
mod stream;
mod verify;

use crate::model::{identity, names};
use std::collections::BTreeMap;

use crate::diagnostics::{Diagnostic, Diagnostics, nearest};
use crate::load::Document;
use crate::model::{Backup, Logging, Maintenance, Model, Plan, PlanId, Restore, Verify};
use crate::parse::Inputs;
use crate::plan::BackupPlan;

use context::Context;
use location::At;
use run::Timing;

/// What one plan resolves to.
struct Resolved {
    plan: Plan,
    backups: Vec<Backup>,
    restores: Vec<Restore>,
    verifies: Vec<Verify>,
    maintenance: Vec<Maintenance>,
    replicas: Vec<crate::model::Replica>,
}

impl PlanResolver<'_, '_> {
    /// The plan's `acknowledge` list, each with where it is written (for
    /// the guard's warning when it matches nothing).
    fn acknowledged(&mut self) -> Vec<crate::model::Acknowledged> {
        let at = self.root.key("spec").key("acknowledge");
        let mut acknowledged = Vec::new();
        for (index, change) in self.input.spec.acknowledge.iter().enumerate() {
            let at = at.index(index);
            let entry = change.entry.split_once('/').filter(|(component, name)| {
                !name.is_empty()
                    && ["backup", "restore", "verify", "maintenance", "replica"].contains(component)
            });
            if entry.is_none() {
                let d = at.key("entry").error(
                    &error::ResolveError::InvalidAcknowledgedEntry {
                        written: change.entry.clone(),
                    },
                    "write `<component>/<name>`: `backup/web-data`, `restore/…`, `verify/…`, `maintenance/<repository>-full` (or `-quick`), or `replica/<repository>-<replica>`",
                );
                self.report(d);
            }
            acknowledged.push(crate::model::Acknowledged {
                change: change.clone(),
                span: at.value_span(),
            });
        }
        acknowledged
    }
}

/// Resolves every plan of the input.
pub fn resolve(
    inputs: &Inputs,
    documents: &[Document],
    sources: &crate::diagnostics::SourceMap,
) -> (Model, Diagnostics) {
    let mut model = Model::default();
    let mut diagnostics = Diagnostics::default();
    // The claims StatefulSets make are context too (a claim of the input or
    // the cluster context of the same name wins).
    // (Borrowed, not copied: a chart may bring thousands of them.)
    let claims = expand::stateful_set_claims(&inputs.workloads);
    let context = Context::new(inputs.context.iter().chain(&claims))
        .with_workloads(&inputs.workloads, inputs.infer);
    for crate::parse::PlanInput {
        plan: input,
        provenance,
    } in &inputs.plans
    {
        let root = At::plan(documents, sources, provenance);
        let plan_id = PlanId(model.plans.len());
        let mut resolver = PlanResolver {
            input,
            root,
            plan_id,
            context: &context,
            diagnostics: &mut diagnostics,
        };
        if let Some(resolved) = resolver.resolve() {
            model.plans.push(resolved.plan);
            model.backups.extend(resolved.backups);
            model.restores.extend(resolved.restores);
            model.verifies.extend(resolved.verifies);
            model.maintenance.extend(resolved.maintenance);
            model.replicas.extend(resolved.replicas);
        }
    }
    let plan_names: Vec<String> = model.plans.iter().map(|p| p.name.clone()).collect();
    maintenance::deduplicate(&mut model.maintenance, &plan_names, &mut diagnostics);
    collisions::check_collisions(&model, &mut diagnostics);
    cache::check_shared_claims(&model, &mut diagnostics);
    // The cluster context is never written.
    model.passthrough = inputs
        .context
        .iter()
        .filter(|object| inputs.context_in_output && !object.cluster)
        .map(|object| documents[object.doc.0].root.to_json())
        .collect();
    (model, diagnostics)
}

struct PlanResolver<'a, 'd> {
    input: &'a BackupPlan,
    root: At<'a>,
    plan_id: PlanId,
    context: &'a Context<'a>,
    diagnostics: &'d mut Diagnostics,
}

impl PlanResolver<'_, '_> {
    fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// `spec.cluster`, when the plan names its cluster.
    fn cluster(&self) -> Option<&str> {
        self.input.spec.cluster.as_deref()
    }

    fn resolve(&mut self) -> Option<Resolved> {
        let errors_before = self.diagnostics.error_count();
        let metadata = &self.input.metadata;
        let at_meta = self.root.key("metadata");
        if let Err(e) = checks::dns_label(&metadata.name) {
            let d = at_meta.key("name").invalid_name(
                "plan name",
                &metadata.name,
                e,
                "use a DNS-1123 label such as `nightly`",
            );
            self.report(d);
        }
        if let Some(namespace) = &metadata.namespace
            && let Err(e) = checks::dns_label(namespace)
        {
            let d = at_meta.key("namespace").invalid_name(
                "namespace",
                namespace,
                e,
                "use a DNS-1123 label",
            );
            self.report(d);
        }
        self.check_labels(&metadata.labels, &at_meta.key("labels"));
        let plan = Plan {
            name: metadata.name.clone(),
            origin: self.root.origin(),
            labels: metadata.labels.clone(),
            annotations: metadata.annotations.clone(),
            kopia_image: self
                .input
                .spec
                .kopia
                .image
                .clone()
                .unwrap_or_else(|| defaults::KOPIA_IMAGE.to_owned()),
            launcher_image: self
                .input
                .spec
                .launcher
                .image
                .clone()
                .unwrap_or_else(|| defaults::DEFAULT_LAUNCHER_IMAGE.to_owned()),
            snapshot_ready_timeout_seconds: self
                .input
                .spec
                .launcher
                .snapshot_ready_timeout_seconds
                .unwrap_or(defaults::SNAPSHOT_READY_TIMEOUT_SECONDS),
            launcher_admission_policy: self
                .input
                .spec
                .launcher
                .admission_policy
                .unwrap_or(defaults::LAUNCHER_ADMISSION_POLICY),
            launcher_resources: self
                .input
                .spec
                .launcher
                .resources
                .clone()
                .unwrap_or_else(defaults::default_launcher_resources),
            launcher_hooks_image: self
                .input
                .spec
                .launcher
                .hooks_image
                .clone()
                .unwrap_or_else(|| defaults::HOOKS_LAUNCHER_IMAGE.to_owned()),
            logging: self.logging(),
            acknowledged: self.acknowledged(),
            monitoring: self.monitoring(),
        };
        if let Some(cluster) = &self.input.spec.cluster
            && let Err(e) = checks::dns_label(cluster)
        {
            let d = self.root.key("spec").key("cluster").invalid_name(
                "cluster name",
                cluster,
                e,
                "use a DNS-1123 label, such as `cluster-a`",
            );
            self.report(d);
        }
        let repositories = self.repositories();
        let backups = self.backups(&repositories);
        let restores = self.restores(&repositories, &backups);
        let verifies = self.verifies(&backups);
        let maintenance = self.maintenance(&backups, &repositories);
        let replicas = self.replicas(&maintenance, &repositories);
        if self.diagnostics.error_count() > errors_before {
            return None;
        }
        Some(Resolved {
            plan,
            backups,
            restores,
            verifies,
            maintenance,
            replicas,
        })
    }

    pub(super) fn check_labels(&mut self, labels: &BTreeMap<String, String>, at: &At<'_>) {
        for (key, value) in labels {
            let at_key = at.key(key);
            if let Err(e) = checks::label_key(key) {
                let d = at_key.invalid_name(
                    "label key",
                    key,
                    e,
                    "use a valid label key such as `team`",
                );
                self.report(d);
            }
            if let Err(e) = checks::label_value(value) {
                let d = at_key.invalid_name("label value", value, e, "use a valid label value");
                self.report(d);
            }
        }
    }

    pub(super) fn logging(&mut self) -> Logging {
        let at = self.root.key("spec").key("kopia").key("logging");
        let spec = self.input.spec.kopia.logging.clone().unwrap_or_default();
        let file_level = spec
            .file_level
            .unwrap_or_else(|| defaults::LOG_FILE_LEVEL.into());
        let levels = crate::kopia::log_levels();
        if !levels.contains(&file_level.as_str()) {
            let help = match nearest(&file_level, levels.iter().copied()) {
                Some(level) => format!(
                    "did you mean `{level}`? Kopia accepts {}",
                    levels.join(", ")
                ),
                None => format!("Kopia accepts {}", levels.join(", ")),
            };
            let d = at.key("fileLevel").error(
                &error::ResolveError::NotAKopiaValue {
                    value: file_level.clone(),
                    expected: "a Kopia log level".into(),
                },
                help,
            );
            self.report(d);
        }
        let max_age = spec.max_age.unwrap_or_else(|| defaults::LOG_MAX_AGE.into());
        if !crate::kopia::is_go_duration(&max_age) {
            let d = at.key("maxAge").error(
                &error::ResolveError::NotAKopiaValue {
                    value: max_age.clone(),
                    expected: "a duration Kopia accepts".into(),
                },
                "write a Go duration such as `4h`, `30m` or `7d`",
            );
            self.report(d);
        }
        let max_files = spec.max_files.unwrap_or(defaults::LOG_MAX_FILES);
        if max_files == 0 {
            let d = at
                .key("maxFiles")
                .error(&error::ResolveError::NoLogFiles, "use 1 or more");
            self.report(d);
        }
        Logging {
            file_level,
            max_files,
            max_age,
        }
    }

    /// Reports every entry of `spec.<list>` whose name an earlier entry
    /// already uses; the result says which entries to resolve.
    pub(super) fn unique_names<'n>(
        &mut self,
        kind: &str,
        list: &str,
        names: impl Iterator<Item = &'n str>,
    ) -> Vec<bool> {
        let at_list = self.root.key("spec").key(list);
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        let mut unique = Vec::new();
        for (index, name) in names.enumerate() {
            match seen.insert(name, index) {
                Some(first) => {
                    let problem = error::ResolveError::DuplicateEntry {
                        kind: kind.to_owned(),
                        name: name.to_owned(),
                        list: list.to_owned(),
                        first,
                    };
                    let d = at_list
                        .index(index)
                        .key("name")
                        .error(&problem, format!("give each {kind} of a plan its own name"));
                    self.report(d);
                    unique.push(false);
                }
                None => unique.push(true),
            }
        }
        unique
    }

    /// The entry's namespace: its own, else the plan's.
    pub(super) fn namespace(
        &mut self,
        kind: &str,
        name: &str,
        own: Option<&String>,
        at: &At<'_>,
    ) -> String {
        match own.or(self.input.metadata.namespace.as_ref()) {
            Some(namespace) => {
                if own.is_some()
                    && let Err(e) = checks::dns_label(namespace)
                {
                    let d = at.key("namespace").invalid_name(
                        "namespace",
                        namespace,
                        e,
                        "use a DNS-1123 label",
                    );
                    self.report(d);
                }
                namespace.clone()
            }
            None => {
                let problem = error::ResolveError::NoNamespace {
                    kind: kind.to_owned(),
                    name: name.to_owned(),
                };
                let d = at.error(
                    &problem,
                    format!("set `namespace` on the {kind} or `metadata.namespace` on the plan"),
                );
                self.report(d);
                String::new()
            }
        }
    }
}
