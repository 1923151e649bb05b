//! VolSync-style `policyConfig`: a ConfigMap or Secret holding a global
//! Kopia policy and repository settings, and repository settings written
//! inline. The inline settings are always checked; the files when their
//! object is part of the input: JSON, at most 1 MiB, every key known.

use serde_json::Value;

use super::error::ResolveError;
use super::{At, PlanResolver, checks};
use crate::diagnostics::{Diagnostic, Span, nearest};
use crate::load::{PathSegment, display_path};
use crate::model::{PolicyFiles, PolicyFilesSource, RepositorySettings};
use crate::parse::ContextObject;
use crate::plan::PolicyConfig;

use super::defaults::{DEFAULT_GLOBAL_POLICY_FILENAME, DEFAULT_REPOSITORY_CONFIG_FILENAME};
/// VolSync's limit for a policy file or the inline JSON.
pub const MAX_JSON_BYTES: usize = 1024 * 1024;

/// The keys of VolSync's repository config that mean something: the rest
/// of what its docs show (storage, policies, caching) has its own place in
/// a plan, so it is refused rather than silently dropped.
const REPOSITORY_SETTINGS: [&str; 3] = ["enableActions", "uploadSpeed", "downloadSpeed"];

/// Who uses the policy files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Usage {
    Backup,
    /// A restore reads only the repository settings: importing a global
    /// policy would change the repository's policy for every source.
    Restore,
}

/// A JSON text inside the input, for pointing at a line of it.
struct Embedded<'a> {
    /// The YAML string node that holds the text.
    at: At<'a>,
    /// The text as the YAML node holds it, when positions in it are
    /// positions in the file (not for base64 data).
    visible: bool,
    /// What the text is, for messages.
    what: String,
}

impl Embedded<'_> {
    /// The span of a position in the text (1-based line and column): exact
    /// for block scalars (each text line is a source line at the block's
    /// indentation) and for single-line plain or quoted scalars without
    /// escapes; else the whole value.
    fn span(&self, text: &str, line: usize, column: usize, len: usize) -> Span {
        let node = self.at.value_span();
        if !self.visible || line == 0 || column == 0 {
            return node;
        }
        let to_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let len = to_u32(len.max(1));
        if text.trim_end_matches('\n').contains('\n') {
            return Span {
                line: node.line + to_u32(line - 1),
                column: node.column + to_u32(column - 1),
                len,
                ..node
            };
        }
        let chars = to_u32(text.chars().count());
        let offset = if node.len == chars {
            0
        } else if node.len == chars + 2 {
            1
        } else {
            return node;
        };
        Span {
            column: node.column + offset + to_u32(column - 1),
            len,
            ..node
        }
    }

    /// The span of a field of the JSON text (its key, or its value), found
    /// by reading the text as YAML (JSON is YAML) with positions.
    fn field_span(&self, text: &str, path: &[PathSegment], key: bool) -> Span {
        let mut sources = crate::diagnostics::SourceMap::default();
        sources.add(String::new(), text.to_owned());
        let (documents, _) = crate::load::parse(&sources);
        let Some(document) = documents.first() else {
            return self.at.value_span();
        };
        let span = if key {
            document.span_of(path)
        } else {
            crate::load::span_of_node(document.file, document.root.locate(path).node)
        };
        self.span(
            text,
            span.line as usize,
            span.column as usize,
            span.len as usize,
        )
    }

    fn field(&self, path: &[PathSegment]) -> String {
        if path.is_empty() {
            self.at.field_path()
        } else {
            format!("{} → {}", self.at.field_path(), display_path(path))
        }
    }
}

/// The keys of the global policy and of the repository settings.
fn filenames(spec: &PolicyConfig) -> (String, String) {
    (
        spec.global_policy_filename
            .clone()
            .unwrap_or_else(|| DEFAULT_GLOBAL_POLICY_FILENAME.into()),
        spec.repository_config_filename
            .clone()
            .unwrap_or_else(|| DEFAULT_REPOSITORY_CONFIG_FILENAME.into()),
    )
}

