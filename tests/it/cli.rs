//! The command line as users and CI pipelines meet it: inputs, exit codes,
//! diagnostics, and nothing written when anything is wrong.

use crate::support;
use crate::support::requires::requires;
use crate::test::{Plan, Test};

use support::{kopiaplan, kopiaplan_with_stdin, scratch, stderr, stdout};

#[test]
fn reads_standard_input() {
    Test::new()
        .args(["compile", "-"])
        .stdin(Plan::nightly())
        .stdout_has("kind: CronJob")
        .stdout_has("kopiaplan.dev/source: <stdin>:13")
        .run();
}

#[test]
fn reads_directories_recursively_and_only_yaml_files() {
    Test::new()
        .file("a/b/plan.yml", Plan::nightly())
        .file("a/notes.txt", "not: yaml: at: all: [")
        .args(["compile", "{dir}"])
        .stdout_has("name: nightly-web-data-backup")
        .run();
}

#[test]
fn every_error_is_reported_in_one_run_with_position_path_and_fix() {
    let first = Plan::nightly().replace(
        "    - name: web-data\n      pvc: web-data\n",
        "    - name: web-data\n      pvc: web-data\n      schedul: \"@daily\"\n",
    );
    let second = Plan::nightly()
        .replace("name: nightly", "name: weekly")
        .replace(
            "copyMethod: Direct",
            "copyMethod: Direct\n    timeZone: Europe/Berln",
        );
    Test::new()
        .file("one.yaml", first)
        .file("two.yaml", second)
        .args(["validate", "{dir}"])
        .status(1)
        .stderr_has("one.yaml:15:7")
        .stderr_has("15 |       schedul: \"@daily\"")
        .stderr_has("field: spec.backups[0].schedul")
        .stderr_has("did you mean `schedule`?")
        .stderr_has("two.yaml:12:15")
        .stderr_has("did you mean `Europe/Berlin`?")
        .stderr_has("2 problems found")
        .stderr_has("error[unknown-field]:")
        .stderr_has("error[invalid-schedule]:")
        .run();
}

#[test]
fn json_diagnostics_are_one_object_per_line() {
    let ran = Test::new()
        .args(["validate", "--diagnostics", "json", "-"])
        .stdin(Plan::nightly().replace("pvc: web-data", "pvc: web-data\n      compression: zstdd"))
        .status(1)
        .run();
    let lines: Vec<serde_json::Value> = ran
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["file"], "<stdin>");
    assert_eq!(lines[0]["line"], 15);
    assert_eq!(lines[0]["fieldPath"], "spec.backups[0].compression");
    assert_eq!(lines[0]["help"], "did you mean `zstd`?");
}

#[test]
fn an_error_writes_nothing_and_keeps_the_previous_output() {
    let ran = Test::new()
        .file("out.yaml", "previous\n")
        .args(["compile", "-", "-o", "{dir}/out.yaml"])
        .stdin(Plan::nightly().replace("kopia-config", "Kopia_Config"))
        .status(1)
        .stdout("")
        .run();
    let target = ran.dir.join("out.yaml");
    assert_eq!(
        std::fs::read_to_string(&target).expect("read"),
        "previous\n"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&ran.dir).expect("dir").collect();
    assert_eq!(leftovers.len(), 1, "a temporary file was left behind");

    Test::new()
        .args(["compile", "-", "-o", target.to_str().expect("utf-8")])
        .stdin(Plan::nightly())
        .run();
    assert!(
        std::fs::read_to_string(&target)
            .expect("read")
            .contains("kind: CronJob")
    );
}

#[test]
fn usage_errors_exit_with_2() {
    Test::new().args(["compile"]).status(2).run();
    Test::new()
        .args(["compile", "--no-such-flag", "x.yaml"])
        .status(2)
        .run();
    Test::new().args(["frobnicate"]).status(2).run();
}

