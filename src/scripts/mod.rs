//! The mover scripts, rendered from `templates/` with minijinja. Templates
//! receive compile-time structure only (the mover's fixed paths): every value
//! from a plan reaches a script through an environment variable or argv, so
//! no user text is ever spliced into shell code. The variables a script
//! reads are named through the render context too (`{{ env.username }}` is
//! `KOPIAPLAN_USERNAME`, see [`environment`]); with strict undefined, a
//! template naming one the compiler does not set fails to render.

pub mod environment;

use minijinja::{Environment, context};

use crate::model::paths;

/// The templates, compiled into the binary.
const TEMPLATES: &[(&str, &str)] = &[
    ("common.sh", include_str!("../../templates/common.sh")),
    ("backup.sh", include_str!("../../templates/backup.sh")),
    ("restore.sh", include_str!("../../templates/restore.sh")),
    (
        "maintenance.sh",
        include_str!("../../templates/maintenance.sh"),
    ),
    ("verify.sh", include_str!("../../templates/verify.sh")),
    ("stream.sh", include_str!("../../templates/stream.sh")),
    ("side.sh", include_str!("../../templates/side.sh")),
    ("replica.sh", include_str!("../../templates/replica.sh")),
    (
        "change-password.sh",
        include_str!("../../templates/change-password.sh"),
    ),
];

/// A rendered script: its file name in the scripts ConfigMap and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub name: &'static str,
    pub text: String,
}

/// Renders every mover script. The result depends only on kopiaplan's own
/// templates, so one ConfigMap per plan and namespace serves every entry.
pub fn render_all() -> Result<Vec<Script>, minijinja::Error> {
    render(TEMPLATES)
}

fn render(templates: &[(&'static str, &'static str)]) -> Result<Vec<Script>, minijinja::Error> {
    let mut environment = Environment::new();
    environment.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    environment.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()?,
    );
    for (name, source) in templates {
        environment.add_template(name, source)?;
    }
    let paths = context! {
        data => paths::DATA,
        restore_target => paths::RESTORE_TARGET,
        scripts => paths::SCRIPTS,
        policy => paths::POLICY,
        credentials => paths::CREDENTIALS,
        replica_credentials => paths::REPLICA_CREDENTIALS,
        termination_log => paths::TERMINATION_LOG,
        stream => paths::STREAM,
        scratch => paths::SCRATCH,
    };
    let env = environment::template_names();
    let metrics = {
        use crate::monitoring::metrics::*;
        context! {
            last_run_timestamp => LAST_RUN_TIMESTAMP,
            last_run_success => LAST_RUN_SUCCESS,
            last_run_duration => LAST_RUN_DURATION,
            last_success_timestamp => LAST_SUCCESS_TIMESTAMP,
            last_snapshot_timestamp => LAST_SNAPSHOT_TIMESTAMP,
            last_snapshot_bytes => LAST_SNAPSHOT_BYTES,
            last_snapshot_files => LAST_SNAPSHOT_FILES,
        }
    };
    // A replica's destination keys: the backends' Secret keys, and the
    // prefix they arrive with.
    let replica = context! {
        destination_prefix => environment::DESTINATION_PREFIX,
        backend_keys => crate::kopia::backend::secret_keys().join(" "),
        credential_file_keys => crate::kopia::CREDENTIAL_FILES
            .iter()
            .map(|(key, _)| *key)
            .collect::<Vec<_>>()
            .join(" "),
    };
    let limits = context! {
        index_blobs_warning => crate::kopia::INDEX_BLOBS_WARNING,
    };
    templates
        .iter()
        .map(|(name, _)| {
            let text = environment.get_template(name)?.render(context! {
                paths => paths.clone(),
                env => env.clone(),
                metrics => metrics.clone(),
                limits => limits.clone(),
                replica => replica.clone(),
            })?;
            Ok(Script { name, text })
        })
        .collect()
}

/// The launcher of a backup with workload hooks (`templates/launcher-hooks.sh`):
/// it names only the launcher's own settings.
pub fn render_launcher_hooks(manifests: &str) -> Result<String, minijinja::Error> {
    render_launcher_template(LAUNCHER_HOOKS, manifests)
}