/// `retention.keepDaily` / `files.ignore[0]` as path segments.
fn segments(path: &str) -> Vec<PathSegment> {
    let mut segments = Vec::new();
    for part in path.split('.') {
        match part.split_once('[') {
            Some((key, index)) => {
                segments.push(PathSegment::Key(key.to_owned()));
                if let Ok(index) = index.trim_end_matches(']').parse() {
                    segments.push(PathSegment::Index(index));
                }
            }
            None => segments.push(PathSegment::Key(part.to_owned())),
        }
    }
    segments
}

impl<'a> PlanResolver<'a, '_> {
    /// An entry's `policyConfig`, checked.
    pub(super) fn policy_files(
        &mut self,
        spec: Option<&PolicyConfig>,
        at: &At<'_>,
        namespace: &str,
        usage: Usage,
    ) -> Option<PolicyFiles> {
        let spec = spec?;
        let at = at.key("policyConfig");
        let source = match (&spec.config_map_name, &spec.secret_name) {
            (Some(_), Some(_)) => {
                let d = at.key("secretName").error(
                    &ResolveError::ConfigMapAndSecret,
                    "keep one of them: the policy files live in a ConfigMap or in a Secret",
                );
                self.report(d);
                None
            }
            (Some(name), None) => {
                Some((PolicyFilesSource::ConfigMap(name.clone()), "configMapName"))
            }
            (None, Some(name)) => Some((PolicyFilesSource::Secret(name.clone()), "secretName")),
            (None, None) => None,
        };
        if let Some((PolicyFilesSource::ConfigMap(name) | PolicyFilesSource::Secret(name), field)) =
            &source
            && let Err(e) = checks::dns_subdomain(name)
        {
            let d =
                at.key(field)
                    .invalid_name("name", name, e, "use the name of an existing object");
            self.report(d);
        }
        let named = spec.config_map_name.is_some() || spec.secret_name.is_some();
        let (global, repository_config) = filenames(spec);
        for (field, written) in [
            ("globalPolicyFilename", &spec.global_policy_filename),
            ("repositoryConfigFilename", &spec.repository_config_filename),
        ] {
            let Some(written) = written else { continue };
            if let Err(e) = checks::config_map_key(written) {
                let d = at.key(field).error(
                    &ResolveError::InvalidObjectKey {
                        key: written.clone(),
                        problem: e.to_string(),
                    },
                    "name the key that holds the file, such as `global-policy.json`",
                );
                self.report(d);
            }
            if !named {
                let d = at.key(field).error(
                    &ResolveError::PolicyFileWithoutObject {
                        field: field.to_owned(),
                    },
                    "add `configMapName` or `secretName`",
                );
                self.report(d);
            }
        }
        if usage == Usage::Restore && spec.global_policy_filename.is_some() {
            let d = at.key("globalPolicyFilename").error(
                &ResolveError::RestoreIgnoresGlobalPolicy,
                "remove `globalPolicyFilename`: backups import the global policy; a restore \
                     only reads the repository settings, so restoring never changes the \
                     repository's policy for every other source",
            );
            self.report(d);
        }
        if !named && spec.repository_config.is_none() {
            let d = at.error(
                &ResolveError::EmptyPolicyConfig,
                "add `configMapName`, `secretName` or `repositoryConfig`, or remove `policyConfig`",
            );
            self.report(d);
        }
        let settings = match &spec.repository_config {
            Some(text) => {
                let place = Embedded {
                    at: at.key("repositoryConfig"),
                    visible: true,
                    what: "the inline `repositoryConfig`".into(),
                };
                self.parse_json(text, &place)
                    .map(|value| self.repository_settings(&value, text, &place))
                    .unwrap_or_default()
            }
            None => RepositorySettings::default(),
        };
        let source = source.map(|(source, _)| source);
        let translated_global_policy = source
            .as_ref()
            .and_then(|source| self.check_policy_object(source, namespace, &at, spec, usage));
        Some(PolicyFiles {
            source,
            global_policy_filename: global,
            repository_config_filename: repository_config,
            settings,
            translated_global_policy,
        })
    }

    /// When the ConfigMap or Secret is part of the input (or of the
    /// cluster context): the files it holds, and the keys `policyConfig`
    /// names explicitly. Returns the global policy translated from
    /// VolSync's format, when it was written in it. An object that is not
    /// there is a warning: nothing can be checked before the mover runs.
    fn check_policy_object(
        &mut self,
        source: &PolicyFilesSource,
        namespace: &str,
        at: &At<'_>,
        spec: &PolicyConfig,
        usage: Usage,
    ) -> Option<String> {
        let (global, repository_config) = filenames(spec);
        let (kind, name, field) = match source {
            PolicyFilesSource::ConfigMap(name) => ("ConfigMap", name, "configMapName"),
            PolicyFilesSource::Secret(name) => ("Secret", name, "secretName"),
        };
        let Some(object) = self.context.get(kind, namespace, name) else {
            let d = at.key(field).error(
                &ResolveError::PolicyObjectNotInInput {
                    kind: kind.to_owned(),
                    namespace: namespace.to_owned(),
                    name: name.to_owned(),
                },
                format!(
                    "add the {kind} to the input, or `kubectl get {} {name} -n {namespace} -o yaml` into a `--context` file",
                    kind.to_lowercase()
                ),
            );
            self.report(d);
            return None;
        };
        let mut translated = None;
        let keys = object.data_keys();
        let mut files = vec![(
            repository_config.as_str(),
            spec.repository_config_filename.is_some(),
            "repositoryConfigFilename",
            false,
        )];
        if usage == Usage::Backup {
            files.insert(
                0,
                (
                    global.as_str(),
                    spec.global_policy_filename.is_some(),
                    "globalPolicyFilename",
                    true,
                ),
            );
        }
        for (key, written, field, is_global) in files {
            let first_look = self.context.first_look(object, key);
            // A Secret of the cluster context gives its key names only.
            if object.cluster && kind == "Secret" && keys.contains(&key) {
                continue;
            }
            let Some((text, embedded)) = self.object_file(object, key) else {
                if written {
                    let help = match nearest(key, keys.iter().copied()) {
                        Some(k) => format!("did you mean `{k}`?"),
                        None if keys.is_empty() => format!("add `{key}` to the {kind}"),
                        None => format!("its keys: {}", keys.join(", ")),
                    };
                    let problem = ResolveError::ObjectMissingKey {
                        kind: kind.to_owned(),
                        namespace: namespace.to_owned(),
                        name: name.to_owned(),
                        key: key.to_owned(),
                    };
                    let d = at.key(field).error(&problem, help);
                    self.report(d);
                }
                continue;
            };
            // A file several entries use is reported once (and
            // translated for each).
            if !first_look {
                if is_global
                    && let Some(text) = &text
                    && let Ok(value) = serde_json::from_str::<Value>(text)
                {
                    translated = translated_policy(&value);
                }
                continue;
            }
            let Some(text) = text else {
                let d = embedded.at.error(
                    &ResolveError::PolicyJsonNotUtf8 {
                        place: embedded.what.clone(),
                    },
                    "store the JSON file as text",
                );
                self.report(d);
                continue;
            };
            let Some(value) = self.parse_json(&text, &embedded) else {
                continue;
            };
            if is_global {
                translated = self.check_global_policy(&value, &text, &embedded);
            } else {
                self.repository_settings(&value, &text, &embedded);
            }
        }
        translated
    }

    /// The text of a key of a ConfigMap or Secret in the input, with its
    /// place; `None` when the object has no such key, `Some((None, _))`
    /// when the bytes are not UTF-8.
    fn object_file(
        &self,
        object: &ContextObject,
        key: &str,
    ) -> Option<(Option<String>, Embedded<'a>)> {
        let what = format!(
            "`{key}` of {} `{}/{}`",
            object.kind(),
            object.namespace.as_deref().unwrap_or(""),
            object.name
        );
        let place = |field: &str, visible: bool| Embedded {
            at: self.root.in_document(
                object.doc,
                vec![PathSegment::Key(field.into()), PathSegment::Key(key.into())],
            ),
            visible,
            what: what.clone(),
        };
        // Plain text (ConfigMap `data`, Secret `stringData`) wins over
        // base64 (Secret `data`, ConfigMap `binaryData`).
        let file = object.file(key)?;
        Some((file.text.clone(), place(file.field, file.plain)))
    }

    /// JSON text of at most 1 MiB holding an object.
    fn parse_json(&mut self, text: &str, place: &Embedded<'_>) -> Option<Value> {
        if text.len() > MAX_JSON_BYTES {
            let d = place.at.error(
                &ResolveError::PolicyJsonTooLarge {
                    place: place.what.clone(),
                    bytes: text.len(),
                },
                "keep only the settings that differ from Kopia's defaults",
            );
            self.report(d);
            return None;
        }
        match serde_json::from_str::<Value>(text) {
            Ok(value) if value.is_object() => Some(value),
            Ok(_) => {
                let d = place.at.error(
                    &ResolveError::PolicyJsonNotAnObject {
                        place: place.what.clone(),
                    },
                    "write it as `{ \"key\": value, … }`",
                );
                self.report(d);
                None
            }
            Err(e) => {
                let message = e.to_string();
                let message = message
                    .rsplit_once(" at line ")
                    .map_or(message.as_str(), |(head, _)| head);
                let d = Diagnostic::new(&ResolveError::PolicyJsonInvalid {
                    place: place.what.clone(),
                    reason: message.to_owned(),
                    line: e.line(),
                    column: e.column(),
                })
                .at(Some(place.span(text, e.line(), e.column(), 1)))
                .field(place.field(&[]))
                .help("write JSON: keys and strings in double quotes, no trailing commas, no comments");
                self.report(d);
                None
            }
        }
    }

    /// A global policy: Kopia policy fields, as `kopia policy import` reads
    /// them, or VolSync's format, translated (each key with a warning).
    /// Returns the translated policy when it differs from the file.
    fn check_global_policy(
        &mut self,
        value: &Value,
        text: &str,
        place: &Embedded<'_>,
    ) -> Option<String> {
        let (policy, renamed) = crate::kopia::policy::from_volsync(value);
        for (from, to) in &renamed {
            let path = segments(from);
            let d = Diagnostic::new(&ResolveError::PolicyTranslated {
                place: place.what.clone(),
                from: (*from).to_owned(),
                to: (*to).to_owned(),
            })
            .at(Some(place.field_span(text, &path, true)))
            .field(place.field(&path))
            .help(format!(
                "write `{to}` to say it in Kopia's words (VolSync's mover passed `{from}` to `kopia policy set --global`)"
            ));
            self.report(d);
        }
        for problem in crate::kopia::policy::check(&policy) {
            let path = segments(&problem.path);
            let (message, help) = match crate::kopia::policy::volsync_equivalent(&problem.path) {
                Some(equivalent) if problem.unknown_field => (
                    format!(
                        "`{}` (VolSync's documented format) is not a Kopia policy field",
                        problem.path
                    ),
                    format!("remove it; Kopia's equivalent: {equivalent}"),
                ),
                _ => (problem.message, problem.help),
            };
            let d = Diagnostic::new(&ResolveError::InvalidPolicy {
                place: Some(place.what.clone()),
                message,
            })
            .at(Some(place.field_span(text, &path, problem.unknown_field)))
            .field(place.field(&path))
            .help(help);
            self.report(d);
        }
        translated_policy(value)
    }

    /// Repository settings: `enableActions` (a boolean), `uploadSpeed` and
    /// `downloadSpeed` (bytes per second), nothing else. VolSync's docs nest
    /// them (`performance.downloadSpeed`): such a setting is read, with a
    /// warning; every other key of theirs is an error that names Kopia's
    /// equivalent.
    fn repository_settings(
        &mut self,
        value: &Value,
        text: &str,
        place: &Embedded<'_>,
    ) -> RepositorySettings {
        let mut settings = RepositorySettings::default();
        let Some(object) = value.as_object() else {
            return settings;
        };
        for (key, value) in object {
            let path = vec![PathSegment::Key(key.clone())];
            // A section of VolSync's documented format: one that holds a
            // repository setting or a key it documents.
            let section = value.as_object().filter(|children| {
                !REPOSITORY_SETTINGS.contains(&key.as_str())
                    && children.keys().any(|child| {
                        REPOSITORY_SETTINGS.contains(&child.as_str())
                            || crate::kopia::policy::volsync_equivalent(child).is_some()
                    })
            });
            match section {
                Some(children) => {
                    for (child, value) in children {
                        let mut path = path.clone();
                        path.push(PathSegment::Key(child.clone()));
                        if REPOSITORY_SETTINGS.contains(&child.as_str()) {
                            let d = Diagnostic::new(&ResolveError::PolicyTranslated {
                                place: place.what.clone(),
                                from: format!("{key}.{child}"),
                                to: child.clone(),
                            })
                            .at(Some(place.field_span(text, &path, true)))
                            .field(place.field(&path))
                            .help(format!(
                                "write `{child}` at the top level of the repository settings"
                            ));
                            self.report(d);
                        }
                        self.repository_setting(child, value, &path, text, place, &mut settings);
                    }
                }
                _ => self.repository_setting(key, value, &path, text, place, &mut settings),
            }
        }
        settings
    }

    /// One repository setting, read into `settings` or reported.
    fn repository_setting(
        &mut self,
        key: &str,
        value: &Value,
        path: &[PathSegment],
        text: &str,
        place: &Embedded<'_>,
        settings: &mut RepositorySettings,
    ) {
        let known = REPOSITORY_SETTINGS.contains(&key);
        let problem = match key {
            "enableActions" => match value.as_bool() {
                Some(enabled) => {
                    settings.enable_actions = Some(enabled);
                    None
                }
                None => Some((
                    "expected true or false".to_owned(),
                    "write `true` or `false`".to_owned(),
                )),
            },
            "uploadSpeed" | "downloadSpeed" => match value.as_f64() {
                Some(speed) if speed >= 0.0 && value.is_number() => {
                    let written = Some(value.to_string());
                    if key == "uploadSpeed" {
                        settings.upload_speed = written;
                    } else {
                        settings.download_speed = written;
                    }
                    None
                }
                _ => Some((
                    "expected a number of bytes per second".to_owned(),
                    "write a number such as `10485760` (10 MiB/s)".to_owned(),
                )),
            },
            _ => {
                let shown = display_path(path);
                Some(match crate::kopia::policy::volsync_equivalent(key) {
                    Some(equivalent) => (
                        format!(
                            "`{shown}` (VolSync's documented format) is not a repository setting"
                        ),
                        format!("remove it; Kopia's equivalent: {equivalent}"),
                    ),
                    None => (
                        format!("`{shown}` is not a repository setting kopiaplan applies"),
                        match nearest(key, REPOSITORY_SETTINGS) {
                            Some(name) => format!("did you mean `{name}`?"),
                            None => "only `enableActions`, `uploadSpeed` and `downloadSpeed` \
                                     (bytes per second) are read; the storage comes from the \
                                     repository, policies from `policy` or the global policy \
                                     file, the cache from `cache`"
                                .to_owned(),
                        },
                    ),
                })
            }
        };
        if let Some((message, help)) = problem {
            let d = Diagnostic::new(&ResolveError::InvalidRepositorySetting {
                place: place.what.clone(),
                message,
            })
            .at(Some(place.field_span(text, path, !known)))
            .field(place.field(path))
            .help(help);
            self.report(d);
        }
    }
}

/// The global policy in Kopia's format when it was written in VolSync's.
fn translated_policy(value: &Value) -> Option<String> {
    let (policy, renamed) = crate::kopia::policy::from_volsync(value);
    (!renamed.is_empty()).then(|| serde_json::to_string_pretty(&policy).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::segments;
    use crate::load::PathSegment;

    #[test]
    fn policy_paths_become_segments() {
        assert_eq!(
            segments("files.ignore[2]"),
            vec![
                PathSegment::Key("files".into()),
                PathSegment::Key("ignore".into()),
                PathSegment::Index(2)
            ]
        );
    }
}
