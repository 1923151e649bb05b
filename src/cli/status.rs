//! `kopiaplan status`: one line per entry — last success against its
//! staleness threshold, last result, next run, state — read from the cluster
//! with `kubectl get … -o json` (the user's kubeconfig), or from a file of
//! that JSON (`--from`). Exits 3 when an entry is STALE or FAILED.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::Command;

use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use kopiaplan::status::{self, StatusError, render};

use super::{DiagnosticsFormat, Outcome, read_text, render_failure};

/// The exit code when an entry is STALE or FAILED (1 is kept for errors).
pub const NEEDS_ATTENTION: u8 = 3;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Read this file of `kubectl get cronjobs,jobs,pods -o json` output
    /// (`-` for standard input) instead of asking the cluster.
    #[arg(long, value_name = "FILE")]
    from: Option<PathBuf>,
    /// Only this namespace (default: every namespace).
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    namespace: Option<String>,
    /// The kubectl context to use.
    #[arg(long, value_name = "CONTEXT")]
    context: Option<String>,
    #[arg(long, value_enum, default_value_t = StatusFormat::Text)]
    format: StatusFormat,
    /// Colour the states: `auto` only on a terminal (and not with NO_COLOR).
    #[arg(long, value_enum, default_value_t = Colour::Auto)]
    color: Colour,
    /// Judge ages and next runs as of this time (RFC 3339) instead of now.
    #[arg(long, value_name = "RFC3339", value_parser = parse_now)]
    now: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StatusFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Colour {
    Auto,
    Always,
    Never,
}

fn parse_now(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|error| format!("{error}; write it like 2026-03-28T12:00:00Z"))
}

pub fn exec(args: StatusArgs) -> Outcome {
    let text = match &args.from {
        Some(path) => match read_text(path, DiagnosticsFormat::Human) {
            Ok(text) => text,
            Err(outcome) => return outcome,
        },
        None => match kubectl(&args) {
            Ok(text) => text,
            Err(error) => return failure(&error),
        },
    };
    let entries = match status::status(&text, args.now.unwrap_or_else(Utc::now)) {
        Ok(entries) => entries,
        Err(error) => return failure(&error),
    };
    let colour = match args.color {
        Colour::Always => true,
        Colour::Never => false,
        Colour::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let stdout = match args.format {
        StatusFormat::Text => render::text(&entries, colour),
        StatusFormat::Json => render::json(&entries),
    };
    let attention = entries.iter().any(|e| e.state.needs_attention());
    Outcome {
        stdout: Some(stdout.into()),
        stderr: String::new(),
        exit_code: if attention { NEEDS_ATTENTION } else { 0 },
    }
}

fn failure(error: &StatusError) -> Outcome {
    Outcome {
        stdout: None,
        stderr: render_failure(error, DiagnosticsFormat::Human),
        exit_code: 1,
    }
}

/// `kubectl get cronjobs,jobs,pods -l app.kubernetes.io/managed-by=kopiaplan -o json`.
fn kubectl(args: &StatusArgs) -> Result<String, StatusError> {
    let mut command = Command::new("kubectl");
    command.args([
        "get",
        "cronjobs,jobs,pods",
        "-l",
        status::SELECTOR,
        "-o",
        "json",
    ]);
    match &args.namespace {
        Some(namespace) => command.args(["--namespace", namespace]),
        None => command.arg("--all-namespaces"),
    };
    if let Some(context) = &args.context {
        command.args(["--context", context]);
    }
    let unreadable = |reason: String| StatusError::ClusterStateUnreadable { reason };
    let output = command
        .output()
        .map_err(|e| unreadable(format!("cannot run kubectl ({e})")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(unreadable(format!(
            "kubectl failed ({}): {}",
            output.status,
            stderr.trim()
        )));
    }
    String::from_utf8(output.stdout).map_err(|_| unreadable("kubectl printed no UTF-8 text".into()))
}
