//! Resolution: input types → the fully resolved [`Model`]. Defaults are
//! applied, names, identities, schedules and policies decided, and the
//! cross-entry rules checked (unknown references, collisions). Every problem
//! is reported with the field path and position of the input that caused it.

mod cache;
mod checks;
mod maintenance;
mod mover_volumes;
mod policy;
mod policy_config;
mod restore;
pub mod schedule;
mod verify;

use crate::model::{identity, names};
use std::collections::{BTreeMap, HashMap};

use crate::diagnostics::{Diagnostic, Diagnostics, nearest};
use crate::load::{Document, PathSegment, display_path};
use crate::model::{
    self, Actions, Backup, CaSource, Cache, Copy, CustomCa, Identity, Jobs, Logging, Maintenance,
    Model, Mover, Names, Origin, PersistentCache, Plan, PlanId, Repository, RepositoryLocation,
    Restore, Run, Schedule, Verify,
};
use crate::parse::{ContextObject, Inputs, Provenance};
use crate::plan::{
    BackupPlan, BackupSpec, CopyMethod, CreatePolicy, JobSettings, MoverSpec, RepositorySpec,
    Trigger,
};
use names::{CRON_JOB_NAME_LIMIT, NAME_LIMIT, object_name};

pub const DEFAULT_CACHE_CAPACITY: &str = "8Gi";
pub const DEFAULT_SCHEDULE: &str = "H H * * *";
/// The official kubectl image: distroless, so launchers run one kubectl
/// command per container.
pub const DEFAULT_LAUNCHER_IMAGE: &str = "registry.k8s.io/kubectl:v1.33.0";

/// A launcher container runs one kubectl command: small, and bounded.
fn default_launcher_resources() -> k8s_openapi::api::core::v1::ResourceRequirements {
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    k8s_openapi::api::core::v1::ResourceRequirements {
        requests: Some(
            [
                ("cpu".to_owned(), Quantity("10m".into())),
                ("memory".to_owned(), Quantity("32Mi".into())),
            ]
            .into(),
        ),
        limits: Some([("memory".to_owned(), Quantity("128Mi".into()))].into()),
        ..Default::default()
    }
}

/// What one plan resolves to.
struct Resolved {
    plan: Plan,
    backups: Vec<Backup>,
    restores: Vec<Restore>,
    verifies: Vec<Verify>,
    maintenance: Vec<Maintenance>,
}

/// A position in a plan, for building diagnostics. The plan's paths are
/// translated through its [`Provenance`] to the document (and field) it
/// came from: the plan itself, or the VolSync objects it was lowered from.
#[derive(Clone)]
struct At<'a> {
    documents: &'a [Document],
    sources: &'a crate::diagnostics::SourceMap,
    provenance: std::borrow::Cow<'a, Provenance>,
    path: Vec<PathSegment>,
}

impl<'a> At<'a> {
    fn key(&self, key: &str) -> At<'a> {
        let mut at = self.clone();
        at.path.push(PathSegment::Key(key.to_owned()));
        at
    }

    /// A path in another document of the input (a context object).
    fn in_document(&self, doc: crate::parse::DocId, path: Vec<PathSegment>) -> At<'a> {
        At {
            documents: self.documents,
            sources: self.sources,
            provenance: std::borrow::Cow::Owned(Provenance::Document(doc)),
            path,
        }
    }

    fn index(&self, index: usize) -> At<'a> {
        let mut at = self.clone();
        at.path.push(PathSegment::Index(index));
        at
    }

    /// The document and the path in it that this plan path came from.
    fn located(&self) -> (&'a Document, Vec<PathSegment>) {
        let (doc, path) = self.provenance.translate(&self.path);
        (&self.documents[doc.0], path)
    }

    /// The field path as the user wrote it (in the document it came from).
    fn field_path(&self) -> String {
        display_path(&self.located().1)
    }

    /// The value's position (not its key's), for messages about a value.
    fn value_span(&self) -> crate::diagnostics::Span {
        let (document, path) = self.located();
        let located = document.root.locate(&path);
        crate::load::span_of_node(document.file, located.node)
    }

    fn error(&self, message: impl Into<String>, help: impl Into<String>) -> Diagnostic {
        let (_, path) = self.located();
        Diagnostic::error(message)
            .at(Some(self.value_span()))
            .field(display_path(&path))
            .help(help)
    }

    /// Like [`At::error`], pointing at the key of the last path step.
    fn key_error(&self, message: impl Into<String>, help: impl Into<String>) -> Diagnostic {
        let (document, path) = self.located();
        Diagnostic::error(message)
            .at(Some(document.span_of(&path)))
            .field(display_path(&path))
            .help(help)
    }

    /// Whether the document this path translates to has the field.
    fn exists(&self) -> bool {
        let (document, path) = self.located();
        document.root.locate(&path).complete
    }

    fn line(&self) -> u32 {
        self.value_span().line
    }

    /// Where this entry was written, for the source annotation.
    /// A lowered entry's origin is the start of the object it came from.
    fn origin(&self) -> Origin {
        let (document, _) = self.located();
        let line = match self.provenance.as_ref() {
            Provenance::Document(_) => self.line(),
            Provenance::Lowered { .. } => document.root.position.line,
        };
        Origin {
            file: self.sources.file(document.file).relative_name.clone(),
            line,
        }
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
    let context = Context::new(&inputs.context);
    for crate::parse::PlanInput {
        plan: input,
        provenance,
    } in &inputs.plans
    {
        let root = At {
            documents,
            sources,
            provenance: std::borrow::Cow::Borrowed(provenance),
            path: Vec::new(),
        };
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
        }
    }
    let plan_names: Vec<String> = model.plans.iter().map(|p| p.name.clone()).collect();
    maintenance::deduplicate(&mut model.maintenance, &plan_names, &mut diagnostics);
    check_collisions(&model, &mut diagnostics);
    cache::check_shared_claims(&model, &mut diagnostics);
    model.passthrough = inputs
        .context
        .iter()
        .map(|object| object.value.clone())
        .collect();
    (model, diagnostics)
}