#[test]
fn a_missing_file_is_an_input_error() {
    Test::new()
        .args(["compile", "no/such/plan.yaml"])
        .status(1)
        .stderr_has("cannot read no/such/plan.yaml")
        .stderr_has("error[unreadable-input]:")
        .run();
}

#[test]
fn duplicate_keys_are_refused() {
    Test::new()
        .args(["compile", "-"])
        .stdin(Plan::nightly().replace("  name: nightly\n", "  name: nightly\n  name: again\n"))
        .status(1)
        .stderr_has("error[invalid-yaml]")
        .stderr_has("the key `name` appears twice")
        .stderr_has("<stdin>:5:")
        .run();
}

#[test]
fn yaml_1_1_ambiguous_scalars_are_refused() {
    Test::new()
        .args(["compile", "-"])
        .stdin(Plan::nightly().replace(
            "pvc: web-data",
            "pvc: web-data\n      mover:\n        podLabels: {backup: yes}",
        ))
        .status(1)
        .stderr_has("`yes` is a boolean (true) to kubectl")
        .stderr_has("\"yes\"")
        .stderr_has("error[ambiguous-scalar]: `yes`")
        .run();
}

#[test]
fn oversized_inputs_are_refused_without_reading_them_whole() {
    let dir = scratch("oversized");
    let big = dir.join("big.yaml");
    let file = std::fs::File::create(&big).expect("create");
    file.set_len(kopiaplan::load::MAX_FILE_BYTES + 1)
        .expect("sparse file");
    Test::new()
        .args(["compile", big.to_str().expect("utf-8")])
        .status(1)
        .stderr_has("larger than the limit of 32 MiB")
        .stderr_has("error[unreadable-input]:")
        .stderr_has("help: split it into several files and give them all as inputs")
        .run();
}

#[test]
fn alias_bombs_are_refused() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..15 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    Test::new()
        .args(["compile", "-"])
        .stdin(text)
        .status(1)
        .stderr_has("alias")
        .stderr_has("error[invalid-yaml]:")
        .run();
}

/// A file the CLI cannot read is named, with why and what to do: a
/// symbolic link that points at itself, one found in a directory (a link
/// back up the tree is not followed, or the walk would never end), and a
/// file whose read fails (`/proc/self/mem`, which even root cannot read
/// from its start).
#[test]
fn a_file_that_cannot_be_read_is_named_with_what_to_do() {
    let dir = scratch("unreadable");
    let tree = dir.join("tree");
    std::fs::create_dir_all(&tree).expect("tree");
    let link = |target: &str, at: &std::path::Path| {
        let _ = std::fs::remove_file(at);
        std::os::unix::fs::symlink(target, at).expect("symlink");
    };
    link("loop.yaml", &dir.join("loop.yaml"));
    link("self.yaml", &tree.join("self.yaml"));
    link("..", &tree.join("up"));
    let path = |p: &std::path::Path| p.to_str().expect("UTF-8").to_owned();
    for (input, named) in [
        (path(&dir.join("loop.yaml")), "loop.yaml"),
        (path(&tree), "self.yaml"),
        ("/proc/self/mem".to_owned(), "/proc/self/mem"),
    ] {
        Test::new()
            .args(["compile", &input])
            .status(1)
            .stderr_has("error[unreadable-input]: cannot read ")
            .stderr_has(named)
            .stderr_has("help: name a regular file (or a link to one) that can be read")
            .stderr_has("error: 1 problem found; nothing was written")
            .run();
    }
}

