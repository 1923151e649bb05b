//! `kopiaplan schema`: the JSON Schema of the input format, for editors
//! (yaml-language-server) and CI.

use clap::{Args, ValueEnum};

use super::Outcome;

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The kind whose schema to print.
    #[arg(value_enum, default_value_t = SchemaKind::BackupPlan)]
    kind: SchemaKind,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SchemaKind {
    #[value(name = "BackupPlan")]
    BackupPlan,
}

pub fn exec(args: SchemaArgs) -> Outcome {
    let schema = match args.kind {
        SchemaKind::BackupPlan => kopiaplan::plan::json_schema(),
    };
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    Outcome {
        stdout: Some(text.into()),
        stderr: String::new(),
        exit_code: 0,
    }
}
