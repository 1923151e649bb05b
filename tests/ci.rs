//! The ready-made CI files: the GitHub workflow and the pre-commit hooks run
//! real kopiaplan subcommands with real flags, and the workflow's checks pass
//! on this repository.

mod support;

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
    assert_eq!(subcommands, ["validate", "diff"], "{commands:?}");
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

/// The workflow checks this repository: its commands pass here.
#[test]
fn the_workflow_checks_pass_on_this_repository() {
    for command in workflow_commands() {
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
    assert_eq!(ids, ["kopiaplan-validate", "kopiaplan-diff"]);
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
        assert_eq!(words.get(1).copied(), id.strip_prefix("kopiaplan-"), "{id}");
        assert_real_command(&words, id);
    }
}
