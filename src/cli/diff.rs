//! `kopiaplan diff`: compile, then compare with a previous output (a golden
//! file or a directory written by `compile --output-dir`). Exit 0 when they
//! are equal, 1 when they differ or the input has errors (no diff is shown
//! then), 2 on usage errors. With `--guard`, the question is whether the
//! change is safe: exit 0 when every dangerous change is acknowledged (the
//! diff is still shown), 4 when one is not.

use kopiaplan::output::OutputError;
use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use kopiaplan::output::diff::{self, Change};
use kopiaplan::output::rendered;
use kopiaplan::output::{guard, issued};

use super::{InputArgs, Outcome, render_diagnostics, render_failure};

#[derive(Debug, Args)]
#[command(
    after_help = "Exit status: 0 when the outputs are equal; 1 when they differ, or when \
                        the plans or the previous output have errors (then no diff is shown); \
                        2 on usage errors. With --guard: 0 when every dangerous change is \
                        acknowledged by the plans (whatever else differs), 4 when one is not, \
                        1 on errors in the plans or the previous output."
)]
pub struct DiffArgs {
    #[command(flatten)]
    input: InputArgs,
    /// The previous output: a file written by `compile` (YAML or a JSON `List`)
    /// or a directory written by `compile --output-dir`.
    #[arg(long, value_name = "PATH")]
    against: PathBuf,
    /// Colour the diff; `auto` colours it only on a terminal (and not when
    /// NO_COLOR is set).
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Compare the Secrets of the input too, as `compile --include-inputs`
    /// writes them.
    #[arg(long)]
    include_inputs: bool,
    /// Stop dangerous changes: a backup's Kopia source or repository
    /// changes, retention decreases, a backup disappears, a manual Job's
    /// template changes under its name, a maintenance owner changes. Each
    /// passes only when a plan's `spec.acknowledge` lists it; exit 4 otherwise.
    #[arg(long)]
    guard: bool,
}

/// The exit status of `diff --guard` when it stops a change.
pub const GUARD_STOPS: u8 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

pub fn exec(args: DiffArgs) -> Outcome {
    let format = args.input.diagnostics;
    // Every object is compared field by field: written as JSON, it reads
    // back fast.
    let (sources, result) = kopiaplan::output::written_as_json(|| args.input.compile());
    let mut compiled = match result {
        Ok(compiled) => compiled,
        Err(diagnostics) => {
            return Outcome {
                stdout: None,
                stderr: render_diagnostics(&diagnostics, &sources, format),
                exit_code: 1,
            };
        }
    };
    if !args.include_inputs {
        kopiaplan::output::without_input_secrets(&mut compiled.objects);
    }
    let mut stderr = render_diagnostics(&compiled.diagnostics, &sources, format);
    let (previous_sources, previous) = rendered::read(&args.against);
    let previous = match previous {
        Ok(objects) => objects,
        Err(diagnostics) => {
            stderr.push_str(&render_diagnostics(&diagnostics, &previous_sources, format));
            return Outcome {
                stdout: None,
                stderr,
                exit_code: 1,
            };
        }
    };
    // The guard judges what compiling afresh gives (as a pipeline that
    // keeps no previous output applies it); the diff shows what
    // `compile --previous` (or `--output-dir`) writes: the manual Jobs the
    // previous output issued, kept as they were.
    let verdict = args
        .guard
        .then(|| guard::guard(&previous, &compiled.objects, &compiled.model));
    let kept = issued::keep_issued_jobs(&mut compiled.objects, &previous);
    stderr.push_str(&render_diagnostics(&kept, &sources, format));
    let diffs = match diff::diff(&previous, &compiled.objects) {
        Ok(diffs) => diffs,
        Err(error) => {
            stderr.push_str(&render_failure(
                &OutputError::Unserialisable {
                    what: "an object".to_owned(),
                    reason: error.to_string(),
                },
                format,
            ));
            return Outcome {
                stdout: None,
                stderr,
                exit_code: 1,
            };
        }
    };
    if let Some(verdict) = &verdict {
        stderr.push_str(&render_diagnostics(&verdict.diagnostics, &sources, format));
    }
    let guard_exit = |verdict: &Option<guard::Verdict>, differ: bool| match verdict {
        Some(verdict) if verdict.stops() => GUARD_STOPS,
        Some(_) => 0,
        None => u8::from(differ),
    };
    if diffs.is_empty() {
        return Outcome {
            stdout: None,
            stderr,
            exit_code: guard_exit(&verdict, false),
        };
    }
    let colour = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let mut text = String::new();
    for object in &diffs {
        if colour {
            text.push_str(&colourise(&object.unified));
        } else {
            text.push_str(&object.unified);
        }
    }
    let count = |change: Change| diffs.iter().filter(|d| d.change == change).count();
    let objects = if diffs.len() == 1 {
        "object differs"
    } else {
        "objects differ"
    };
    stderr.push_str(&format!(
        "{} {objects} from {}: {} changed, {} added, {} removed\n",
        diffs.len(),
        args.against.display(),
        count(Change::Changed),
        count(Change::Added),
        count(Change::Removed),
    ));
    if let Some(verdict) = &verdict {
        let stopped = verdict.diagnostics.error_count();
        stderr.push_str(&format!(
            "guard: {stopped} dangerous change(s) not acknowledged, {} acknowledged\n",
            verdict.acknowledged
        ));
    }
    Outcome {
        stdout: Some(text.into()),
        stderr,
        exit_code: guard_exit(&verdict, true),
    }
}

/// ANSI colours in the style of `git diff`: bold headers, cyan hunk lines,
/// red removals, green additions.
fn colourise(unified: &str) -> String {
    const RESET: &str = "\x1b[0m";
    let mut out = String::with_capacity(unified.len() + unified.len() / 4);
    for line in unified.split_inclusive('\n') {
        let style = if line.starts_with("---") || line.starts_with("+++") {
            "\x1b[1m"
        } else if line.starts_with("@@") {
            "\x1b[36m"
        } else if line.starts_with('-') {
            "\x1b[31m"
        } else if line.starts_with('+') {
            "\x1b[32m"
        } else {
            ""
        };
        if style.is_empty() {
            out.push_str(line);
        } else {
            let (content, newline) = match line.strip_suffix('\n') {
                Some(content) => (content, "\n"),
                None => (line, ""),
            };
            out.push_str(style);
            out.push_str(content);
            out.push_str(RESET);
            out.push_str(newline);
        }
    }
    out
}
