//! The mover settings VolSync's docs put into the repository Secret
//! (`KOPIA_FILE_LOG_LEVEL`, `KOPIA_LOG_DIR_MAX_FILES`, …). The log settings
//! become the plan's `spec.kopia.logging` when the Secret is part of the
//! input (its values are read there); every other one, and every one whose
//! value kopiaplan cannot read (a Secret of the cluster context gives its
//! key names only), is a warning that says what kopiaplan does instead.

use super::*;

/// The Secret's log settings and the `spec.kopia.logging` field each is.
const LOG_SETTINGS: [(&str, &str); 3] = [
    ("KOPIA_FILE_LOG_LEVEL", "fileLevel"),
    ("KOPIA_LOG_DIR_MAX_FILES", "maxFiles"),
    ("KOPIA_LOG_DIR_MAX_AGE", "maxAge"),
];

/// Mover settings of VolSync's docs kopiaplan sets (or leaves) itself, and
/// what it does instead.
const OVERRIDDEN: [(&str, &str); 5] = [
    (
        "KOPIA_LOG_LEVEL",
        "the console log level is Kopia's default; the file log level is `KOPIA_FILE_LOG_LEVEL` (the plan's `spec.kopia.logging.fileLevel`)",
    ),
    (
        "KOPIA_CONTENT_LOG_DIR_MAX_FILES",
        "the content logs are kept like the other logs: `KOPIA_LOG_DIR_MAX_FILES` (the plan's `spec.kopia.logging.maxFiles`)",
    ),
    (
        "KOPIA_CONTENT_LOG_DIR_MAX_AGE",
        "the content logs are kept like the other logs: `KOPIA_LOG_DIR_MAX_AGE` (the plan's `spec.kopia.logging.maxAge`)",
    ),
    (
        "KOPIA_FORCE_CACHE_REBUILD",
        "the cache is rebuilt by deleting its volume (an emptyDir cache is new on every run)",
    ),
    (
        "KOPIA_MANUAL_CONFIG",
        "the repository's format is fixed when it is created: create it with `kopia repository create --encryption/--block-hash/--object-splitter` before the first backup",
    ),
];

impl Lowering<'_> {
    /// Reads the mover settings of the repository Secret `secret` (when it
    /// is in the input or the cluster context) into the namespace's plan.
    pub(super) fn secret_settings(&mut self, doc: DocId, namespace: &str, secret: Option<&str>) {
        let Some(secret) = secret.filter(|s| !s.is_empty()) else {
            return;
        };
        // The input's Secret wins over the cluster's.
        let named = |o: &&ContextObject| {
            matches!(o.content, ContextContent::Secret { .. })
                && o.name == secret
                && o.namespace.as_deref() == Some(namespace)
        };
        let Some(object) = self.context.iter().filter(named).min_by_key(|o| o.cluster) else {
            return;
        };
        let here = self.here(doc).at(&["spec", "kopia", "repository"]);
        let keys: Vec<String> = object.data_keys().into_iter().map(str::to_owned).collect();
        for (key, field) in LOG_SETTINGS {
            if !keys.iter().any(|k| k == key) {
                continue;
            }
            let value = object
                .file(key)
                .and_then(|file| file.text.clone())
                .map(|v| v.trim().to_owned());
            let Some(value) = value else {
                let d = here.report(
                    LowerError::SecretSettingOverridden {
                        secret: secret.to_owned(),
                        key: key.to_owned(),
                        instead: format!("its value is not known here (a Secret of the cluster context gives its key names only), so the mover uses the plan's `spec.kopia.logging.{field}` or its default"),
                    },
                    format!("add the Secret to the input so kopiaplan reads `{key}` (it writes no Secret unless `--include-inputs`), or set `spec.kopia.logging.{field}` in the plan `kopiaplan convert` writes"),
                );
                self.diagnostics.push(d);
                continue;
            };
            let max_files = if field == "maxFiles" {
                match value.parse::<u32>() {
                    Ok(n) => Some(n),
                    Err(_) => {
                        let d = here.report(
                            LowerError::SecretSettingOverridden {
                                secret: secret.to_owned(),
                                key: key.to_owned(),
                                instead: "it is not a number, so the mover keeps the default number of log files".to_owned(),
                            },
                            format!("write a whole number into `{key}`"),
                        );
                        self.diagnostics.push(d);
                        continue;
                    }
                }
            } else {
                None
            };
            let secret_doc = object.doc;
            let data_field = object.file(key).map(|f| f.field).unwrap_or("data");
            let builder = self.plan(namespace, doc);
            let logging = builder
                .plan
                .spec
                .kopia
                .logging
                .get_or_insert_with(plan::LoggingSpec::default);
            let current = match field {
                "fileLevel" => logging.file_level.clone(),
                "maxFiles" => logging.max_files.map(|n| n.to_string()),
                _ => logging.max_age.clone(),
            };
            match current {
                None => {
                    match field {
                        "fileLevel" => logging.file_level = Some(value.clone()),
                        "maxFiles" => logging.max_files = max_files,
                        _ => logging.max_age = Some(value.clone()),
                    }
                    builder.map(
                        path(&["spec", "kopia", "logging", field]),
                        secret_doc,
                        vec![key_segment(data_field), key_segment(key)],
                    );
                    let d = here.report(
                        LowerError::SecretSettingRead {
                            secret: secret.to_owned(),
                            key: key.to_owned(),
                            field: field.to_owned(),
                        },
                        format!("nothing to do; `kopiaplan convert` writes it as `spec.kopia.logging.{field}`"),
                    );
                    self.diagnostics.push(d);
                }
                Some(current) if current == value => {}
                Some(current) => {
                    let d = here.report(
                        LowerError::SecretSettingOverridden {
                            secret: secret.to_owned(),
                            key: key.to_owned(),
                            instead: format!("the mover uses `{current}`, which another repository Secret of the namespace gave (one setting per namespace)"),
                        },
                        format!("give `{key}` one value in every repository Secret of the namespace"),
                    );
                    self.diagnostics.push(d);
                }
            }
        }
        for (key, instead) in OVERRIDDEN {
            if keys.iter().any(|k| k == key) {
                let d = here.report(
                    LowerError::SecretSettingOverridden {
                        secret: secret.to_owned(),
                        key: key.to_owned(),
                        instead: instead.to_owned(),
                    },
                    format!("remove `{key}` from the Secret"),
                );
                self.diagnostics.push(d);
            }
        }
    }
}

fn key_segment(key: &str) -> PathSegment {
    PathSegment::Key(key.to_owned())
}