/// Context objects by kind, namespace and name.
struct Context<'a> {
    objects: HashMap<(&'a str, &'a str, &'a str), &'a ContextObject>,
    /// Files of context objects already checked (document, key), so that
    /// a ConfigMap several entries use is reported once.
    looked_at: std::cell::RefCell<std::collections::BTreeSet<(usize, String)>>,
}

impl<'a> Context<'a> {
    fn new(objects: &'a [ContextObject]) -> Self {
        Self {
            looked_at: Default::default(),
            objects: objects
                .iter()
                .map(|o| {
                    (
                        (
                            o.kind.as_str(),
                            o.namespace.as_deref().unwrap_or(""),
                            o.name.as_str(),
                        ),
                        o,
                    )
                })
                .collect(),
        }
    }

    fn get(&self, kind: &str, namespace: &str, name: &str) -> Option<&'a ContextObject> {
        self.objects.get(&(kind, namespace, name)).copied()
    }

    /// True the first time a file of a context object is asked about.
    fn first_look(&self, object: &ContextObject, key: &str) -> bool {
        self.looked_at
            .borrow_mut()
            .insert((object.doc.0, key.to_owned()))
    }
}

/// When an entry runs, as written on it.
struct Timing<'s> {
    /// `backup`, `restore`, `verify` or `maintenance`: part of the `H` seed.
    component: &'static str,
    name: &'s str,
    schedule: Option<&'s String>,
    /// The schedule of entries of this kind that set none (before the plan's default).
    default_schedule: Option<&'s str>,
    trigger: Option<&'s Trigger>,
    paused: Option<bool>,
    time_zone: Option<&'s String>,
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

    fn resolve(&mut self) -> Option<Resolved> {
        let errors_before = self.diagnostics.error_count();
        let metadata = &self.input.metadata;
        let at_meta = self.root.key("metadata");
        if let Err(e) = checks::dns_label(&metadata.name) {
            let d = at_meta.key("name").error(
                format!("the plan name `{}` {e}", metadata.name),
                "use a DNS-1123 label such as `nightly`",
            );
            self.report(d);
        }
        if let Some(namespace) = &metadata.namespace
            && let Err(e) = checks::dns_label(namespace)
        {
            let d = at_meta.key("namespace").error(
                format!("the namespace `{namespace}` {e}"),
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
                .unwrap_or_else(|| crate::kopia::DEFAULT_IMAGE.to_owned()),
            launcher_image: self
                .input
                .spec
                .launcher
                .image
                .clone()
                .unwrap_or_else(|| DEFAULT_LAUNCHER_IMAGE.to_owned()),
            snapshot_ready_timeout_seconds: self
                .input
                .spec
                .launcher
                .snapshot_ready_timeout_seconds
                .unwrap_or(600),
            launcher_admission_policy: self.input.spec.launcher.admission_policy.unwrap_or(true),
            launcher_resources: self
                .input
                .spec
                .launcher
                .resources
                .clone()
                .unwrap_or_else(default_launcher_resources),
            logging: self.logging(),
        };
        let repositories = self.repositories();
        let backups = self.backups(&repositories);
        let restores = self.restores(&repositories, &backups);
        let verifies = self.verifies(&backups);
        let maintenance = self.maintenance(&backups, &repositories);
        if self.diagnostics.error_count() > errors_before {
            return None;
        }
        Some(Resolved {
            plan,
            backups,
            restores,
            verifies,
            maintenance,
        })
    }

    fn check_labels(&mut self, labels: &BTreeMap<String, String>, at: &At<'_>) {
        for (key, value) in labels {
            let at_key = at.key(key);
            if let Err(e) = checks::label_key(key) {
                let d = at_key.error(
                    format!("the label key `{key}` {e}"),
                    "use a valid label key such as `team`",
                );
                self.report(d);
            }
            if let Err(e) = checks::label_value(value) {
                let d = at_key.error(
                    format!("the label value `{value}` {e}"),
                    "use a valid label value",
                );
                self.report(d);
            }
        }
    }

    fn logging(&mut self) -> Logging {
        let at = self.root.key("spec").key("kopia").key("logging");
        let spec = self.input.spec.kopia.logging.clone().unwrap_or_default();
        let file_level = spec.file_level.unwrap_or_else(|| "info".into());
        let levels = crate::kopia::log_levels();
        if !levels.contains(&file_level.as_str()) {
            let help = match nearest(&file_level, levels.iter().copied()) {
                Some(level) => format!(
                    "did you mean `{level}`? Kopia accepts {}",
                    levels.join(", ")
                ),
                None => format!("Kopia accepts {}", levels.join(", ")),
            };
            let d = at
                .key("fileLevel")
                .error(format!("`{file_level}` is not a Kopia log level"), help);
            self.report(d);
        }
        let max_age = spec.max_age.unwrap_or_else(|| "4h".into());
        if !crate::kopia::is_go_duration(&max_age) {
            let d = at.key("maxAge").error(
                format!("`{max_age}` is not a duration Kopia accepts"),
                "write a Go duration such as `4h`, `30m` or `7d`",
            );
            self.report(d);
        }
        let max_files = spec.max_files.unwrap_or(3);
        if max_files == 0 {
            let d = at
                .key("maxFiles")
                .error("Kopia must keep at least one log file", "use 1 or more");
            self.report(d);
        }
        Logging {
            file_level,
            max_files,
            max_age,
        }
    }

    fn repositories(&mut self) -> BTreeMap<String, Repository> {
        let mut resolved = BTreeMap::new();
        let at_list = self.root.key("spec").key("repositories");
        for (index, spec) in self.input.spec.repositories.iter().enumerate() {
            let at = at_list.index(index);
            if resolved.contains_key(&spec.name) {
                let d = at.key("name").error(
                    format!("the repository name `{}` is used twice", spec.name),
                    "give each repository its own name",
                );
                self.report(d);
                continue;
            }
            if let Some(repository) = self.repository(spec, &at) {
                resolved.insert(spec.name.clone(), repository);
            }
        }
        resolved
    }

    fn repository(&mut self, spec: &RepositorySpec, at: &At<'_>) -> Option<Repository> {
        let errors_before = self.diagnostics.error_count();
        if let Err(e) = checks::dns_label(&spec.name) {
            let d = at.key("name").error(
                format!("the repository name `{}` {e}", spec.name),
                "use a DNS-1123 label",
            );
            self.report(d);
        }
        if let Err(e) = checks::dns_subdomain(&spec.secret_name) {
            let d = at.key("secretName").error(
                format!("the Secret name `{}` {e}", spec.secret_name),
                "use the name of an existing Secret",
            );
            self.report(d);
        }
        let location = match (&spec.url, &spec.filesystem) {
            (Some(_), Some(_)) => {
                let d = at.key("filesystem").error(
                    "a repository has either `url` or `filesystem`, not both",
                    "remove one of them",
                );
                self.report(d);
                RepositoryLocation::FromSecret
            }
            (Some(url), None) => {
                let scheme = url
                    .split_once("://")
                    .map(|(s, _)| s)
                    .or_else(|| url.strip_suffix(':'));
                match scheme {
                    Some(scheme) if crate::kopia::SCHEMES.contains(&scheme) => {}
                    _ => {
                        let typed = url.split(':').next().unwrap_or("");
                        let help = match nearest(typed, crate::kopia::SCHEMES.iter().copied()) {
                            Some(s) if !typed.is_empty() => format!("did you mean `{s}://…`?"),
                            _ => format!("use one of {}", crate::kopia::SCHEMES.join(", ")),
                        };
                        let d = at.key("url").error(
                            format!("`{url}` is not a repository URL kopiaplan knows"),
                            help,
                        );
                        self.report(d);
                    }
                }
                if let Some((problem, keys)) = checks::url_credential(url) {
                    let d = at.key("url").error(
                        problem,
                        format!(
                            "move the credential into the repository Secret `{}` as {keys}, and remove it from the URL",
                            spec.secret_name
                        ),
                    );
                    self.report(d);
                }
                RepositoryLocation::Url(url.clone())
            }
            (None, Some(fs)) => {
                if let Err(e) = checks::dns_subdomain(&fs.claim_name) {
                    let d = at.key("filesystem").key("claimName").error(
                        format!("the claim name `{}` {e}", fs.claim_name),
                        "use the name of an existing PVC",
                    );
                    self.report(d);
                }
                let path = fs.path.clone().unwrap_or_else(|| "/repository".into());
                if let Err(e) = checks::absolute_path(&path) {
                    let d = at.key("filesystem").key("path").error(
                        format!("the path `{path}` {e}"),
                        "write an absolute path inside the volume, such as `/repository`",
                    );
                    self.report(d);
                }
                RepositoryLocation::Claim {
                    claim_name: fs.claim_name.clone(),
                    path,
                }
            }
            (None, None) => RepositoryLocation::FromSecret,
        };
        let custom_ca = spec.custom_ca.as_ref().and_then(|ca| {
            let at_ca = at.key("customCA");
            let key = ca.key.clone().unwrap_or_else(|| "ca.crt".into());
            match (&ca.config_map_name, &ca.secret_name) {
                (Some(name), None) => Some(CustomCa {
                    source: CaSource::ConfigMap(name.clone()),
                    key,
                }),
                (None, Some(name)) => Some(CustomCa {
                    source: CaSource::Secret(name.clone()),
                    key,
                }),
                _ => {
                    let d = at_ca.error(
                        "`customCA` needs exactly one of `configMapName` and `secretName`",
                        "name the ConfigMap or the Secret that holds the CA bundle",
                    );
                    self.diagnostics.push(d);
                    None
                }
            }
        });
        if spec.credentials.is_some() {
            let d = at.key("credentials").error(
                "`credentials` (a Secret made from the compile environment) is not supported yet",
                "create the Secret named by `secretName` yourself, for now",
            );
            self.report(d);
        }
        if self.diagnostics.error_count() > errors_before {
            return None;
        }
        Some(Repository {
            name: spec.name.clone(),
            secret_name: spec.secret_name.clone(),
            location,
            custom_ca,
            create: spec.create.unwrap_or(CreatePolicy::IfMissing),
        })
    }

    fn backups(&mut self, repositories: &BTreeMap<String, Repository>) -> Vec<Backup> {
        let at_list = self.root.key("spec").key("backups");
        let input = self.input;
        let unique = self.unique_names(
            "backup",
            "backups",
            input.spec.backups.iter().map(|b| b.name.as_str()),
        );
        let mut backups = Vec::new();
        for (index, spec) in input.spec.backups.iter().enumerate() {
            let at = at_list.index(index);
            if !unique[index] {
                continue;
            }
            if let Some(backup) = self.backup(spec, &at, repositories) {
                backups.push(backup);
            }
        }
        backups
    }

    fn backup(
        &mut self,
        spec: &BackupSpec,
        at: &At<'_>,
        repositories: &BTreeMap<String, Repository>,
    ) -> Option<Backup> {
        let errors_before = self.diagnostics.error_count();
        let defaults = &self.input.spec.defaults;
        let at_defaults = self.root.key("spec").key("defaults");
        if let Err(e) = checks::dns_label(&spec.name) {
            let d = at.key("name").error(
                format!("the backup name `{}` {e}", spec.name),
                "use a DNS-1123 label such as `web-data`",
            );
            self.report(d);
        }
        if let Err(e) = checks::dns_subdomain(&spec.pvc) {
            let d = at.key("pvc").error(
                format!("the PVC name `{}` {e}", spec.pvc),
                "use the name of the PersistentVolumeClaim to back up",
            );
            self.report(d);
        }
        let namespace = self.namespace("backup", &spec.name, spec.namespace.as_ref(), at);
        let repository = self.repository_for(
            "backup",
            &spec.name,
            spec.repository.as_ref(),
            at,
            repositories,
        );
        if let Some(repository) = &repository {
            self.check_repository_secret(repository, &namespace, at);
        }

        // Identity.
        let path = spec
            .source_path_override
            .clone()
            .unwrap_or_else(|| model::paths::DATA.to_owned());
        if let Err(e) = checks::absolute_path(&path) {
            let d = at.key("sourcePathOverride").error(
                format!("`{path}` {e}"),
                "write the path Kopia should record, such as `/var/lib/web`",
            );
            self.report(d);
        }
        for (field, value) in [("username", &spec.username), ("hostname", &spec.hostname)] {
            if let Some(value) = value
                && !identity::is_valid_explicit(value)
            {
                let d = at.key(field).error(
                        format!("the {field} `{value}` is not a valid Kopia identity part"),
                        "use letters, digits, `.`, `_` and `-`, starting and ending with a letter or digit",
                    );
                self.report(d);
            }
        }
        let identity = Identity {
            username: spec
                .username
                .clone()
                .unwrap_or_else(|| identity::username_for(&spec.name)),
            hostname: spec
                .hostname
                .clone()
                .unwrap_or_else(|| identity::hostname_for(&namespace)),
            path,
        };

        if let Some(source_path) = &spec.source_path
            && let Err(e) = checks::relative_path(source_path)
        {
            let d = at.key("sourcePath").error(
                format!("`{source_path}` {e}"),
                "name a sub-directory of the volume, such as `uploads`",
            );
            self.report(d);
        }

        let run = self.run(
            &Timing {
                component: "backup",
                name: &spec.name,
                schedule: spec.schedule.as_ref(),
                default_schedule: None,
                trigger: spec.trigger.as_ref(),
                paused: spec.paused,
                time_zone: spec.time_zone.as_ref(),
            },
            at,
            &namespace,
        );
        let copy = self.copy(spec, at, &namespace);
        let cache = self.cache(spec.cache.as_ref(), at);
        let mover = self.mover(spec.mover.as_ref(), at);
        let jobs = self.jobs(spec.jobs.as_ref(), at);
        let actions = self.actions(spec, at);
        let policy = policy::resolve(defaults, spec, &at_defaults, at, self.diagnostics);
        let policy_files = self.policy_files(
            spec.policy_config.as_ref(),
            at,
            &namespace,
            policy_config::Usage::Backup,
        );

        if matches!(copy, Copy::Clone { .. })
            && cache.persistent.is_some()
            && !mover.privileged
            && mover
                .security_context
                .as_ref()
                .and_then(|c| c.fs_group)
                .is_none()
        {
            self.report(
                Diagnostic::warning(format!(
                    "the persistent cache of `{}` may not be writable by the mover's non-root user",
                    spec.name
                ))
                .at(Some(at.value_span()))
                .field(at.field_path())
                .help(
                    "set `mover.securityContext.fsGroup` to the group that owns the volume's files \
                     (kopiaplan does not choose one for a clone: the kubelet would re-own the \
                     cloned files)",
                ),
            );
        }

        if !matches!(copy, Copy::Direct { .. })
            && matches!(
                repository.as_ref().map(|r| &r.location),
                Some(RepositoryLocation::Claim { .. })
            )
            && !mover.privileged
            && mover
                .security_context
                .as_ref()
                .and_then(|c| c.fs_group)
                .is_none()
        {
            self.report(
                Diagnostic::warning(format!(
                    "the repository claim of `{}` may not be writable by the mover's non-root user",
                    spec.name
                ))
                .at(Some(at.value_span()))
                .field(at.field_path())
                .help(
                    "make the volume writable by uid/gid 65532 (an NFS export, say), or set \
                     `mover.securityContext.fsGroup` to the group that owns the volume's files \
                     (kopiaplan does not choose one for a clone or snapshot copy: the kubelet \
                     would re-own the copied files)",
                ),
            );
        }

        self.check_policy_actions(spec, policy_files.as_ref(), at, &at_defaults);

        let parallelism = spec.parallelism.or(defaults.parallelism);
        if parallelism == Some(0) {
            let at_p = if spec.parallelism.is_some() {
                at.key("parallelism")
            } else {
                at_defaults.key("parallelism")
            };
            let d = at_p.error(
                "parallelism must be at least 1",
                "remove it to let Kopia decide, or use 1 or more",
            );
            self.report(d);
        }
        let additional_args = self.additional_args(
            "snapshot create",
            spec.additional_args.as_ref(),
            at,
            "express the settings as `policy` fields instead",
        );

        if self.diagnostics.error_count() > errors_before {
            return None;
        }
        let plan = &self.input.metadata.name;
        let names = Names {
            cron_job: object_name(&[plan, &spec.name, "backup"], CRON_JOB_NAME_LIMIT),
            job: match &run {
                Run::Manual { token } => Some(object_name(
                    &[plan, &spec.name, "backup", &names::short_digest(token)],
                    NAME_LIMIT,
                )),
                _ => None,
            },
            service_account: object_name(&[plan, &spec.name, "backup"], NAME_LIMIT),
            policy_config_map: object_name(&[plan, &spec.name, "backup", "policy"], NAME_LIMIT),
            scripts_prefix: scripts_prefix(plan),
            launcher: matches!(copy, Copy::Snapshot { .. })
                .then(|| names::launcher(&namespace, &[plan, &spec.name, "backup"])),
        };
        let cache = self.name_persistent_cache(cache, &[plan, &spec.name, "backup", "cache"]);
        Some(Backup {
            plan: self.plan_id,
            name: spec.name.clone(),
            namespace,
            origin: at.origin(),
            span: at.value_span(),
            pvc: spec.pvc.clone(),
            identity,
            repository: repository?,
            run,
            copy,
            source_path: spec.source_path.clone(),
            parallelism,
            actions,
            policy,
            additional_args,
            cache,
            mover,
            jobs,
            names,
            policy_files,
        })
    }

    /// Reports every entry of `spec.<list>` whose name an earlier entry
    /// already uses; the result says which entries to resolve.
    fn unique_names<'n>(
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
                    let d = at_list.index(index).key("name").error(
                        format!("the {kind} name `{name}` is also used by {list}[{first}]"),
                        format!("give each {kind} of a plan its own name"),
                    );
                    self.report(d);
                    unique.push(false);
                }
                None => unique.push(true),
            }
        }
        unique
    }

    /// The entry's namespace: its own, else the plan's.
    fn namespace(&mut self, kind: &str, name: &str, own: Option<&String>, at: &At<'_>) -> String {
        match own.or(self.input.metadata.namespace.as_ref()) {
            Some(namespace) => {
                if own.is_some()
                    && let Err(e) = checks::dns_label(namespace)
                {
                    let d = at.key("namespace").error(
                        format!("the namespace `{namespace}` {e}"),
                        "use a DNS-1123 label",
                    );
                    self.report(d);
                }
                namespace.clone()
            }
            None => {
                let d = at.error(
                    format!("the {kind} `{name}` has no namespace"),
                    format!("set `namespace` on the {kind} or `metadata.namespace` on the plan"),
                );
                self.report(d);
                String::new()
            }
        }
    }

    /// The repository an entry names, else the default one, else the only one.
    fn repository_for(
        &mut self,
        kind: &str,
        name: &str,
        own: Option<&String>,
        at: &At<'_>,
        repositories: &BTreeMap<String, Repository>,
    ) -> Option<Repository> {
        let defaults = &self.input.spec.defaults;
        match own.or(defaults.repository.as_ref()) {
            Some(repository) => match repositories.get(repository) {
                Some(found) => Some(found.clone()),
                None => {
                    let at_repo = if own.is_some() {
                        at.key("repository")
                    } else {
                        self.root.key("spec").key("defaults").key("repository")
                    };
                    let help = match nearest(repository, repositories.keys().map(String::as_str)) {
                        Some(n) => format!("did you mean `{n}`?"),
                        None if self.input.spec.repositories.is_empty() => {
                            "declare it under `spec.repositories`".into()
                        }
                        None => format!(
                            "declared repositories: {}",
                            repositories.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    };
                    // A repository that failed its own checks is already reported.
                    if !self
                        .input
                        .spec
                        .repositories
                        .iter()
                        .any(|r| &r.name == repository)
                    {
                        let d =
                            at_repo.error(format!("no repository is named `{repository}`"), help);
                        self.report(d);
                    }
                    None
                }
            },
            None if repositories.len() == 1 => repositories.values().next().cloned(),
            None => {
                let d = at.error(
                    format!("the {kind} `{name}` names no repository"),
                    format!("set `repository` on the {kind} or `spec.defaults.repository`"),
                );
                self.report(d);
                None
            }
        }
    }

    /// When the repository's Secret is part of the input, it must hold
    /// the password (and a URL, when the plan gives none).
    fn check_repository_secret(&mut self, repository: &Repository, namespace: &str, at: &At<'_>) {
        let Some(secret) = self
            .context
            .get("Secret", namespace, &repository.secret_name)
        else {
            return;
        };
        let keys = secret.data_keys();
        let mut missing = vec!["KOPIA_PASSWORD"];
        if repository.location == RepositoryLocation::FromSecret {
            missing.push("KOPIA_REPOSITORY");
        }
        if repository.location == RepositoryLocation::FromSecret
            && self.context.first_look(secret, "KOPIA_REPOSITORY")
        {
            self.check_secret_url(secret, &repository.secret_name, at);
        }
        for key in missing {
            if !keys.contains(&key) {
                let d = at.error(
                    format!(
                        "the Secret `{namespace}/{}` of repository `{}` has no `{key}`",
                        repository.secret_name, repository.name
                    ),
                    format!("add `{key}` to the Secret's data"),
                );
                self.report(d);
            }
        }
    }

    /// The repository URL a Secret of the input holds (`KOPIA_REPOSITORY`,
    /// VolSync's way) may not hold a credential either: the mover would put
    /// it on Kopia's command line.
    fn check_secret_url(&mut self, secret: &ContextObject, secret_name: &str, at: &At<'_>) {
        let key = "KOPIA_REPOSITORY";
        let (field, url) = match secret.value.get("stringData").and_then(|d| d.get(key)) {
            Some(value) => ("stringData", value.as_str().map(str::to_owned)),
            None => {
                let Some(value) = secret.value.get("data").and_then(|d| d.get(key)) else {
                    return;
                };
                let bytes = serde_json::from_value::<k8s_openapi::ByteString>(value.clone())
                    .ok()
                    .map(|b| b.0);
                ("data", bytes.and_then(|b| String::from_utf8(b).ok()))
            }
        };
        let Some((problem, keys)) = url.as_deref().and_then(checks::url_credential) else {
            return;
        };
        let place = at.in_document(
            secret.doc,
            vec![PathSegment::Key(field.into()), PathSegment::Key(key.into())],
        );
        let d = place.error(
            format!("`{key}` of Secret `{secret_name}`: {problem}"),
            format!(
                "put the credential into its own keys of the Secret ({keys}), and remove it from the URL"
            ),
        );
        self.report(d);
    }

    fn run(&mut self, spec: &Timing<'_>, at: &At<'_>, namespace: &str) -> Run {
        let defaults = &self.input.spec.defaults;
        let paused = spec.paused.unwrap_or(false);
        // Backups keep the seed they always had, so their times never move.
        let seed = match spec.component {
            "backup" => format!("{}/{namespace}/{}", self.input.metadata.name, spec.name),
            other => format!(
                "{}/{namespace}/{other}/{}",
                self.input.metadata.name, spec.name
            ),
        };
        let (written, at_schedule) = match spec.trigger {
            Some(trigger) => {
                let at_t = at.key("trigger");
                if spec.schedule.is_some() {
                    let d = at.key("schedule").error(
                        "`schedule` and `trigger` exclude each other",
                        "move the schedule into `trigger.schedule`, or remove one",
                    );
                    self.report(d);
                }
                let set = [
                    trigger.manual.is_some(),
                    trigger.schedule.is_some(),
                    trigger.on_demand.is_some(),
                ];
                if set.iter().filter(|s| **s).count() != 1 {
                    let d = at_t.error(
                        "a trigger has exactly one of `manual`, `schedule` and `onDemand`",
                        "keep one of them",
                    );
                    self.report(d);
                    return Run::OnDemand;
                }
                if let Some(token) = &trigger.manual {
                    if token.is_empty() || token.len() > 253 {
                        let d = at_t.key("manual").error(
                            "the manual token must be 1 to 253 characters",
                            "use a date or a counter, such as \"2026-11-26\"",
                        );
                        self.report(d);
                    }
                    return Run::Manual {
                        token: token.clone(),
                    };
                }
                if trigger.on_demand == Some(false) {
                    let d = at_t.key("onDemand").error(
                        "`onDemand: false` asks for nothing",
                        "remove the trigger to use the schedule",
                    );
                    self.report(d);
                }
                if trigger.on_demand.is_some() {
                    return Run::OnDemand;
                }
                (
                    trigger.schedule.clone().unwrap_or_default(),
                    at_t.key("schedule"),
                )
            }
            None => match (spec.schedule, spec.default_schedule, &defaults.schedule) {
                (Some(s), _, _) => (s.clone(), at.key("schedule")),
                (None, Some(s), _) => (s.to_owned(), at.clone()),
                (None, None, Some(s)) => (
                    s.clone(),
                    self.root.key("spec").key("defaults").key("schedule"),
                ),
                (None, None, None) => (DEFAULT_SCHEDULE.to_owned(), at.clone()),
            },
        };
        let cron = match schedule::resolve(&written, &seed) {
            Ok(cron) => cron,
            Err(e) => {
                let d = at_schedule.error(e.message, e.help);
                self.report(d);
                String::new()
            }
        };
        let time_zone = spec
            .time_zone
            .cloned()
            .or_else(|| defaults.time_zone.clone());
        if let Some(tz) = &time_zone
            && let Err(e) = schedule::check_time_zone(tz)
        {
            let at_tz = if spec.time_zone.is_some() {
                at.key("timeZone")
            } else {
                self.root.key("spec").key("defaults").key("timeZone")
            };
            let d = at_tz.error(e.message, e.help);
            self.report(d);
        }
        Run::Scheduled(Schedule {
            written,
            cron,
            time_zone,
            suspended: paused,
        })
    }

    fn copy(&mut self, spec: &BackupSpec, at: &At<'_>, namespace: &str) -> Copy {
        let defaults = &self.input.spec.defaults;
        let method = spec
            .copy_method
            .or(defaults.copy_method)
            .unwrap_or(CopyMethod::Clone);
        if spec.workload_selector.is_some() && method != CopyMethod::Direct {
            let d = at.key("workloadSelector").error(
                "`workloadSelector` places a `Direct` copy next to its workload; this backup is not `Direct`",
                "set `copyMethod: Direct`, or remove `workloadSelector`",
            );
            self.report(d);
        }
        match method {
            CopyMethod::Direct => {
                let selector = spec.workload_selector.clone().unwrap_or_default();
                self.check_labels(&selector, &at.key("workloadSelector"));
                Copy::Direct {
                    workload_selector: selector,
                }
            }
            CopyMethod::Clone | CopyMethod::Snapshot => {
                let source = self
                    .context
                    .get("PersistentVolumeClaim", namespace, &spec.pvc);
                let source_size = source
                    .and_then(|pvc| pvc.value.pointer("/spec/resources/requests/storage"))
                    .and_then(|v| v.as_str().map(str::to_owned));
                let source_class = source
                    .and_then(|pvc| pvc.value.pointer("/spec/storageClassName"))
                    .and_then(|v| v.as_str().map(str::to_owned));
                let what = match method {
                    CopyMethod::Snapshot => "the volume restored from the snapshot of",
                    _ => "the clone of",
                };
                let capacity = match spec.capacity.clone().or(source_size) {
                    Some(capacity) => {
                        if let Err(e) = checks::quantity_bytes(&capacity) {
                            let d = at.key("capacity").error(
                                format!("the capacity `{capacity}` {e}"),
                                "write a size such as `10Gi`",
                            );
                            self.report(d);
                        }
                        capacity
                    }
                    None => {
                        let d = at.error(
                            format!("the size of {what} PVC `{}` is unknown", spec.pvc),
                            "set `capacity` to the PVC's size (for example `capacity: 10Gi`), or add the PVC to the input",
                        );
                        self.report(d);
                        String::new()
                    }
                };
                let storage_class_name = spec.storage_class_name.clone().or(source_class);
                if method == CopyMethod::Snapshot {
                    Copy::Snapshot {
                        capacity,
                        storage_class_name,
                        volume_snapshot_class_name: spec
                            .volume_snapshot_class_name
                            .clone()
                            .or_else(|| defaults.volume_snapshot_class_name.clone()),
                    }
                } else {
                    Copy::Clone {
                        capacity,
                        storage_class_name,
                    }
                }
            }
        }
    }

    /// Extra arguments for `kopia <command>`: checked against that command's
    /// grammar, at most 20.
    fn additional_args(
        &mut self,
        command: &str,
        written: Option<&Vec<String>>,
        at: &At<'_>,
        too_many_help: &str,
    ) -> Vec<String> {
        let additional_args = written.cloned().unwrap_or_default();
        for problem in crate::kopia::args::check(command, &additional_args) {
            let d = at
                .key("additionalArgs")
                .index(problem.index)
                .error(problem.message, problem.help);
            self.report(d);
        }
        if additional_args.len() > 20 {
            let d = at.key("additionalArgs").error(
                format!(
                    "{} additional arguments; at most 20 are allowed",
                    additional_args.len()
                ),
                too_many_help,
            );
            self.report(d);
        }
        additional_args
    }

    /// Names the PVC of a persistent cache after its entry.
    fn name_persistent_cache(&self, cache: Cache, parts: &[&str]) -> Cache {
        match cache {
            Cache {
                persistent: Some(p),
                ..
            } if p.claim_name.is_empty() => Cache {
                persistent: Some(PersistentCache {
                    claim_name: object_name(parts, NAME_LIMIT),
                    ..p
                }),
                ..cache
            },
            other => other,
        }
    }

    fn mover(&mut self, spec: Option<&MoverSpec>, at: &At<'_>) -> Mover {
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
            let d = at_mover.key("serviceAccountName").error(
                format!("the ServiceAccount name `{name}` {e}"),
                "use the name of an existing ServiceAccount",
            );
            self.report(d);
        }
        if let Some(context) = &mover.security_context
            && !mover.privileged
            && (context.run_as_user == Some(0) || context.run_as_non_root == Some(false))
        {
            let d = at_security.error(
                "running the mover as root needs `privileged: true`",
                "set `privileged: true` to opt in, or run as a non-root user",
            );
            self.report(d);
        }
        if let Some(context) = &mover.security_context {
            for (field, problem) in checks::outside_restricted_profile(context) {
                let at_field = at_security.key(field);
                let d = if mover.privileged {
                    Diagnostic::warning(format!(
                        "{problem}: outside the restricted Pod Security Standard"
                    ))
                    .at(Some(at_field.value_span()))
                    .field(at_field.field_path())
                    .help("the mover is `privileged: true`, so this is allowed; remove it unless it is needed")
                } else {
                    at_field.error(
                        format!("{problem}, which the restricted Pod Security Standard does not allow"),
                        "remove it, or set `privileged: true` to opt out of the restricted profile on purpose",
                    )
                };
                self.report(d);
            }
        }
        mover
    }

    fn jobs(&mut self, spec: Option<&JobSettings>, at: &At<'_>) -> Jobs {
        let defaults = self.input.spec.defaults.jobs.clone().unwrap_or_default();
        let own = spec.cloned().unwrap_or_default();
        let jobs = Jobs {
            starting_deadline_seconds: own
                .starting_deadline_seconds
                .or(defaults.starting_deadline_seconds)
                .unwrap_or(3600),
            active_deadline_seconds: own
                .active_deadline_seconds
                .or(defaults.active_deadline_seconds)
                .unwrap_or(86400),
            backoff_limit: own.backoff_limit.or(defaults.backoff_limit).unwrap_or(2),
            ttl_seconds_after_finished: own
                .ttl_seconds_after_finished
                .or(defaults.ttl_seconds_after_finished)
                .unwrap_or(604_800),
            manual_ttl_seconds_after_finished: own
                .ttl_seconds_after_finished
                .or(defaults.ttl_seconds_after_finished),
            successful_jobs_history_limit: own
                .successful_jobs_history_limit
                .or(defaults.successful_jobs_history_limit)
                .unwrap_or(3),
            failed_jobs_history_limit: own
                .failed_jobs_history_limit
                .or(defaults.failed_jobs_history_limit)
                .unwrap_or(3),
        };
        let at_jobs = if spec.is_some() {
            at.key("jobs")
        } else {
            self.root.key("spec").key("defaults").key("jobs")
        };
        let checks: [(&str, i64, i64); 6] = [
            (
                "startingDeadlineSeconds",
                jobs.starting_deadline_seconds,
                10,
            ),
            ("activeDeadlineSeconds", jobs.active_deadline_seconds, 60),
            ("backoffLimit", jobs.backoff_limit.into(), 0),
            (
                "ttlSecondsAfterFinished",
                jobs.ttl_seconds_after_finished.into(),
                0,
            ),
            (
                "successfulJobsHistoryLimit",
                jobs.successful_jobs_history_limit.into(),
                0,
            ),
            (
                "failedJobsHistoryLimit",
                jobs.failed_jobs_history_limit.into(),
                0,
            ),
        ];
        for (field, value, minimum) in checks {
            if value < minimum {
                let d = at_jobs.key(field).error(
                    format!("`{field}` is {value}; the minimum is {minimum}"),
                    format!("use {minimum} or more"),
                );
                self.report(d);
            }
        }
        jobs
    }

    /// Kopia's policy `actions` run commands in the mover, and Kopia runs
    /// them only when the repository was connected with `--enable-actions`:
    /// the repository settings' `enableActions: true`. Written while actions
    /// are disabled they would do nothing, or run behind the plan's back if
    /// something enabled them: refused. (Kopia gives every action a timeout,
    /// 3 minutes unless the policy says otherwise.)
    fn check_policy_actions(
        &mut self,
        spec: &BackupSpec,
        policy_files: Option<&model::PolicyFiles>,
        at: &At<'_>,
        at_defaults: &At<'_>,
    ) {
        let enabled = match policy_files {
            Some(files) => match files.settings.enable_actions {
                Some(enabled) => enabled,
                // A repository settings file may enable them at run time.
                None => files.source.is_some(),
            },
            None => false,
        };
        if enabled {
            return;
        }
        let defaults = &self.input.spec.defaults;
        for (policy, at_policy) in [
            (&defaults.policy, at_defaults.key("policy")),
            (&spec.policy, at.key("policy")),
        ] {
            let written = policy
                .as_ref()
                .and_then(|p| p.get("actions"))
                .is_some_and(|a| a.as_object().is_none_or(|o| !o.is_empty()));
            if written {
                let d = at_policy.key("actions").key_error(
                    format!(
                        "`policy.actions` runs commands, but actions are not enabled for `{}`",
                        spec.name
                    ),
                    "use the entry's `actions` (beforeSnapshot, afterSnapshot; run with \
                     `timeoutSeconds`), or enable Kopia's actions on purpose with \
                     `policyConfig.repositoryConfig: '{\"enableActions\": true}'`",
                );
                self.report(d);
            }
        }
    }

    fn actions(&mut self, spec: &BackupSpec, at: &At<'_>) -> Actions {
        let Some(actions) = &spec.actions else {
            return Actions {
                timeout_seconds: 300,
                ..Actions::default()
            };
        };
        let timeout_seconds = actions.timeout_seconds.unwrap_or(300);
        if timeout_seconds == 0 {
            let d = at.key("actions").key("timeoutSeconds").error(
                "an action needs a timeout of at least 1 second",
                "use 1 or more (default 300)",
            );
            self.report(d);
        }
        Actions {
            before_snapshot: actions
                .before_snapshot
                .clone()
                .filter(|s| !s.trim().is_empty()),
            after_snapshot: actions
                .after_snapshot
                .clone()
                .filter(|s| !s.trim().is_empty()),
            timeout_seconds,
        }
    }
}

