//! `kopiaplan validate`: every diagnostic, no output.

use clap::Args;

use super::{InputArgs, Outcome, render_diagnostics};

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    input: InputArgs,
}

pub fn exec(args: ValidateArgs) -> Outcome {
    let (sources, result) = args.input.compile();
    match result {
        Ok(compiled) => Outcome {
            stdout: None,
            stderr: render_diagnostics(&compiled.diagnostics, &sources, args.input.diagnostics),
            exit_code: 0,
        },
        Err(diagnostics) => Outcome {
            stdout: None,
            stderr: render_diagnostics(&diagnostics, &sources, args.input.diagnostics),
            exit_code: 1,
        },
    }
}
