//! The ready-made CI files: the GitHub workflow and the pre-commit hooks run
//! real kopiaplan subcommands with real flags, and the workflow's checks pass
//! on this repository.

use crate::support;
use crate::support::requires::requires;

use support::{kopiaplan, root, stderr, stdout};

fn yaml_file(path: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"))
}

/// Checks that `words` (`kopiaplan SUBCOMMAND ARGS…`) names a subcommand
/// whose help lists every flag used.
fn assert_real_command(words: &[&str], origin: &str) {
    assert_eq!(words.first(), Some(&"kopiaplan"), "{origin}: {words:?}");
    let subcommand = words
        .get(1)
        .unwrap_or_else(|| panic!("{origin}: no subcommand"));
    let help = kopiaplan(&[subcommand, "--help"]);
    assert!(
        help.status.success(),
        "{origin}: `kopiaplan {subcommand}` is not a subcommand: {}",
        stderr(&help)
    );
    let help = stdout(&help);
    for word in &words[2..] {
        if let Some(flag) = word.strip_prefix("--") {
            let flag = flag.split('=').next().unwrap_or(flag);
            assert!(
                help.contains(&format!("--{flag} ")) || help.contains(&format!("--{flag}\n")),
                "{origin}: `kopiaplan {subcommand}` has no flag --{flag}"
            );
        }
    }
}

/// The `kopiaplan …` command lines of the workflow's `run:` steps.
fn workflow_commands() -> Vec<String> {
    let workflow = yaml_file(".github/workflows/kopiaplan.yml");
    let mut commands = Vec::new();
    for job in workflow["jobs"].as_object().expect("jobs").values() {
        for step in job["steps"].as_array().expect("steps") {
            let Some(script) = step["run"].as_str() else {
                continue;
            };
            for line in script.replace("\\\n", " ").lines() {
                let line = line.trim();
                if line.starts_with("kopiaplan ") {
                    commands.push(line.to_owned());
                }
            }
        }
    }
    commands
}

#[test]
fn the_workflow_runs_validate_and_diff_with_real_flags() {
    let commands = workflow_commands();
    let subcommands: Vec<&str> = commands
        .iter()
        .filter_map(|c| c.split_whitespace().nth(1))
        .collect();
    assert_eq!(subcommands, ["validate", "diff", "diff"], "{commands:?}");
    assert!(
        commands.iter().any(|c| c.contains("--guard")),
        "pull requests are guarded: {commands:?}"
    );
    for command in &commands {
        let words: Vec<&str> = command.split_whitespace().collect();
        assert_real_command(&words, ".github/workflows/kopiaplan.yml");
    }
    let workflow =
        std::fs::read_to_string(root().join(".github/workflows/kopiaplan.yml")).expect("workflow");
    assert!(
        workflow.contains("cargo install --locked"),
        "kopiaplan is installed with its lock file"
    );
}

/// The workflow checks this repository: its commands pass here. The
/// guard's base branch (`base/`) is this tree itself here.
#[test]
fn the_workflow_checks_pass_on_this_repository() {
    for command in workflow_commands() {
        let command = command.replace(" base/", " ");
        assert!(
            !command.contains(['"', '\'', '$', '|', '&', ';']),
            "run the command without a shell: {command}"
        );
        let words: Vec<&str> = command.split_whitespace().skip(1).collect();
        let output = kopiaplan(&words);
        assert!(
            output.status.success(),
            "`{command}` fails here:\n{}{}",
            stdout(&output),
            stderr(&output)
        );
    }
}

