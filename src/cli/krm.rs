//! `kopiaplan krm`: the KRM function (a ResourceList on standard input and
//! output, for kpt and kustomize), and with a file argument kustomize's
//! legacy exec-plugin convention (the plugin's configuration in that file,
//! plain YAML out).

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use kopiaplan::diagnostics;
use kopiaplan::integrations::krm;

use super::{
    DiagnosticsFormat, Outcome, Stdout, post_render, read_context, read_text, render_diagnostics,
};

#[derive(Debug, Args)]
pub struct KrmArgs {
    /// The plugin configuration file kustomize passes to a legacy exec
    /// plugin (a BackupPlan). Without it, a ResourceList is read from
    /// standard input.
    #[arg(value_name = "PLUGIN_CONFIG")]
    plugin_config: Option<PathBuf>,
    /// How to print diagnostics on standard error.
    #[arg(long, value_enum, default_value_t = DiagnosticsFormat::Human)]
    diagnostics: DiagnosticsFormat,
    /// Cluster context (repeatable), as for `compile --context`: read,
    /// never written to the output. (A `kind: List` item of the
    /// ResourceList is read the same way, and dropped from the items.)
    #[arg(long = "context", value_name = "FILE")]
    context: Vec<PathBuf>,
    /// Take no mover settings from the workloads of the input.
    #[arg(long)]
    no_infer: bool,
}

pub fn exec(args: KrmArgs) -> Outcome {
    let context = match read_context(&args.context, args.diagnostics) {
        Ok(context) => context,
        Err(outcome) => return outcome,
    };
    match &args.plugin_config {
        Some(path) => legacy_plugin(path, context, args.diagnostics, !args.no_infer),
        None => function(context, args.diagnostics, !args.no_infer),
    }
}

fn function(context: Vec<(String, String)>, format: DiagnosticsFormat, infer: bool) -> Outcome {
    match read_text(&PathBuf::from("-"), format) {
        Ok(text) => function_in_context(text, context, format, infer),
        Err(outcome) => outcome,
    }
}

/// The KRM function on a ResourceList already read.
pub fn function_on(text: String, format: DiagnosticsFormat) -> Outcome {
    function_in_context(text, Vec::new(), format, true)
}

fn function_in_context(
    text: String,
    context: Vec<(String, String)>,
    format: DiagnosticsFormat,
    infer: bool,
) -> Outcome {
    let result = krm::resource_list_in_context(text, context, infer);
    let failed = result.failed();
    let mut stderr = String::new();
    match format {
        DiagnosticsFormat::Human => {
            for diagnostic in result.diagnostics.iter() {
                stderr.push_str(&diagnostics::render(diagnostic, &result.sources));
                stderr.push('\n');
            }
            if failed {
                stderr.push_str("error: kopiaplan found problems; they are listed in the results of the ResourceList\n");
            }
        }
        DiagnosticsFormat::Json => {
            stderr = render_diagnostics(&result.diagnostics, &result.sources, format);
        }
    }
    if result.output.is_none() {
        stderr.push_str("error: cannot serialise the ResourceList\n");
    }
    Outcome {
        stdout: result.output.map(Stdout::from),
        stderr,
        exit_code: u8::from(failed),
    }
}

fn legacy_plugin(
    config: &std::path::Path,
    context: Vec<(String, String)>,
    format: DiagnosticsFormat,
    infer: bool,
) -> Outcome {
    let config = match read_text(config, format) {
        Ok(text) => text,
        Err(outcome) => return outcome,
    };
    // A generator gets no resources; kustomize then gives an empty stdin.
    let resources = if std::io::stdin().is_terminal() {
        String::new()
    } else {
        match read_text(&PathBuf::from("-"), format) {
            Ok(text) => text,
            Err(outcome) => return outcome,
        }
    };
    post_render::outcome(
        krm::kustomize_plugin_in_context(config, resources, context, infer),
        format,
    )
}
