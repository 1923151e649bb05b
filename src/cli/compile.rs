//! `kopiaplan compile`: plans in, manifests out (stdout, a file, or a
//! directory with one file per object).

use kopiaplan::output::OutputError;
use std::path::PathBuf;

use clap::Args;
use kopiaplan::output::{self, Format, directory};

use super::{InputArgs, Outcome, Stdout, render_diagnostics, render_failure};

#[derive(Debug, Args)]
pub struct CompileArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Write the manifests to this file instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Write one file per object (`<namespace>/<kind>-<name>.yaml`, `_cluster/`
    /// for objects without a namespace) and a kustomization.yaml into this
    /// directory, replacing it as a whole.
    #[arg(long, value_name = "DIR", conflicts_with = "output")]
    output_dir: Option<PathBuf>,
    /// Output format: `json` writes a Kubernetes `List`, or `.json` files with
    /// `--output-dir`.
    #[arg(long, value_enum, default_value_t = Format::Yaml)]
    format: Format,
    /// Copy the Secrets of the input into the output too (left out by
    /// default: they hold credentials). Files that hold a Secret are written
    /// with mode 0600.
    #[arg(long)]
    include_inputs: bool,
    /// The previous output (a file written by `compile`, or a directory
    /// written by `--output-dir`): each manual Job it already issued for a
    /// token is written again exactly as it was, so that it never runs
    /// again and re-applying never fails. The `--output-dir` being
    /// replaced is read this way without this flag.
    #[arg(long, value_name = "PATH")]
    previous: Option<PathBuf>,
}

/// The previous output, when at hand: `--previous`, or the kopiaplan
/// output directory about to be replaced.
fn previous_output(
    args: &CompileArgs,
) -> Option<(
    kopiaplan::diagnostics::SourceMap,
    Result<Vec<output::Object>, kopiaplan::diagnostics::Diagnostics>,
)> {
    if let Some(previous) = &args.previous {
        return Some(output::rendered::read(previous));
    }
    let dir = args.output_dir.as_ref()?;
    let marker = std::fs::read_to_string(dir.join("kustomization.yaml")).ok()?;
    (marker.lines().next() == Some(directory::MARKER)).then(|| output::rendered::read(dir))
}

pub fn exec(args: CompileArgs) -> Outcome {
    let (sources, result) = match args.format {
        Format::Yaml => args.input.compile(),
        // Every object is read back to be written as JSON.
        Format::Json => output::written_as_json(|| args.input.compile()),
    };
    let mut compiled = match result {
        Ok(compiled) => compiled,
        Err(diagnostics) => {
            return Outcome {
                stdout: None,
                stderr: render_diagnostics(&diagnostics, &sources, args.input.diagnostics),
                exit_code: 1,
            };
        }
    };
    if !args.include_inputs {
        output::without_input_secrets(&mut compiled.objects);
    }
    let format = args.input.diagnostics;
    let mut stderr = render_diagnostics(&compiled.diagnostics, &sources, format);
    match previous_output(&args) {
        None => {}
        Some((_, Ok(previous))) => {
            let kept = output::issued::keep_issued_jobs(&mut compiled.objects, &previous);
            stderr.push_str(&render_diagnostics(&kept, &sources, format));
        }
        Some((previous_sources, Err(diagnostics))) => {
            stderr.push_str(&render_diagnostics(&diagnostics, &previous_sources, format));
            return Outcome {
                stdout: None,
                stderr,
                exit_code: 1,
            };
        }
    }
    let failure = |rendered: String| Outcome {
        stdout: None,
        stderr: format!("{stderr}{rendered}"),
        exit_code: 1,
    };
    let target = args.output_dir.as_ref().or(args.output.as_ref());
    if let Some(input) = target
        .and_then(|target| output::input_replaced_by(&sources, target, args.output_dir.is_some()))
    {
        return failure(render_failure(
            &OutputError::ReplacesInput {
                target: target.map(|t| t.display().to_string()).unwrap_or_default(),
                input,
            },
            format,
        ));
    }
    if let Some(target) = args.output_dir {
        let files = match directory::layout(&compiled.objects, args.format) {
            Ok(files) => files,
            Err(error) => {
                return failure(render_failure(
                    &OutputError::NotWritten {
                        target: target.display().to_string(),
                        reason: error.to_string(),
                    },
                    format,
                ));
            }
        };
        return match directory::write(&target, &files) {
            Ok(()) => Outcome {
                stdout: None,
                stderr: stderr.clone(),
                exit_code: 0,
            },
            Err(error) => failure(render_failure(&error, format)),
        };
    }
    let holds_secret = compiled.objects.iter().any(|o| o.kind == "Secret");
    if args.output.is_none() && args.format == Format::Yaml {
        // Written out object by object, not joined first: the output is
        // held once.
        let written: Result<Vec<output::Object>, String> = compiled
            .objects
            .into_iter()
            .map(output::Object::written)
            .collect();
        return match written {
            Ok(objects) => Outcome {
                stdout: Some(Stdout::Objects(objects)),
                stderr: stderr.clone(),
                exit_code: 0,
            },
            Err(error) => failure(render_failure(
                &OutputError::Unserialisable {
                    what: "the output".to_owned(),
                    reason: error,
                },
                format,
            )),
        };
    }
    let text = match output::render(&compiled.objects, args.format) {
        Ok(text) => text,
        Err(error) => {
            return failure(render_failure(
                &OutputError::Unserialisable {
                    what: "the output".to_owned(),
                    reason: error.to_string(),
                },
                format,
            ));
        }
    };
    match args.output {
        None => Outcome {
            stdout: Some(text.into()),
            stderr: stderr.clone(),
            exit_code: 0,
        },
        Some(path) => match write_output(&path, &text, holds_secret) {
            Ok(()) => Outcome {
                stdout: None,
                stderr: stderr.clone(),
                exit_code: 0,
            },
            Err(error) => failure(render_failure(
                &OutputError::NotWritten {
                    target: path.display().to_string(),
                    reason: error.to_string(),
                },
                format,
            )),
        },
    }
}

/// Writes the output to `path`. A regular file (or a new path) is written
/// beside the target and renamed into place, so readers never see half a
/// file; a symbolic link is followed first, so the link stays. Anything
/// else (a device such as `/dev/null`, a FIFO, `/dev/stdout`) is written in
/// place: a rename would replace the device with a regular file.
fn write_output(path: &std::path::Path, text: &str, private: bool) -> std::io::Result<()> {
    match std::fs::metadata(path) {
        Ok(metadata) if !metadata.is_file() && !metadata.is_dir() => {
            use std::io::Write as _;
            std::fs::OpenOptions::new()
                .write(true)
                .open(path)?
                .write_all(text.as_bytes())
        }
        Ok(_) => write_atomically(&std::fs::canonicalize(path)?, text, private),
        Err(_) => write_atomically(path, text, private),
    }
}

/// Writes beside the target, then renames: readers never see half a file.
fn write_atomically(path: &std::path::Path, text: &str, private: bool) -> std::io::Result<()> {
    let directory = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| std::path::Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    let temporary = directory.join(format!(".{file_name}.kopiaplan-{}", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    output::write_file(&temporary, text, private)?;
    std::fs::rename(&temporary, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}
