//! Repositories: their location, CA and Secret, and which one an entry uses.

use std::collections::BTreeMap;

use super::defaults;
use super::error::ResolveError;
use super::{At, PlanResolver, checks};
use crate::diagnostics::nearest;
use crate::kopia::backend::{volsync_backend, volsync_ignored_path};
use crate::load::PathSegment;
use crate::model::{CaSource, CustomCa, Repository, RepositoryLocation};
use crate::parse::ContextObject;
use crate::plan::{CreatePolicy, RepositoryLayout, RepositorySpec};

/// How to leave VolSync's layout, for the warnings that a path is ignored.
const LAYOUT_HELP: &str = "to use the path as a prefix instead, convert to a BackupPlan \
     (`kopiaplan convert`) and set the repository's `layout: Url`; to silence this, remove the path";

impl PlanResolver<'_, '_> {
    pub(super) fn repositories(&mut self) -> BTreeMap<String, Repository> {
        let mut resolved = BTreeMap::new();
        let at_list = self.root.key("spec").key("repositories");
        for (index, spec) in self.input.spec.repositories.iter().enumerate() {
            let at = at_list.index(index);
            if resolved.contains_key(&spec.name) {
                let problem = ResolveError::DuplicateRepository {
                    name: spec.name.clone(),
                };
                let d = at
                    .key("name")
                    .error(&problem, "give each repository its own name");
                self.report(d);
                continue;
            }
            if let Some(repository) = self.repository(spec, &at) {
                resolved.insert(spec.name.clone(), repository);
            }
        }
        resolved
    }

