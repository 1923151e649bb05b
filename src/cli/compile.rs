//! `kopiaplan compile`: plans in, manifests out (stdout or a file).

use std::path::PathBuf;

use clap::Args;
use kopiaplan::output::{self, Format};

use super::{InputArgs, Outcome, render_diagnostics};

#[derive(Debug, Args)]
pub struct CompileArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Write the manifests to this file instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Yaml)]
    format: Format,
}

pub fn exec(args: CompileArgs) -> Outcome {
    let (sources, result) = kopiaplan::compile_paths(&args.input.inputs);
    let compiled = match result {
        Ok(compiled) => compiled,
        Err(diagnostics) => {
            return Outcome {
                stdout: None,
                stderr: render_diagnostics(&diagnostics, &sources, args.input.diagnostics),
                exit_code: 1,
            };
        }
    };
    let stderr = render_diagnostics(&compiled.diagnostics, &sources, args.input.diagnostics);
    let text = match output::render(&compiled.objects, args.format) {
        Ok(text) => text,
        Err(error) => {
            return Outcome {
                stdout: None,
                stderr: format!("{stderr}error: cannot serialise the output: {error}\n"),
                exit_code: 1,
            };
        }
    };
    match args.output {
        None => Outcome {
            stdout: Some(text),
            stderr,
            exit_code: 0,
        },
        Some(path) => match write_atomically(&path, &text) {
            Ok(()) => Outcome {
                stdout: None,
                stderr,
                exit_code: 0,
            },
            Err(error) => Outcome {
                stdout: None,
                stderr: format!("{stderr}error: cannot write {}: {error}\n", path.display()),
                exit_code: 1,
            },
        },
    }
}

/// Writes beside the target, then renames: readers never see half a file.
fn write_atomically(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let directory = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| std::path::Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    let temporary = directory.join(format!(".{file_name}.kopiaplan-{}", std::process::id()));
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}
