//! `kopiaplan explain`: the resolved plan for people — identities,
//! repositories, schedules with their next runs, and what starts at the same
//! time on each repository — as text, JSON or an SVG heat map.

use kopiaplan::output::OutputError;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use clap::{Args, ValueEnum};
use kopiaplan::explain::{self, Options, report};

use super::{InputArgs, Outcome, render_diagnostics, render_failure};

#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Compute next runs and the week from this time (RFC 3339, such as
    /// 2026-03-28T12:00:00Z) instead of the current time.
    #[arg(long, value_name = "RFC3339", value_parser = parse_now)]
    now: Option<DateTime<Utc>>,
    /// Output format: `svg` draws the week of each repository as a heat map.
    #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
    format: ExplainFormat,
    /// Warn when more than N entries start in the same hour on one repository.
    #[arg(long, value_name = "N", default_value_t = report::DEFAULT_MAX_STARTS_PER_HOUR)]
    max_starts_per_hour: usize,
    /// Time zone of the week (default: the one all schedules share, else UTC).
    #[arg(long, value_name = "ZONE", value_parser = parse_time_zone)]
    time_zone: Option<Tz>,
    /// The cluster's state as `kopiaplan status --from` reads it
    /// (`kubectl get cronjobs,jobs,pods -l app.kubernetes.io/managed-by=kopiaplan -A -o json`):
    /// the last maintenance results add their warnings, such as a
    /// repository with too many index blobs.
    #[arg(long, value_name = "FILE")]
    from: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ExplainFormat {
    Text,
    Json,
    Svg,
}

fn parse_now(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|error| {
            format!("{error}; write it like 2026-03-28T12:00:00Z or 2026-03-28T13:00:00+01:00")
        })
}

fn parse_time_zone(text: &str) -> Result<Tz, String> {
    kopiaplan::resolve::schedule::check_time_zone(text)
        .map_err(|error| format!("{} ({})", error.message, error.help))?;
    Tz::from_str(text).map_err(|error| error.to_string())
}

pub fn exec(args: ExplainArgs) -> Outcome {
    let format = args.input.diagnostics;
    let (sources, result) = args.input.compile();
    let compiled = match result {
        Ok(compiled) => compiled,
        Err(diagnostics) => {
            return Outcome {
                stdout: None,
                stderr: render_diagnostics(&diagnostics, &sources, format),
                exit_code: 1,
            };
        }
    };
    let stderr = render_diagnostics(&compiled.diagnostics, &sources, format);
    let mut options = Options::at(args.now.unwrap_or_else(Utc::now));
    options.max_starts_per_hour = args.max_starts_per_hour;
    options.time_zone = args.time_zone;
    let mut report = explain::explain(&compiled.model, &options);
    if let Some(path) = &args.from {
        let state = std::fs::read_to_string(path)
            .map_err(
                |error| kopiaplan::status::StatusError::ClusterStateUnreadable {
                    reason: format!("{}: {error}", path.display()),
                },
            )
            .and_then(|text| kopiaplan::status::status(&text, options.now));
        match state {
            Ok(entries) => {
                for entry in entries.iter().filter(|e| e.component == "maintenance") {
                    if let Some(warning) = &entry.warning {
                        report.warnings.push(format!(
                            "repository {}/{} (plan {}): {warning}, in its last maintenance result; Kopia's memory in every mover grows with them",
                            entry.namespace, entry.entry, entry.plan
                        ));
                    }
                }
            }
            Err(error) => {
                return Outcome {
                    stdout: None,
                    stderr: stderr + &render_failure(&error, format),
                    exit_code: 1,
                };
            }
        }
    }
    let text = match args.format {
        ExplainFormat::Text => explain::text::render(&report),
        ExplainFormat::Svg => explain::svg::render(&report),
        ExplainFormat::Json => match serde_json::to_string_pretty(&report) {
            Ok(mut text) => {
                text.push('\n');
                text
            }
            Err(error) => {
                return Outcome {
                    stdout: None,
                    stderr: stderr
                        + &render_failure(
                            &OutputError::Unserialisable {
                                what: "the explanation as JSON".to_owned(),
                                reason: error.to_string(),
                            },
                            format,
                        ),
                    exit_code: 1,
                };
            }
        },
    };
    Outcome {
        stdout: Some(text.into()),
        stderr,
        exit_code: 0,
    }
}
