//! `kopiaplan post-render` (and `kopiaplan` with no subcommand, the way
//! Helm 3 runs a post-renderer): a rendered stream on standard input, the
//! same stream with every plan compiled in place on standard output.

use std::path::PathBuf;

use clap::Args;
use kopiaplan::integrations::krm;
use kopiaplan::integrations::post_render::{self, PostRendered};

use super::{DiagnosticsFormat, Outcome, read_context, read_text, render_diagnostics};

#[derive(Debug, Args)]
pub struct PostRenderArgs {
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = DiagnosticsFormat::Human)]
    diagnostics: DiagnosticsFormat,
    /// Cluster context (repeatable), as for `compile --context`: read,
    /// never written to the stream.
    #[arg(long = "context", value_name = "FILE")]
    context: Vec<PathBuf>,
    /// Take no mover settings from the workloads of the stream.
    #[arg(long)]
    no_infer: bool,
}

pub fn exec(args: PostRenderArgs) -> Outcome {
    let context = match read_context(&args.context, args.diagnostics) {
        Ok(context) => context,
        Err(outcome) => return outcome,
    };
    match read_text(&PathBuf::from("-"), args.diagnostics) {
        Ok(stream) => outcome(
            post_render::post_render_in_context(stream, context, !args.no_infer),
            args.diagnostics,
        ),
        Err(outcome) => outcome,
    }
}

/// A bare `kopiaplan` with a stream on standard input. Helm 3 runs it so
/// (`--post-renderer kopiaplan`), and so do kustomize and kpt when it is an
/// exec KRM function (kustomize cannot pass arguments): a ResourceList gets
/// the KRM function, anything else the post-renderer.
pub fn exec_bare() -> Outcome {
    let format = DiagnosticsFormat::Human;
    match read_text(&PathBuf::from("-"), format) {
        Ok(text) if krm::is_resource_list(&text) => super::krm::function_on(text, format),
        Ok(stream) => outcome(post_render::post_render(stream), format),
        Err(outcome) => outcome,
    }
}

/// Prints the stream, or on any error nothing at all: Helm must not install
/// half a release.
pub fn outcome(result: PostRendered, format: DiagnosticsFormat) -> Outcome {
    let stderr = render_diagnostics(&result.diagnostics, &result.sources, format);
    match result.output {
        Some(stream) => Outcome {
            stdout: Some(stream.into()),
            stderr,
            exit_code: 0,
        },
        None => Outcome {
            stdout: None,
            stderr,
            exit_code: 1,
        },
    }
}