/// The limits on one file's documents and depth are named in the user's
/// words, with what to change, whichever command reads the file.
#[test]
fn a_file_past_a_limit_is_refused_with_the_limit_named() {
    let documents: String = (0..1025)
        .map(|i| format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\n"))
        .collect();
    Test::new()
        .args(["compile", "-"])
        .stdin(documents)
        .status(1)
        .stderr_has("error[invalid-yaml]: invalid YAML: the file holds more than 1024 documents")
        .stderr_has("<stdin>:4097:1")
        .stderr_has("help: split it into several files and give them all as inputs")
        .run();
    // Far deeper than the limit: the reader meets its own cap on flow
    // collections first, and says so in the same words.
    for depth in [70, 100_000] {
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let deep = format!("a: {nested}\n");
        let plan = format!(
            "apiVersion: kopiaplan.dev/v1alpha1\nkind: BackupPlan\nmetadata: {{name: p}}\nspec: {nested}\n"
        );
        let runs: [(&[&str], &String); 2] = [(&["compile", "-"], &deep), (&["post-render"], &plan)];
        for (args, text) in runs {
            let command = args[0];
            let output = kopiaplan_with_stdin(args, Some(text));
            let error = stderr(&output);
            let shown = error.get(..600).unwrap_or(&error);
            assert_eq!(output.status.code(), Some(1), "{command} {depth}: {shown}");
            assert!(
                error.contains("the document is nested more than 64 levels deep")
                    && error.contains("help: flatten the document"),
                "{command} {depth}: {shown}"
            );
        }
    }
}

/// A document kopiaplan does not compile, after the plan (line 16).
const DEPLOYMENT: &str = "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n";

#[test]
fn other_documents_are_reported_as_left_out() {
    Test::new()
        .args(["compile", "-"])
        .stdin(Plan::nightly().then(DEPLOYMENT))
        .stdout_lacks("kind: Deployment")
        .stderr_has("warning[document-not-compiled]: a `Deployment` document is not compiled")
        .run();
}

#[test]
fn json_output_is_a_kubernetes_list() {
    let ran = Test::new()
        .args(["compile", "--format", "json", "-"])
        .stdin(Plan::nightly())
        .run();
    let list: serde_json::Value = serde_json::from_str(&ran.stdout).expect("JSON");
    assert_eq!(list["kind"], "List");
    // The backup's four objects and its repository's quick and full
    // maintenance CronJobs and ServiceAccounts.
    assert_eq!(list["items"].as_array().map(Vec::len), Some(8));
}

#[test]
fn the_checked_in_schema_is_current() {
    let output = kopiaplan(&["schema"]);
    assert!(output.status.success());
    let path = support::root().join("schemas/backupplan-v1alpha1.json");
    if std::env::var_os("KOPIAPLAN_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, stdout(&output)).expect("write schema");
    }
    let checked_in = std::fs::read_to_string(&path).expect("schemas/backupplan-v1alpha1.json");
    assert!(
        checked_in == stdout(&output),
        "schemas/backupplan-v1alpha1.json is stale: run `KOPIAPLAN_UPDATE_GOLDEN=1 cargo test --test it cli::`"
    );
    let schema: serde_json::Value = serde_json::from_str(&checked_in).expect("JSON");
    for field in ["repositories", "defaults", "backups", "kopia", "launcher"] {
        assert!(
            schema["$defs"]["PlanSpec"]["properties"]
                .get(field)
                .is_some(),
            "{field}"
        );
    }
}

/// The keys every JSON diagnostic has, `null` where they do not apply.
const DIAGNOSTIC_KEYS: [&str; 7] = [
    "severity",
    "file",
    "line",
    "column",
    "fieldPath",
    "message",
    "help",
];

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|line| {
            let value: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|_| panic!("not a JSON line: {line}"));
            for key in DIAGNOSTIC_KEYS {
                assert!(value.get(key).is_some(), "no `{key}` in {line}");
            }
            value
        })
        .collect()
}