#[test]
fn the_pre_commit_hooks_run_real_commands() {
    let hooks = yaml_file(".pre-commit-hooks.yaml");
    let hooks = hooks.as_array().expect("a list of hooks");
    let ids: Vec<&str> = hooks.iter().filter_map(|h| h["id"].as_str()).collect();
    assert_eq!(
        ids,
        ["kopiaplan-validate", "kopiaplan-diff", "kopiaplan-guard"]
    );
    for hook in hooks {
        let id = hook["id"].as_str().expect("id");
        assert!(
            matches!(hook["language"].as_str(), Some("rust" | "system")),
            "{id}: language"
        );
        assert_eq!(
            hook["pass_filenames"], false,
            "{id}: plans are read as a whole"
        );
        let entry = hook["entry"].as_str().expect("entry");
        let args: Vec<&str> = hook["args"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        let mut words: Vec<&str> = entry.split_whitespace().collect();
        words.extend(args);
        let subcommand = match id {
            "kopiaplan-guard" => {
                assert!(words.contains(&"--guard"), "{id}: {words:?}");
                Some("diff")
            }
            _ => id.strip_prefix("kopiaplan-"),
        };
        assert_eq!(words.get(1).copied(), subcommand, "{id}");
        assert_real_command(&words, id);
    }
}

// ---------------------------------------------------------------------------
// checkov on every golden file, against a reviewed baseline

/// The baseline of accepted checkov findings: groups headed
/// `[CHECK_ID] reason`, then one `file resource` line per accepted finding.
const CHECKOV_BASELINE: &str = ".ci/checkov-baseline.txt";
const REASON_NEEDED: &str = "REASON NEEDED: say in one line why this finding is accepted";

type Findings = std::collections::BTreeMap<String, (String, std::collections::BTreeSet<String>)>;

fn read_baseline(text: &str) -> Findings {
    let mut groups = Findings::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let (check, reason) = rest.split_once(']').expect("a `[CHECK_ID] reason` header");
            groups.insert(
                check.to_owned(),
                (reason.trim().to_owned(), Default::default()),
            );
            current = Some(check.to_owned());
        } else {
            let check = current
                .as_ref()
                .expect("a finding under a `[CHECK_ID]` header");
            groups
                .get_mut(check)
                .expect("group")
                .1
                .insert(line.to_owned());
        }
    }
    groups
}

fn write_baseline(groups: &Findings) -> String {
    let mut text = String::from(
        "# checkov findings on golden/ that are accepted, each check with its reason.\n\
         # A finding not listed here fails `cargo test --test it ci::`; regenerate with\n\
         # KOPIAPLAN_UPDATE_CHECKOV=1 and give every new check a reason.\n",
    );
    for (check, (reason, findings)) in groups {
        text.push_str(&format!("\n[{check}] {reason}\n"));
        for finding in findings {
            text.push_str(finding);
            text.push('\n');
        }
    }
    text
}

#[test]
fn checkov_finds_nothing_in_the_golden_files_beyond_the_reviewed_baseline() {
    requires!(Tool("checkov"));
    let out = std::process::Command::new("checkov")
        .args([
            "--directory",
            "golden",
            "--framework",
            "kubernetes",
            "--skip-download",
            "--quiet",
            "--compact",
            "--output",
            "json",
        ])
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("checkov is missing ({e}): run .ci/install-tools"));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "checkov gave no JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let reports = match report {
        serde_json::Value::Array(reports) => reports,
        single => vec![single],
    };
    let mut found = Findings::new();
    for report in &reports {
        for failed in report["results"]["failed_checks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let check = failed["check_id"].as_str().unwrap_or_default().to_owned();
            let finding = format!(
                "{} {}",
                failed["file_path"]
                    .as_str()
                    .unwrap_or_default()
                    .trim_start_matches('/'),
                failed["resource"].as_str().unwrap_or_default()
            );
            found.entry(check).or_default().1.insert(finding);
        }
    }
    assert!(
        !found.is_empty(),
        "checkov reported nothing at all: {reports:?}"
    );
    let path = root().join(CHECKOV_BASELINE);
    let baseline = read_baseline(&std::fs::read_to_string(&path).unwrap_or_default());
    if std::env::var_os("KOPIAPLAN_UPDATE_CHECKOV").is_some() {
        for (check, (reason, _)) in found.iter_mut() {
            *reason = baseline
                .get(check)
                .map(|(r, _)| r.clone())
                .unwrap_or_else(|| REASON_NEEDED.to_owned());
        }
        std::fs::write(&path, write_baseline(&found)).expect("write the baseline");
    }
    let mut new = Vec::new();
    for (check, (_, findings)) in &found {
        let accepted = baseline.get(check);
        for finding in findings {
            if !accepted.is_some_and(|(_, a)| a.contains(finding)) {
                new.push(format!("[{check}] {finding}"));
            }
        }
    }
    assert!(
        new.is_empty(),
        "checkov findings that are not in {CHECKOV_BASELINE}: fix them, or accept them \
         with a reason (KOPIAPLAN_UPDATE_CHECKOV=1):\n{}",
        new.join("\n")
    );
    for (check, (reason, _)) in &baseline {
        assert!(
            !reason.is_empty() && !reason.starts_with("REASON NEEDED"),
            "{CHECKOV_BASELINE}: [{check}] has no reason"
        );
    }
}
