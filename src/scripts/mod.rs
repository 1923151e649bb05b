//! The mover scripts, rendered from `templates/` with minijinja. Templates
//! receive compile-time structure only (the mover's fixed paths): every value
//! from a plan reaches a script through an environment variable or argv, so
//! no user text is ever spliced into shell code.

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
    let mut environment = Environment::new();
    environment.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    environment.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()?,
    );
    for (name, source) in TEMPLATES {
        environment.add_template(name, source)?;
    }
    let paths = context! {
        data => paths::DATA,
        restore_target => paths::RESTORE_TARGET,
        scripts => paths::SCRIPTS,
        policy => paths::POLICY,
        credentials => paths::CREDENTIALS,
        termination_log => paths::TERMINATION_LOG,
    };
    TEMPLATES
        .iter()
        .map(|(name, _)| {
            let text = environment
                .get_template(name)?
                .render(context! { paths => paths.clone() })?;
            Ok(Script { name, text })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
