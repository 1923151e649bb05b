//! Extra arguments from a plan, checked against Kopia's real grammar
//! (`data/kopia-cli.json`) for the command they go to, before they reach a
//! cluster. Flags that would leak or redirect credentials, configuration,
//! identity or logs, or that kopiaplan sets itself, are refused with the
//! reason.

use serde_json::Value;

use super::{cli, command, is_go_duration};
use crate::diagnostics::nearest;

/// A problem with the argument at `index`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgumentProblem {
    pub index: usize,
    pub message: String,
    pub help: String,
}

/// Flags no plan may pass, with the reason.
const REFUSED: &[(&str, &str)] = &[
    (
        "password",
        "it would put the repository password in the pod spec; it comes from the Secret",
    ),
    (
        "config-file",
        "it would redirect Kopia's configuration, which kopiaplan keeps in memory so that no credential reaches a disk",
    ),
    (
        "persist-credentials",
        "credentials are never written to disk",
    ),
    ("use-keyring", "credentials are never written to disk"),
    (
        "override-source",
        "kopiaplan sets it; use `sourcePathOverride`",
    ),
    (
        "override-username",
        "the identity is set by the entry; use `username`",
    ),
    (
        "override-hostname",
        "the identity is set by the entry; use `hostname`",
    ),
    (
        "all",
        "it would snapshot every source of this identity, not this volume",
    ),
    (
        "stdin-file",
        "it would back up standard input instead of the volume",
    ),
    ("log-file", "logs are configured by `spec.kopia.logging`"),
    (
        "content-log-file",
        "logs are configured by `spec.kopia.logging`",
    ),
    ("log-dir", "logs are configured by `spec.kopia.logging`"),
    (
        "file-log-level",
        "logs are configured by `spec.kopia.logging`",
    ),
    (
        "disable-file-logging",
        "logs are configured by `spec.kopia.logging`",
    ),
];

/// Flags refused only for one command, because kopiaplan sets them there.
const REFUSED_FOR: &[(&str, &str, &str)] = &[
    (
        "snapshot create",
        "parallel",
        "kopiaplan sets it; use `parallelism`",
    ),
    (
        "snapshot create",
        "json",
        "kopiaplan sets it to read the snapshot's result",
    ),
    (
        "snapshot create",
        "start-time",
        "it would record the snapshot as taken at another time; retention keeps snapshots by that \
         time, so it would keep or delete the wrong ones",
    ),
    (
        "snapshot create",
        "end-time",
        "it would record the snapshot as finished at another time; retention and restores by \
         time (`restoreAsOf`) would read the wrong one",
    ),
    (
        "snapshot create",
        "force-enable-actions",
        "it would run the policy's actions (commands) even where the plan has not enabled them; \
         enable them with `policyConfig.repositoryConfig: '{\"enableActions\": true}'`, or use the entry's `actions`",
    ),
];

/// Durations Kopia's grammar takes but its code bounds: (command, flag,
/// maximum in seconds, the maximum as people write it).
const MAXIMUM_DURATIONS: &[(&str, &str, f64, &str)] =
    &[("snapshot create", "checkpoint-interval", 45.0 * 60.0, "45m")];

/// Why `name` may not be passed to `kopia <command_path>`, if it may not.
fn refused(command_path: &str, name: &str) -> Option<&'static str> {
    REFUSED
        .iter()
        .find(|(refused, _)| *refused == name)
        .map(|(_, reason)| *reason)
        .or_else(|| {
            REFUSED_FOR
                .iter()
                .find(|(command, refused, _)| *command == command_path && *refused == name)
                .map(|(_, _, reason)| *reason)
        })
}

/// Global flags a plan may pass (the others are for interactive use,
/// diagnostics servers or settings kopiaplan manages).
const ALLOWED_GLOBAL: &[&str] = &[
    "log-level",
    "progress",
    "progress-update-interval",
    "progress-estimation-type",
    "adaptive-estimation-threshold",
    "console-timestamps",
    "disable-color",
    "force-color",
    "timezone",
];