const LAUNCHER_HOOKS: &str = include_str!("../../templates/launcher-hooks.sh");

fn render_launcher_template(source: &str, manifests: &str) -> Result<String, minijinja::Error> {
    use environment::launcher::timing;
    let mut environment = Environment::new();
    environment.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    environment.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()?,
    );
    environment.render_str(
        source,
        context! {
            paths => context! {
                manifests => manifests,
                termination_log => paths::TERMINATION_LOG,
            },
            env => environment::launcher::template_names(),
            timing => context! {
                kill_after => timing::KILL_AFTER_SECONDS,
                request_timeout => timing::REQUEST_TIMEOUT_SECONDS,
                cleanup => timing::CLEANUP_SECONDS,
                job_end => timing::JOB_END_SECONDS,
            },
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hooks launcher reads exactly the settings the emitter sets, and
    /// a misspelt one fails to render.
    #[test]
    fn the_hooks_launcher_and_the_emitter_share_one_list_of_settings() {
        let text = render_launcher_hooks("/launcher").expect("renders");
        let name = regex::Regex::new(r"KOPIAPLAN_[A-Z0-9_]+").expect("regex");
        let read: std::collections::BTreeSet<&str> =
            name.find_iter(&text).map(|m| m.as_str()).collect();
        let set: std::collections::BTreeSet<&str> =
            environment::launcher::SETTINGS.iter().copied().collect();
        assert_eq!(read, set);
        assert!(
            name.find(LAUNCHER_HOOKS).is_none(),
            "write `{{{{ env.… }}}}`"
        );
        let misspelt = render_launcher_template("${{ env.hook_selectr }}", "/launcher");
        assert!(misspelt.is_err());
    }

    #[test]
    fn renders_every_template_with_paths_filled_in() {
        let scripts = render_all().expect("templates render");
        assert_eq!(scripts.len(), TEMPLATES.len());
        for script in &scripts {
            assert!(
                !script.text.contains("{{"),
                "{} has an unrendered tag",
                script.name
            );
            assert!(script.text.ends_with('\n'));
        }
        let backup = scripts
            .iter()
            .find(|s| s.name == "backup.sh")
            .expect("backup.sh");
        assert!(
            backup
                .text
                .contains("source \"/kopiaplan/scripts/common.sh\"")
        );
        assert!(backup.text.contains("snapshot create \"/data\""));
        assert!(
            backup
                .text
                .contains("--override-source=\"$KOPIAPLAN_SOURCE_PATH\"")
        );
    }

    #[test]
    fn a_template_naming_a_variable_the_compiler_does_not_set_fails_to_render() {
        let good = render(&[("probe.sh", "echo \"${{ env.before_snapshot }}\"\n")]);
        assert_eq!(
            good.expect("renders")[0].text,
            "echo \"$KOPIAPLAN_BEFORE_SNAPSHOT\"\n"
        );
        let misspelt = render(&[("probe.sh", "echo \"${{ env.before_snapshto }}\"\n")]);
        let error = misspelt.expect_err("a misspelt variable fails to render");
        assert_eq!(
            error.kind(),
            minijinja::ErrorKind::UndefinedError,
            "{error}"
        );
    }

    /// Every `KOPIAPLAN_*` name in a rendered script is a setting the
    /// emitter sets in every mover, and every setting is read by a script.
    #[test]
    fn the_scripts_and_the_emitter_share_one_list_of_settings() {
        let scripts = render_all().expect("templates render");
        let name = regex::Regex::new(r"KOPIAPLAN_[A-Z0-9_]+").expect("regex");
        let mut read = std::collections::BTreeSet::new();
        for script in &scripts {
            for found in name.find_iter(&script.text).map(|m| m.as_str()) {
                assert!(
                    environment::SETTINGS.contains(&found),
                    "{} reads {found}, which the emitter does not set",
                    script.name,
                );
                read.insert(found.to_owned());
            }
        }
        for (template, source) in TEMPLATES {
            if let Some(found) = name.find(source) {
                panic!(
                    "{template} names {} literally: write `{{{{ env.… }}}}`",
                    found.as_str()
                );
            }
        }
        for setting in environment::SETTINGS {
            assert!(read.contains(*setting), "no script reads {setting}");
        }
    }
}
