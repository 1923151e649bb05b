//! Command-line interface: one file per subcommand, each with its arguments
//! and a short `exec` that calls the library and returns what to print.

mod compile;
mod convert;
mod diff;
mod explain;
mod krm;
mod post_render;
mod schema;
mod status;
mod validate;

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use kopiaplan::diagnostics::{self, Diagnostic, DiagnosticKind, Diagnostics, SourceMap};

#[derive(Debug, Parser)]
#[command(
    name = "kopiaplan",
    version,
    about = "Compile Kopia backup plans into plain Kubernetes manifests",
    long_about = "kopiaplan compiles BackupPlan documents into CronJobs, Jobs, ConfigMaps and \
                  ServiceAccounts that run Kopia backups with no operator in the cluster."
)]
pub struct Cli {
    /// With no command and a stream on standard input, kopiaplan is a Helm
    /// post-renderer (`helm install --post-renderer kopiaplan`).
    #[command(subcommand)]
    command: Option<Command>,
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
    /// Convert VolSync ReplicationSources, ReplicationDestinations and
    /// KopiaMaintenances into equivalent BackupPlans.
    Convert(convert::ConvertArgs),
    /// Print the JSON Schema of the BackupPlan format.
    Schema(schema::SchemaArgs),
    /// What is backed up and how it went: one line per entry, read from
    /// the cluster (kubectl) or a file; exit 3 when one is STALE or FAILED.
    Status(status::StatusArgs),
    /// Helm post-renderer: compile the plans in a stream on stdin, pass everything else through.
    PostRender(post_render::PostRenderArgs),
    /// KRM function (ResourceList on stdin/stdout) or, with a file, a kustomize exec plugin.
    Krm(krm::KrmArgs),
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
    /// Cluster context (repeatable): `kubectl get … -o yaml` output whose
    /// PVCs, ReplicationSources, Namespaces and Secrets' key names answer
    /// what VolSync looked up in the cluster. Never written to the output.
    #[arg(long = "context", value_name = "FILE")]
    pub context: Vec<PathBuf>,
    #[command(flatten)]
    pub volsync: VolSyncArgs,
    /// Take no mover settings (user, groups, placement) from the workloads
    /// of the input that mount the backed-up claims.
    #[arg(long)]
    pub no_infer: bool,
}

/// How VolSync objects in the input are read.
#[derive(Debug, Args)]
pub struct VolSyncArgs {
    /// Unknown fields of VolSync objects are errors, not warnings.
    #[arg(long)]
    pub strict: bool,
    /// Treat this namespace as carrying `volsync.backube/privileged-movers:
    /// "true"` (repeatable), when its Namespace object is not in the input.
    #[arg(long = "privileged-movers", value_name = "NAMESPACE")]
    pub privileged_movers: Vec<String>,
    /// The namespace of VolSync objects that name none (as `kubectl -n`);
    /// it is also their Kopia hostname. Default: `default`, with a warning.
    #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
    pub namespace: Option<String>,
}

impl VolSyncArgs {
    pub fn options(&self) -> kopiaplan::volsync::Options {
        kopiaplan::volsync::Options {
            strict: self.strict,
            privileged_namespaces: self.privileged_movers.clone(),
            default_namespace: self.namespace.clone(),
            no_infer: false,
            input_written_by_caller: false,
        }
    }
}

impl InputArgs {
    /// Compiles the inputs with the command line's choices.
    pub fn compile(
        &self,
    ) -> (
        SourceMap,
        Result<kopiaplan::Compiled, kopiaplan::diagnostics::Diagnostics>,
    ) {
        let options = kopiaplan::volsync::Options {
            no_infer: self.no_infer,
            ..self.volsync.options()
        };
        kopiaplan::compile_paths_in_context(&self.inputs, &self.context, &options)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiagnosticsFormat {
    Human,
    Json,
}

/// What a command produced: text for stdout, text for stderr, an exit code.
pub struct Outcome {
    pub stdout: Option<Stdout>,
    pub stderr: String,
    pub exit_code: u8,
}

/// What a command writes on standard output.
pub enum Stdout {
    Text(String),
    /// A stream written as it came (the post-renderer's, without plans).
    Bytes(Vec<u8>),
    /// Compiled objects as a YAML stream, each already written: they are
    /// written out one after the other, never joined into one string, which
    /// would hold the output twice (issue 17).
    Objects(Vec<kopiaplan::output::Object>),
}

impl From<String> for Stdout {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl Stdout {
    pub fn write(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        match self {
            Self::Text(text) => out.write_all(text.as_bytes()),
            Self::Bytes(bytes) => out.write_all(bytes),
            Self::Objects(objects) => kopiaplan::output::write_yaml(objects, out),
        }
    }
}

pub fn run(cli: Cli) -> Outcome {
    match cli.command {
        Some(Command::Compile(args)) => compile::exec(args),
        Some(Command::Validate(args)) => validate::exec(args),
        Some(Command::Diff(args)) => diff::exec(args),
        Some(Command::Explain(args)) => explain::exec(args),
        Some(Command::Convert(args)) => convert::exec(args),
        Some(Command::Schema(args)) => schema::exec(args),
        Some(Command::Status(args)) => status::exec(args),
        Some(Command::PostRender(args)) => post_render::exec(args),
        Some(Command::Krm(args)) => krm::exec(args),
        // Helm 3 runs `--post-renderer kopiaplan` with no arguments, and
        // kustomize runs exec KRM functions so.
        None if !std::io::stdin().is_terminal() => post_render::exec_bare(),
        None => Outcome {
            stdout: None,
            stderr: Cli::command().render_help().to_string(),
            exit_code: 2,
        },
    }
}

/// Reads one input (a file, or `-` for standard input) as text, within the
/// input limits; a failure is the outcome to print.
pub fn read_text(path: &std::path::Path, format: DiagnosticsFormat) -> Result<String, Outcome> {
    match kopiaplan::load::read_inputs(&[path.to_path_buf()]) {
        Ok(mut sources) => {
            let first = sources.files().next().map(|(id, _)| id);
            Ok(first.map(|id| sources.take_text(id)).unwrap_or_default())
        }
        Err((sources, diagnostics)) => Err(Outcome {
            stdout: None,
            stderr: render_diagnostics(&diagnostics, &sources, format),
            exit_code: 1,
        }),
    }
}

/// Reads the cluster context files (`--context`) as names and texts, within
/// the input limits; a failure is the outcome to print.
pub fn read_context(
    paths: &[PathBuf],
    format: DiagnosticsFormat,
) -> Result<Vec<(String, String)>, Outcome> {
    match kopiaplan::load::read_inputs_with_context(&[], paths) {
        Ok(sources) => Ok(sources
            .files()
            .map(|(_, file)| (file.name.clone(), file.text.clone()))
            .collect()),
        Err((sources, diagnostics)) => Err(Outcome {
            stdout: None,
            stderr: render_diagnostics(&diagnostics, &sources, format),
            exit_code: 1,
        }),
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
pub fn render_failure(kind: &impl DiagnosticKind, format: DiagnosticsFormat) -> String {
    render_diagnostics(&Diagnostic::new(kind).into(), &SourceMap::default(), format)
}
