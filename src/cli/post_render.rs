//! `kopiaplan post-render` (and `kopiaplan` with no subcommand, the way
//! Helm 3 runs a post-renderer): a rendered stream on standard input, the
//! same stream with every plan compiled in place on standard output.

use std::path::PathBuf;

use clap::Args;
use kopiaplan::diagnostics::SourceMap;
use kopiaplan::integrations::bare::{self, Bare};
use kopiaplan::integrations::post_render::{self, PostRendered, Written};

use super::{DiagnosticsFormat, Outcome, Stdout, read_context, render_diagnostics};

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
    match read_standard_input(args.diagnostics) {
        Ok(bytes) => match post_render::post_render_bytes(bytes, context, !args.no_infer) {
            Written::Unchanged(bytes) => unchanged(bytes),
            Written::Rendered(result) => outcome(result, args.diagnostics),
        },
        Err(outcome) => outcome,
    }
}

/// A bare `kopiaplan` with a stream on standard input. Helm 3 runs it so
/// (`--post-renderer kopiaplan`), and so do kustomize and kpt when it is an
/// exec KRM function (kustomize cannot pass arguments): a ResourceList gets
/// the KRM function, anything else the post-renderer.
pub fn exec_bare() -> Outcome {
    let format = DiagnosticsFormat::Human;
    match read_standard_input(format) {
        Ok(bytes) => match bare::bare(bytes) {
            Bare::Unchanged(bytes) => unchanged(bytes),
            Bare::ResourceList(text) => super::krm::function_on(text, format),
            Bare::Rendered(result) => outcome(result, format),
        },
        Err(outcome) => outcome,
    }
}

/// Standard input as read, or the outcome to print when it cannot be.
fn read_standard_input(format: DiagnosticsFormat) -> Result<Vec<u8>, Outcome> {
    kopiaplan::load::read_standard_input().map_err(|diagnostic| Outcome {
        stdout: None,
        stderr: render_diagnostics(&diagnostic.into(), &SourceMap::default(), format),
        exit_code: 1,
    })
}

/// A stream written as it came.
fn unchanged(bytes: Vec<u8>) -> Outcome {
    Outcome {
        stdout: Some(Stdout::Bytes(bytes)),
        stderr: String::new(),
        exit_code: 0,
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