    pub(super) fn repository(&mut self, spec: &RepositorySpec, at: &At<'_>) -> Option<Repository> {
        let errors_before = self.diagnostics.error_count();
        if let Err(e) = checks::dns_label(&spec.name) {
            let d = at.key("name").invalid_name(
                "repository name",
                &spec.name,
                e,
                "use a DNS-1123 label",
            );
            self.report(d);
        }
        if let Err(e) = checks::dns_subdomain(&spec.secret_name) {
            let d = at.key("secretName").invalid_name(
                "Secret name",
                &spec.secret_name,
                e,
                "use the name of an existing Secret",
            );
            self.report(d);
        }
        let location = match (&spec.url, &spec.filesystem) {
            (Some(_), Some(_)) => {
                let d = at
                    .key("filesystem")
                    .error(&ResolveError::UrlAndFilesystem, "remove one of them");
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
                            &ResolveError::UnknownRepositoryUrl { url: url.clone() },
                            help,
                        );
                        self.report(d);
                    }
                }
                if let Some((problem, keys)) = checks::url_credential(url) {
                    let d = at.key("url").error(
                        &ResolveError::CredentialInUrl {
                            problem: problem.to_owned(),
                        },
                        format!(
                            "move the credential into the repository Secret `{}` as {keys}, and remove it from the URL",
                            spec.secret_name
                        ),
                    );
                    self.report(d);
                }
                match spec.layout {
                    // VolSync's layout keeps GCS, B2 and Azure at the root.
                    Some(RepositoryLayout::VolSync) if checks::url_credential(url).is_none() => {
                        match volsync_ignored_path(url) {
                            Some((bucket, path)) => {
                                let problem = ResolveError::UrlPathIgnored {
                                    place: "the URL".to_owned(),
                                    bucket: bucket.clone(),
                                    path,
                                };
                                let d = at.key("url").error(&problem, LAYOUT_HELP);
                                self.report(d);
                                let scheme = url.split(':').next().unwrap_or_default();
                                RepositoryLocation::Url(format!("{scheme}://{bucket}"))
                            }
                            None => RepositoryLocation::Url(url.clone()),
                        }
                    }
                    _ => RepositoryLocation::Url(url.clone()),
                }
            }
            (None, Some(fs)) => {
                if let Err(e) = checks::dns_subdomain(&fs.claim_name) {
                    let d = at.key("filesystem").key("claimName").invalid_name(
                        "claim name",
                        &fs.claim_name,
                        e,
                        "use the name of an existing PVC",
                    );
                    self.report(d);
                }
                let path = fs
                    .path
                    .clone()
                    .unwrap_or_else(|| defaults::FILESYSTEM_REPOSITORY_PATH.into());
                if let Err(e) = checks::absolute_path(&path) {
                    let d = at.key("filesystem").key("path").error(
                        &ResolveError::InvalidPath {
                            what: "path".to_owned(),
                            value: path.to_string(),
                            problem: e.to_string(),
                        },
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
            let key = ca.key.clone().unwrap_or_else(|| defaults::CA_KEY.into());
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
                        &ResolveError::CustomCaSource,
                        "name the ConfigMap or the Secret that holds the CA bundle",
                    );
                    self.diagnostics.push(d);
                    None
                }
            }
        });
        if spec.credentials.is_some() {
            let d = at.key("credentials").error(
                &ResolveError::CredentialsNotSupported,
                "create the Secret named by `secretName` yourself, for now",
            );
            self.report(d);
        }
        let options = self.repository_options(spec.creation.as_ref(), spec.throttle.as_ref(), at);
        if self.diagnostics.error_count() > errors_before {
            return None;
        }
        Some(Repository {
            name: spec.name.clone(),
            secret_name: spec.secret_name.clone(),
            location,
            custom_ca,
            create: spec.create.unwrap_or(CreatePolicy::IfMissing),
            layout: spec.layout.unwrap_or_default(),
            options,
        })
    }

    /// The repository an entry names, else the default one, else the only one.
    pub(super) fn repository_for(
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
                        let problem = ResolveError::UnknownRepository {
                            name: repository.clone(),
                        };
                        let d = at_repo.error(&problem, help);
                        self.report(d);
                    }
                    None
                }
            },
            None if repositories.len() == 1 => repositories.values().next().cloned(),
            None => {
                let problem = ResolveError::NoRepository {
                    kind: kind.to_owned(),
                    name: name.to_owned(),
                };
                let d = at.error(
                    &problem,
                    format!("set `repository` on the {kind} or `spec.defaults.repository`"),
                );
                self.report(d);
                None
            }
        }
    }

    /// When the repository's Secret is part of the input, it must hold
    /// the password (and a URL, when the plan gives none).
    pub(super) fn check_repository_secret(
        &mut self,
        repository: &Repository,
        namespace: &str,
        at: &At<'_>,
    ) {
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
            if repository.layout == RepositoryLayout::VolSync {
                self.check_volsync_layout(secret, &repository.secret_name, at);
            }
        }
        for key in missing {
            if !keys.contains(&key) {
                let problem = ResolveError::SecretMissingKey {
                    namespace: namespace.to_owned(),
                    secret: repository.secret_name.clone(),
                    repository: repository.name.clone(),
                    key: key.to_owned(),
                };
                let d = at.error(&problem, format!("add `{key}` to the Secret's data"));
                self.report(d);
            }
        }
    }

    /// VolSync's layout with a Secret of the input whose `KOPIA_REPOSITORY`
    /// has a path VolSync ignored (GCS, B2, Azure): the mover connects at
    /// the root, and says so; so does the compile.
    fn check_volsync_layout(&mut self, secret: &ContextObject, secret_name: &str, at: &At<'_>) {
        let key = "KOPIA_REPOSITORY";
        let Some(file) = secret.file(key) else {
            return;
        };
        // A URL holding a credential is an error of its own, and no part
        // of it is repeated in another message.
        let Some(url) = file
            .text
            .as_deref()
            .filter(|url| checks::url_credential(url).is_none())
        else {
            return;
        };
        let keys = secret.data_keys();
        let chosen = volsync_backend(url, |k| keys.contains(&k));
        let Some((url_bucket, path)) = volsync_ignored_path(url) else {
            return;
        };
        if chosen.is_some_and(|c| !url.starts_with(&format!("{c}:"))) {
            // Another backend's key wins; the URL is not used at all.
            return;
        }
        let bucket_key = match url.split(':').next() {
            Some("gcs") => "KOPIA_GCS_BUCKET",
            Some("b2") => "KOPIA_B2_BUCKET",
            _ => "KOPIA_AZURE_CONTAINER",
        };
        let bucket = secret
            .file(bucket_key)
            .and_then(|f| f.text.clone())
            .filter(|b| !b.is_empty())
            .unwrap_or(url_bucket);
        let place = at.in_document(
            secret.doc,
            vec![
                PathSegment::Key(file.field.into()),
                PathSegment::Key(key.into()),
            ],
        );
        let problem = ResolveError::UrlPathIgnored {
            place: format!("`{key}` of Secret `{secret_name}`"),
            bucket,
            path,
        };
        let d = place.error(&problem, LAYOUT_HELP);
        self.report(d);
    }

    /// The repository URL a Secret of the input holds (`KOPIA_REPOSITORY`,
    /// VolSync's way) may not hold a credential either: the mover would put
    /// it on Kopia's command line.
    pub(super) fn check_secret_url(
        &mut self,
        secret: &ContextObject,
        secret_name: &str,
        at: &At<'_>,
    ) {
        let key = "KOPIA_REPOSITORY";
        let Some(file) = secret.file(key) else {
            return;
        };
        let (field, url) = (file.field, file.text.as_deref());
        let Some((problem, keys)) = url.and_then(checks::url_credential) else {
            return;
        };
        let place = at.in_document(
            secret.doc,
            vec![PathSegment::Key(field.into()), PathSegment::Key(key.into())],
        );
        let d = place.error(
            &ResolveError::CredentialInSecretUrl {
                key: key.to_owned(),
                secret: secret_name.to_owned(),
                problem: problem.to_owned(),
            },
            format!(
                "put the credential into its own keys of the Secret ({keys}), and remove it from the URL"
            ),
        );
        self.report(d);
    }
}