#[test]
fn every_command_that_reads_plans_prints_json_diagnostics() {
    let dir = scratch("json-everywhere");
    let plan = dir.join("plan.yaml");
    let bad = Plan::nightly().replace("pvc: web-data", "pvc: web-data\n      compression: zstdd");
    std::fs::write(&plan, bad.to_string()).expect("write");
    let plan = plan.to_str().expect("utf-8");
    let commands: [&[&str]; 4] = [
        &["compile"],
        &["validate"],
        &["diff", "--against", "golden/one-app.yaml"],
        &["explain", "--now", "2026-03-27T12:00:00Z"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.extend([plan, "--diagnostics", "json"]);
        let output = kopiaplan(&args);
        assert_eq!(output.status.code(), Some(1), "{command:?}");
        assert!(stdout(&output).is_empty(), "{command:?}");
        let lines = json_lines(&stderr(&output));
        assert_eq!(lines.len(), 1, "{command:?}: {lines:?}");
        let d = &lines[0];
        assert_eq!(d["severity"], "error", "{command:?}");
        assert_eq!(d["file"], plan, "{command:?}");
        assert_eq!(
            (d["line"].as_u64(), d["column"].as_u64()),
            (Some(15), Some(20)),
            "{command:?}"
        );
        assert_eq!(d["fieldPath"], "spec.backups[0].compression", "{command:?}");
        assert_eq!(d["code"], "not-a-kopia-value", "{command:?}");
        assert!(
            d["message"].as_str().is_some_and(|m| m.contains("zstdd")),
            "{d}"
        );
        assert_eq!(d["help"], "did you mean `zstd`?", "{command:?}");

        let help = stdout(&kopiaplan(&[command[0], "--help"]));
        assert!(
            help.contains("--diagnostics <DIAGNOSTICS>"),
            "{command:?}: {help}"
        );
    }
}

#[test]
fn warnings_are_json_lines_too() {
    let ran = Test::new()
        .args(["validate", "-", "--diagnostics", "json"])
        .stdin(Plan::nightly().then(DEPLOYMENT))
        .run();
    let lines = json_lines(&ran.stderr);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["severity"], "warning");
    assert_eq!(lines[0]["line"], 16);
}

#[test]
fn problems_without_a_position_are_json_lines_too() {
    let dir = scratch("json-write-failure").join("mine");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("notes.txt"), "keep\n").expect("write");
    let output = kopiaplan_with_stdin(
        &[
            "compile",
            "-",
            "--output-dir",
            dir.to_str().expect("utf-8"),
            "--diagnostics",
            "json",
        ],
        Some(&Plan::nightly().to_string()),
    );
    assert_eq!(output.status.code(), Some(1));
    let lines = json_lines(&stderr(&output));
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["severity"], "error");
    assert_eq!(lines[0]["file"], serde_json::Value::Null);
    assert_eq!(lines[0]["code"], "output-directory-refused", "{}", lines[0]);
    assert!(
        lines[0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("refusing to replace")),
        "{}",
        lines[0]
    );
    let missing = kopiaplan(&[
        "diff",
        "examples/one-app.yaml",
        "--against",
        "no/such/output",
        "--diagnostics",
        "json",
    ]);
    assert_eq!(missing.status.code(), Some(1));
    let lines = json_lines(&stderr(&missing));
    assert_eq!(lines[0]["code"], "previous-output-unreadable");
    assert!(
        lines[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no/such/output"))
    );
}

/// Writes `Plan::nightly()` into a fresh scratch directory and returns both paths.
fn plan_in(name: &str) -> (std::path::PathBuf, String) {
    let dir = scratch(name);
    let plan = dir.join("plan.yaml");
    std::fs::write(&plan, Plan::nightly().to_string()).expect("write plan");
    (dir, plan.to_str().expect("utf-8").to_owned())
}

#[test]
fn output_to_a_device_is_written_in_place_and_the_device_stays() {
    requires!(Root);
    use std::os::unix::fs::FileTypeExt as _;
    let (dir, plan) = plan_in("output-device");
    // A null device of the test's own (root can make one; CI runs as root).
    let null = dir.join("null");
    let made = std::process::Command::new("mknod")
        .args([null.to_str().expect("utf-8"), "c", "1", "3"])
        .status()
        .expect("mknod runs");
    assert!(made.success(), "mknod needs root, which this test runs as");
    std::fs::set_permissions(&null, std::os::unix::fs::PermissionsExt::from_mode(0o666))
        .expect("chmod");
    let output = kopiaplan(&["compile", &plan, "-o", null.to_str().expect("utf-8")]);
    assert!(output.status.success(), "{}", stderr(&output));
    let metadata = std::fs::symlink_metadata(&null).expect("still there");
    assert!(
        metadata.file_type().is_char_device(),
        "the device was replaced by a {:?}",
        metadata.file_type()
    );
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&metadata.permissions()) & 0o777,
        0o666,
        "the device's mode changed"
    );
}

