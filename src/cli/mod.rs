//! Command-line interface: one file per subcommand, each with its arguments
//! and a short `exec` that calls the library and returns what to print.

mod compile;
mod diff;
mod explain;
mod schema;
mod validate;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use kopiaplan::diagnostics::{self, Diagnostic, Diagnostics, SourceMap};

#[derive(Debug, Parser)]
#[command(
    name = "kopiaplan",
    version,
    about = "Compile Kopia backup plans into plain Kubernetes manifests",
    long_about = "kopiaplan compiles BackupPlan documents into CronJobs, Jobs, ConfigMaps and \
                  ServiceAccounts that run Kopia backups with no operator in the cluster."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Compile plans into Kubernetes manifests.
    Compile(compile::CompileArgs),
    /// Check plans and report every problem; write nothing.
    Validate(validate::ValidateArgs),
    /// Compile and show a unified diff against a previous output; exit 1 when they differ.
    Diff(diff::DiffArgs),
    /// Show the resolved plan: identities, repositories, schedules, next runs, busy hours.
    Explain(explain::ExplainArgs),
    /// Print the JSON Schema of the BackupPlan format.
    Schema(schema::SchemaArgs),
}

/// Options shared by commands that read plans.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Plan files or directories (searched for *.yaml and *.yml); `-` reads standard input.
    #[arg(value_name = "INPUT", required = true)]
    pub inputs: Vec<PathBuf>,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = DiagnosticsFormat::Human)]
    pub diagnostics: DiagnosticsFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiagnosticsFormat {
    Human,
    Json,
}

/// What a command produced: text for stdout, text for stderr, an exit code.
pub struct Outcome {
    pub stdout: Option<String>,
    pub stderr: String,
    pub exit_code: u8,
}

pub fn run(cli: Cli) -> Outcome {
    match cli.command {
        Command::Compile(args) => compile::exec(args),
        Command::Validate(args) => validate::exec(args),
        Command::Diff(args) => diff::exec(args),
        Command::Explain(args) => explain::exec(args),
        Command::Schema(args) => schema::exec(args),
    }
}

/// Renders diagnostics for stderr, with a closing count of errors.
pub fn render_diagnostics(
    diagnostics: &Diagnostics,
    sources: &SourceMap,
    format: DiagnosticsFormat,
) -> String {
    let mut out = String::new();
    match format {
        DiagnosticsFormat::Human => {
            for diagnostic in diagnostics.iter() {
                out.push_str(&diagnostics::render(diagnostic, sources));
                out.push('\n');
            }
            let errors = diagnostics.error_count();
            if errors > 0 {
                let plural = if errors == 1 { "" } else { "s" };
                out.push_str(&format!(
                    "error: {errors} problem{plural} found; nothing was written\n"
                ));
            }
        }
        DiagnosticsFormat::Json => {
            for diagnostic in diagnostics.iter() {
                out.push_str(&diagnostics::to_json(diagnostic, sources).to_string());
                out.push('\n');
            }
        }
    }
    out
}

/// A problem with no input position (a file that cannot be written, …),
/// rendered like the diagnostics around it, so `--diagnostics json` stays
/// one JSON object per line.
pub fn render_failure(message: String, format: DiagnosticsFormat) -> String {
    render_diagnostics(
        &Diagnostic::error(message).into(),
        &SourceMap::default(),
        format,
    )
}
