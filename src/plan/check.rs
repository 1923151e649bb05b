//! The BackupPlan's structural check: its generated JSON Schema, compiled
//! for the shared checker ([`crate::schema`]), and the findings in a plan
//! author's words. Every problem of a plan is reported in one run; serde
//! reads the plan only once there is none.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::error::ParseError;
use crate::diagnostics::{Diagnostic, nearest};
use crate::load::{Document, display_path, span_of_node};
use crate::schema::{Compiler, Finding, Problem, Schema, describe};

/// The plan schema, compiled once.
fn compiled() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        // The schema is generated from the plan types, not input: the unit
        // test `the_plan_schema_compiles` makes sure this cannot fail.
        compile().unwrap_or_else(|error| panic!("the BackupPlan schema: {error}"))
    })
}

fn compile() -> Result<Schema, String> {
    // `$ref`s are `#/$defs/…`: within the one (unnamed) file.
    let files = HashMap::from([("", super::schema().clone())]);
    Compiler::new(&files).compile(&files[""], "backupplan", 0)
}

/// Every structural problem of a BackupPlan document, as diagnostics.
pub fn check(document: &Document) -> Vec<Diagnostic> {
    crate::schema::check(compiled(), &document.root, &[])
        .iter()
        .map(|finding| diagnostic(document, finding))
        .collect()
}

fn diagnostic(document: &Document, finding: &Finding) -> Diagnostic {
    let (error, help) = match &finding.problem {
        Problem::UnknownField { field, known } => {
            let help = match nearest(field, known.iter().map(String::as_str)) {
                Some(known) => format!("did you mean `{known}`?"),
                None => format!("valid fields here: {}", known.join(", ")),
            };
            (
                ParseError::UnknownField {
                    field: field.clone(),
                },
                help,
            )
        }
        Problem::NotInEnum { allowed } => {
            let given = finding.node.scalar_text().unwrap_or_default();
            let help = match nearest(&given, allowed.iter().map(String::as_str)) {
                Some(name) => format!("did you mean `{name}`?"),
                None => format!(
                    "use one of {}",
                    allowed
                        .iter()
                        .map(|name| format!("`{name}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            (ParseError::UnknownVariant { given }, help)
        }
        Problem::MissingRequired { field } => (
            ParseError::MissingField {
                field: field.clone(),
            },
            format!("add `{field}` here"),
        ),
        other => (
            ParseError::Schema {
                problem: other.clone(),
            },
            describe(other).1,
        ),
    };
    Diagnostic::new(&error)
        .at(Some(span_of_node(document.file, finding.node)))
        .field(display_path(&finding.path))
        .help(help)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_schema_compiles() {
        compile().expect("the generated BackupPlan schema compiles");
    }
}