/// The name of a plan's scripts ConfigMap before its content digest.
fn scripts_prefix(plan: &str) -> String {
    object_name(&[plan, "scripts"], NAME_LIMIT - 11)
}

/// Rules across all entries of all plans: no two sources write the same
/// Kopia snapshot source to one repository, and no two generated objects
/// share a name.
fn check_collisions(model: &Model, diagnostics: &mut Diagnostics) {
    let origin_of = |backup: &Backup| {
        format!(
            "{} (backup `{}` at {})",
            backup.identity, backup.name, backup.origin
        )
    };
    let mut sources: BTreeMap<(String, &RepositoryLocation, &Identity), &Backup> = BTreeMap::new();
    let mut objects: BTreeMap<(&str, &str, &str), &Backup> = BTreeMap::new();
    for backup in &model.backups {
        // The same Secret name in the same namespace, or the same URL or
        // claim, is the same repository.
        let repo_key = match &backup.repository.location {
            RepositoryLocation::FromSecret => {
                format!("{}/{}", backup.namespace, backup.repository.secret_name)
            }
            RepositoryLocation::Claim { .. } => backup.namespace.clone(),
            RepositoryLocation::Url(_) => String::new(),
        };
        let key = (repo_key, &backup.repository.location, &backup.identity);
        if let Some(first) = sources.insert(key, backup) {
            diagnostics.push(
                Diagnostic::error(format!(
                    "two backups would write the same Kopia source {} to repository `{}`",
                    backup.identity, backup.repository.name
                ))
                .help(format!(
                    "{} and {}; give one of them another name, `username`/`hostname` or `sourcePathOverride`",
                    origin_of(first),
                    origin_of(backup)
                ))
                .at(Some(backup.span)),
            );
        }
        let mut names = vec![
            ("ServiceAccount", backup.names.service_account.as_str()),
            ("ConfigMap", backup.names.policy_config_map.as_str()),
        ];
        match backup.run {
            Run::Manual { .. } => names.extend(backup.names.job.as_deref().map(|job| ("Job", job))),
            _ => names.push(("CronJob", backup.names.cron_job.as_str())),
        }
        if let Some(p) = backup.cache.persistent.as_ref().filter(|p| !p.existing) {
            names.push(("PersistentVolumeClaim", p.claim_name.as_str()));
        }
        for (kind, name) in names {
            if let Some(first) = objects.insert((kind, backup.namespace.as_str(), name), backup)
                && !std::ptr::eq(first, backup)
            {
                diagnostics.push(
                        Diagnostic::error(format!(
                            "the {kind} `{}/{name}` would be generated twice",
                            backup.namespace
                        ))
                        .help(format!(
                            "backups `{}` ({}) and `{}` ({}) lead to the same name; rename one of them or its plan",
                            first.name, first.origin, backup.name, backup.origin
                        ))
                        .at(Some(backup.span)),
                    );
            }
        }
    }
}