#[test]
fn output_to_a_fifo_reaches_its_reader_and_the_fifo_stays() {
    use std::os::unix::fs::FileTypeExt as _;
    let (dir, plan) = plan_in("output-fifo");
    let fifo = dir.join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).expect("read the fifo"))
    };
    let output = kopiaplan(&["compile", &plan, "-o", fifo.to_str().expect("utf-8")]);
    assert!(output.status.success(), "{}", stderr(&output));
    // Checked before waiting for the reader, which a replaced FIFO leaves
    // blocked for ever.
    let metadata = std::fs::symlink_metadata(&fifo).expect("still there");
    assert!(metadata.file_type().is_fifo(), "{:?}", metadata.file_type());
    let received = reader.join().expect("reader");
    let expected = stdout(&kopiaplan(&["compile", &plan]));
    assert_eq!(received, expected);
}

#[test]
fn output_through_a_symbolic_link_keeps_the_link() {
    let (dir, plan) = plan_in("output-symlink");
    let real = dir.join("real.yaml");
    std::fs::write(&real, "old").expect("write");
    let link = dir.join("link.yaml");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    let output = kopiaplan(&["compile", &plan, "-o", link.to_str().expect("utf-8")]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("link")
            .file_type()
            .is_symlink()
    );
    let written = std::fs::read_to_string(&real).expect("read");
    assert!(written.contains("kind: CronJob"), "{written}");
}

#[test]
fn an_output_never_replaces_an_input() {
    let (dir, plan) = plan_in("output-input");
    let output = kopiaplan(&["compile", &plan, "-o", &plan, "--diagnostics", "json"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("\"code\":\"output-replaces-input\""),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        std::fs::read_to_string(&plan).expect("plan"),
        Plan::nightly().to_string()
    );

    // The same through another spelling of the path.
    let dotted = format!("{}/./plan.yaml", dir.display());
    let output = kopiaplan(&["compile", &plan, "-o", &dotted]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        std::fs::read_to_string(&plan).expect("plan"),
        Plan::nightly().to_string()
    );

    // --output-dir replaces a whole directory: one that holds an input is
    // refused, even when kopiaplan wrote it before.
    let out = dir.join("out");
    let first = kopiaplan(&[
        "compile",
        &plan,
        "--output-dir",
        out.to_str().expect("utf-8"),
    ]);
    assert!(first.status.success(), "{}", stderr(&first));
    let inside = out.join("plan.yaml");
    std::fs::write(&inside, Plan::nightly().to_string()).expect("write");
    let output = kopiaplan(&[
        "compile",
        inside.to_str().expect("utf-8"),
        "--output-dir",
        out.to_str().expect("utf-8"),
        "--diagnostics",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("\"code\":\"output-replaces-input\""),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        std::fs::read_to_string(&inside).expect("still there"),
        Plan::nightly().to_string()
    );
}

/// Found by fuzzing: a name with a multi-byte character where a long name
/// is shortened used to panic in every command.
#[test]
fn a_long_name_with_a_multibyte_character_is_a_diagnostic_not_a_panic() {
    let name = format!("{}é{}", "a".repeat(40), "b".repeat(4));
    let plan = Plan::nightly()
        .replace("name: nightly", &format!("name: {name}"))
        .to_string();
    for command in ["compile", "validate", "explain"] {
        let output = kopiaplan_with_stdin(&[command, "-"], Some(&plan));
        assert_eq!(
            output.status.code(),
            Some(1),
            "{command}: {}",
            stderr(&output)
        );
        assert!(stderr(&output).contains("error"), "{}", stderr(&output));
        assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
    }
}
