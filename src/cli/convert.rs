//! `kopiaplan convert`: VolSync ReplicationSource / ReplicationDestination /
//! KopiaMaintenance objects → equivalent BackupPlans on standard output.

use clap::Args;

use super::{InputArgs, Outcome, render_diagnostics};

#[derive(Debug, Args)]
pub struct ConvertArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Instead of the plan: per VolSync object, every place where the
    /// compiled objects behave differently from VolSync (layout, defaults,
    /// mounts, identities, deletions), and every warning it gave.
    #[arg(long)]
    report: bool,
}

pub fn exec(args: ConvertArgs) -> Outcome {
    let format = args.input.diagnostics;
    let sources =
        match kopiaplan::load::read_inputs_with_context(&args.input.inputs, &args.input.context) {
            Ok(sources) => sources,
            Err((sources, diagnostics)) => {
                return Outcome {
                    stdout: None,
                    stderr: render_diagnostics(&diagnostics, &sources, format),
                    exit_code: 1,
                };
            }
        };
    let (documents, mut diagnostics) = kopiaplan::load::parse(&sources);
    kopiaplan::list_items_not_compiled(&sources, &documents, &mut diagnostics);
    match kopiaplan::volsync::convert::convert(
        &sources,
        &documents,
        diagnostics,
        &args.input.volsync.options(),
    ) {
        Ok(converted) => Outcome {
            stdout: Some(
                if args.report {
                    converted.report
                } else {
                    converted.yaml
                }
                .into(),
            ),
            stderr: render_diagnostics(&converted.diagnostics, &sources, format),
            exit_code: 0,
        },
        Err(diagnostics) => Outcome {
            stdout: None,
            stderr: render_diagnostics(&diagnostics, &sources, format),
            exit_code: 1,
        },
    }
}