fn flags_of(node: &Value) -> impl Iterator<Item = &Value> {
    node.get("flags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The arguments as Kopia reads them, one per flag, each with the index it
/// was written at: a flag that takes a value, written without `=` and
/// followed by an argument that is not a flag (`["--tags", "tier:gold"]`,
/// as VolSync's users wrote them: Kopia's parser takes the next argument
/// as the value), becomes `--tags=tier:gold`. Everything else is kept as
/// written, for [`check`] to judge.
pub fn join_values(command_path: &str, arguments: &[String]) -> Vec<(usize, String)> {
    let takes_value = |name: &str| {
        let global = cli().get("global_flags").and_then(Value::as_array);
        command(command_path)
            .map(flags_of)
            .into_iter()
            .flatten()
            .chain(global.into_iter().flatten())
            .find(|f| f.get("name").and_then(Value::as_str) == Some(name))
            .is_some_and(|f| f.get("kind").and_then(Value::as_str).unwrap_or("string") != "bool")
    };
    let mut joined = Vec::new();
    let mut index = 0;
    while index < arguments.len() {
        let argument = &arguments[index];
        let next = arguments.get(index + 1);
        match (argument.strip_prefix("--"), next) {
            (Some(name), Some(value))
                if !name.contains('=') && !value.starts_with('-') && takes_value(name) =>
            {
                joined.push((index, format!("{argument}={value}")));
                index += 2;
            }
            _ => {
                joined.push((index, argument.clone()));
                index += 1;
            }
        }
    }
    joined
}

/// Checks `arguments` for `kopia <command_path> … <arguments>`.
pub fn check(command_path: &str, arguments: &[String]) -> Vec<ArgumentProblem> {
    if arguments.is_empty() {
        return Vec::new();
    }
    let Some(node) = command(command_path) else {
        return vec![ArgumentProblem {
            index: 0,
            message: format!("internal error: `kopia {command_path}` is not in the grammar"),
            help: "report this to the kopiaplan developers".into(),
        }];
    };
    let global_flags: Vec<&Value> = cli()
        .get("global_flags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let command_flags: Vec<&Value> = flags_of(node).collect();
    let find = |name: &str| -> Option<(&Value, bool)> {
        command_flags
            .iter()
            .map(|f| (*f, false))
            .chain(global_flags.iter().map(|f| (*f, true)))
            .find(|(f, _)| f.get("name").and_then(Value::as_str) == Some(name))
    };
    let known_names: Vec<&str> = command_flags
        .iter()
        .filter_map(|f| f.get("name").and_then(Value::as_str))
        .chain(ALLOWED_GLOBAL.iter().copied())
        .filter(|name| refused(command_path, name).is_none())
        .collect();

    let mut problems = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (index, argument) in arguments.iter().enumerate() {
        let problem = |message: String, help: String| ArgumentProblem {
            index,
            message,
            help,
        };
        let Some(body) = argument.strip_prefix("--") else {
            problems.push(if argument.starts_with('-') {
                problem(
                    format!("`{argument}`: short flags are not accepted"),
                    "write the long form, such as `--tags=key:value`".into(),
                )
            } else {
                problem(
                    format!("`{argument}` is not a flag; the source path is set by kopiaplan"),
                    "pass flags only, such as `--tags=key:value`".into(),
                )
            });
            continue;
        };
        let (written_name, value) = match body.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (body, None),
        };
        let (name, negated) = match find(written_name) {
            Some(_) => (written_name, false),
            None => match written_name.strip_prefix("no-") {
                Some(base) if find(base).is_some() => (base, true),
                _ => (written_name, false),
            },
        };
        if let Some(reason) = refused(command_path, name) {
            problems.push(problem(
                format!("`--{name}` is not allowed here: {reason}"),
                "remove this argument".into(),
            ));
            continue;
        }
        let Some((flag, is_global)) = find(name) else {
            let help = match nearest(written_name, known_names.iter().copied()) {
                Some(known) => format!("did you mean `--{known}`?"),
                None => format!("see `kopia {command_path} --help` for its flags"),
            };
            problems.push(problem(
                format!(
                    "`--{written_name}` is not a flag of `kopia {command_path}` (Kopia 0.23.1)"
                ),
                help,
            ));
            continue;
        };
        if is_global && !ALLOWED_GLOBAL.contains(&name) {
            problems.push(problem(
                format!("the global flag `--{name}` is not allowed in a mover"),
                format!(
                    "flags allowed besides those of `kopia {command_path}`: {}",
                    ALLOWED_GLOBAL.join(", ")
                ),
            ));
            continue;
        }
        let kind = flag.get("kind").and_then(Value::as_str).unwrap_or("string");
        let cumulative = flag
            .get("cumulative")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            || matches!(kind, "strings" | "durations" | "bool-list");
        if !cumulative && seen.iter().any(|s| s == name) {
            problems.push(problem(
                format!("`--{name}` is given twice; Kopia accepts it once"),
                "keep one of them".into(),
            ));
            continue;
        }
        seen.push(name.to_owned());
        if let Some(message) = check_value(flag, kind, name, negated, value) {
            problems.push(problem(message.0, message.1));
            continue;
        }
        let maximum = MAXIMUM_DURATIONS
            .iter()
            .find(|(command, flag, _, _)| *command == command_path && *flag == name);
        if let (Some((_, _, seconds, written)), Some(value)) = (maximum, value)
            && super::go_duration_seconds(value).is_some_and(|v| v > *seconds)
        {
            problems.push(problem(
                format!("`--{name}={value}` is longer than Kopia's maximum of {written}"),
                format!("write `--{name}={written}` or less"),
            ));
        }
    }
    problems
}

/// The problem with a flag's value, as (message, help).
fn check_value(
    flag: &Value,
    kind: &str,
    name: &str,
    negated: bool,
    value: Option<&str>,
) -> Option<(String, String)> {
    if kind == "bool" {
        return value.map(|v| {
            (
                format!("`--{name}` takes no value (Kopia would read `{v}` as a stray argument)"),
                format!("write `--{name}` or `--no-{name}`"),
            )
        });
    }
    if negated {
        return Some((
            format!("`--no-{name}` only exists for true/false flags"),
            format!("write `--{name}=VALUE`"),
        ));
    }
    let Some(value) = value else {
        return Some((
            format!("`--{name}` needs a value"),
            format!("write `--{name}=VALUE` as one argument"),
        ));
    };
    let ok = match kind {
        "int" | "uint" => value
            .parse::<f64>()
            .is_ok_and(|v| kind == "int" || v >= 0.0),
        "float" => value.parse::<f64>().is_ok(),
        "duration" | "durations" => is_go_duration(value),
        "enum" => {
            let values: Vec<&str> = flag
                .get("enum")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if values.contains(&value) {
                true
            } else {
                let help = match nearest(value, values.iter().copied()) {
                    Some(known) => format!("did you mean `{known}`?"),
                    None => format!("Kopia accepts {}", values.join(", ")),
                };
                return Some((format!("`{value}` is not a value of `--{name}`"), help));
            }
        }
        _ => true,
    };
    (!ok).then(|| {
        let expected = match kind {
            "int" | "uint" => "a whole number",
            "float" => "a number",
            _ => "a duration such as `30m` or `4h`",
        };
        (
            format!("`--{name}={value}`: Kopia expects {expected}"),
            format!("write `--{name}=` followed by {expected}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_args(args: &[&str]) -> Vec<ArgumentProblem> {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        check("snapshot create", &args)
    }

    #[test]
    fn accepts_real_snapshot_flags() {
        let problems = check_args(&[
            "--tags=tier:gold",
            "--tags=a|b=c \"d\" e",
            "--description=nightly $(x)",
            "--checkpoint-interval=30m",
            "--fail-fast",
            "--no-flush-per-source",
            "--upload-limit-mb=100",
            "--log-level=debug",
            "--force-hash=5",
        ]);
        assert_eq!(problems, vec![]);
    }

    #[test]
    fn checkpoint_intervals_above_kopias_maximum_are_refused() {
        assert!(check_args(&["--checkpoint-interval=45m"]).is_empty());
        assert!(check_args(&["--checkpoint-interval=30m"]).is_empty());
        for too_long in ["46m", "1h", "2700.5s", "1d"] {
            let problems = check_args(&[&format!("--checkpoint-interval={too_long}")]);
            assert_eq!(problems.len(), 1, "{too_long}");
            assert!(
                problems[0].message.contains("maximum of 45m"),
                "{too_long}: {problems:?}"
            );
        }
    }

    #[test]
    fn go_durations_have_lengths() {
        use super::super::go_duration_seconds;
        assert_eq!(go_duration_seconds("1h30m"), Some(5400.0));
        assert_eq!(go_duration_seconds("0"), Some(0.0));
        assert_eq!(go_duration_seconds("2d"), Some(172800.0));
        assert_eq!(go_duration_seconds("1500ms"), Some(1.5));
        assert_eq!(go_duration_seconds("-1m"), Some(-60.0));
        assert_eq!(go_duration_seconds("10"), None);
        assert_eq!(go_duration_seconds("m"), None);
    }

    #[test]
    fn refuses_flags_that_leak_or_redirect() {
        for flag in [
            "--password=x",
            "--config-file=/tmp/x",
            "--override-source=/x",
            "--all",
            "--parallel=3",
            "--log-dir=/x",
            "--start-time=2020-01-01 00:00:00 UTC",
            "--end-time=2020-01-01 00:00:00 UTC",
        ] {
            let problems = check_args(&[flag]);
            assert_eq!(problems.len(), 1, "{flag}");
            assert!(
                problems[0].message.contains("not allowed"),
                "{flag}: {problems:?}"
            );
        }
        assert!(
            check_args(&["-p", "secret"])[0]
                .message
                .contains("short flags")
        );
        assert!(
            check_args(&["--metrics-listen-addr=:80"])[0]
                .message
                .contains("global flag")
        );
    }

    #[test]
    fn reports_what_kopia_would_reject() {
        let p = check_args(&["--tag=x"]);
        assert_eq!(p[0].help, "did you mean `--tags`?");
        assert!(
            check_args(&["--fail-fast=false"])[0]
                .message
                .contains("takes no value")
        );
        assert!(
            check_args(&["--description"])[0]
                .message
                .contains("needs a value")
        );
        assert!(
            check_args(&["--checkpoint-interval=soon"])[0]
                .message
                .contains("duration")
        );
        assert!(
            check_args(&["--upload-limit-mb=lots"])[0]
                .message
                .contains("whole number")
        );
        let twice = check_args(&["--description=a", "--description=b"]);
        assert_eq!(twice[0].index, 1);
        assert!(twice[0].message.contains("twice"));
        assert!(check_args(&["/etc"])[0].message.contains("not a flag"));
        let enum_problem = check_args(&["--log-level=warn"]);
        assert_eq!(enum_problem[0].help, "did you mean `warning`?");
    }

    /// `--parallel` is kopiaplan's on `snapshot create` (from
    /// `parallelism`), but a restore may set it.
    #[test]
    fn parallel_is_refused_only_where_kopiaplan_sets_it() {
        let snapshot = check("snapshot create", &["--parallel=4".to_owned()]);
        assert!(snapshot[0].message.contains("not allowed"), "{snapshot:?}");
        assert!(check("restore", &["--parallel=4".to_owned()]).is_empty());
    }

    /// The flags the mover scripts pass themselves exist where they go.
    #[test]
    fn the_scripts_flags_exist_in_the_grammar() {
        let has = |command_path: &str, flag: &str| {
            flags_of(command(command_path).expect("command"))
                .any(|f| f.get("name").and_then(Value::as_str) == Some(flag))
        };
        for flag in ["override-source", "parallel", "json"] {
            assert!(has("snapshot create", flag), "{flag}");
        }
        for flag in [
            "override-username",
            "override-hostname",
            "content-cache-size-limit-mb",
            "metadata-cache-size-limit-mb",
            "check-for-updates",
        ] {
            assert!(has("repository connect", flag), "{flag}");
            assert!(has("repository create", flag), "{flag}");
        }
        for (backend, flags) in [
            (
                "s3",
                &[
                    "bucket",
                    "prefix",
                    "endpoint",
                    "disable-tls",
                    "region",
                    "root-ca-pem-path",
                ][..],
            ),
            ("gcs", &["bucket", "prefix", "credentials-file"][..]),
            ("azure", &["container", "prefix", "storage-domain"][..]),
            ("b2", &["bucket", "prefix"][..]),
            ("filesystem", &["path"][..]),
        ] {
            for flag in flags {
                assert!(
                    has(&format!("repository connect {backend}"), flag),
                    "{backend} {flag}"
                );
                assert!(
                    has(&format!("repository create {backend}"), flag),
                    "{backend} {flag}"
                );
            }
        }
        assert!(has("policy import", "from-file"));
        assert!(
            cli()["global_flags"]
                .as_array()
                .expect("flags")
                .iter()
                .any(|f| f["name"] == "file-log-level")
        );
    }
}
