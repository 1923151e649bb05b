//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod apiserver;
pub mod kopia;
pub mod kubectl;
pub mod pod;
pub mod requires;
pub mod servers;
pub mod tree;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The crate root: tests run there, so paths in diagnostics and source
/// annotations are the relative paths users see (`examples/one-app.yaml`).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compiles a plan with the real binary, as a user would, and returns its
/// objects (`compile --format json`); `name` names the scratch directory.
#[track_caller]
pub fn compile_json(name: &str, plan: &str) -> serde_json::Value {
    let dir = scratch(&format!("plan-{name}"));
    let path = dir.join("plan.yaml");
    std::fs::write(&path, plan).expect("write plan");
    let out = kopiaplan(&["compile", "--format", "json", path.to_str().expect("utf-8")]);
    assert!(out.status.success(), "compile failed:\n{}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("compile --format json gives JSON")
}

/// Runs the `kopiaplan` binary with `args` in the crate root.
pub fn kopiaplan(args: &[&str]) -> Output {
    kopiaplan_with_stdin(args, None)
}

pub fn kopiaplan_with_stdin(args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut command = Command::new(env!("CARGO_BIN_EXE_kopiaplan"));
    command.args(args).current_dir(root());
    command.stdin(if stdin.is_some() {
        std::process::Stdio::piped()
    } else {
        std::process::Stdio::null()
    });
    command.stdout(std::process::Stdio::piped());
    command.stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("kopiaplan runs");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write stdin");
    }
    child.wait_with_output().expect("kopiaplan finishes")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The example plans, sorted.
pub fn examples() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .expect("examples/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    found.sort();
    found
}

/// The golden file of an example.
pub fn golden_of(example: &Path) -> PathBuf {
    root()
        .join("golden")
        .join(example.file_name().expect("file name"))
}

/// A tool the test needs, found as `requires!(Tool(…))` finds it. Missing,
/// the test fails loudly: tests state their tools first with `requires!`,
/// and this is the backstop for one that forgot.
#[track_caller]
pub fn require_tool(name: &str) -> PathBuf {
    requires::find_tool(name).unwrap_or_else(|| {
        panic!(
            "this test needs {}: run `.ci/install-tools` and try again.",
            requires::describe_tool(name)
        )
    })
}

/// kpt, found as `requires!(Kpt)` finds it. Missing, the test fails loudly.
#[track_caller]
pub fn require_kpt() -> PathBuf {
    requires::find_kpt().unwrap_or_else(|e| panic!("this test needs {e}"))
}

/// PATH with the directory of the `kopiaplan` under test first, so that
/// scripts and tools that run `kopiaplan` by name find this build.
pub fn path_with_kopiaplan() -> std::ffi::OsString {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_kopiaplan"));
    let mut paths = vec![binary.parent().expect("bin dir").to_path_buf()];
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(paths).expect("PATH")
}

/// Runs a command with `stdin` (or none) and returns what it did.
pub fn run(command: &mut Command, stdin: Option<&[u8]>) -> Output {
    use std::io::Write;
    command.stdin(if stdin.is_some() {
        std::process::Stdio::piped()
    } else {
        std::process::Stdio::null()
    });
    command.stdout(std::process::Stdio::piped());
    command.stderr(std::process::Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        let bytes = bytes.to_vec();
        // Write from a thread: a large input must not dead-lock against a
        // full stdout pipe.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
    }
    child.wait_with_output().expect("the command finishes")
}

/// A fresh scratch directory under the target directory, named after the
/// calling test file and `name`. Every area runs in one process, so the
/// file's name keeps two areas' `scratch("out")` apart.
#[track_caller]
pub fn scratch(name: &str) -> PathBuf {
    scratch_at(std::panic::Location::caller(), name)
}

/// `scratch` for the test file of `caller`.
pub fn scratch_at(caller: &std::panic::Location<'_>, name: &str) -> PathBuf {
    let caller = Path::new(caller.file());
    let area = caller
        .file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or("test");
    let dir = root()
        .join("target")
        .join("test-scratch")
        .join(format!("{area}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Compiles plan text in memory: the objects as JSON, or the rendered
/// diagnostics.
pub fn compile_text(text: &str) -> Result<Vec<serde_json::Value>, String> {
    let mut sources = kopiaplan::diagnostics::SourceMap::default();
    sources.add("plan.yaml".into(), text.into());
    match kopiaplan::compile_sources(&sources) {
        Ok(compiled) => Ok(compiled
            .objects
            .into_iter()
            .map(kopiaplan::output::Object::into_value)
            .collect()),
        Err(diagnostics) => Err(diagnostics
            .iter()
            .map(|d| kopiaplan::diagnostics::render(d, &sources))
            .collect()),
    }
}

/// The pod spec of a CronJob or Job.
pub fn pod_spec(object: &serde_json::Value) -> &serde_json::Value {
    match object["kind"].as_str() {
        Some("CronJob") => &object["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        _ => &object["spec"]["template"]["spec"],
    }
}

/// The literal value of an environment variable of a pod's first container.
pub fn env_value<'a>(pod: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    pod["containers"][0]["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)?
        .get("value")?
        .as_str()
}

/// tests/fixtures/status/healthy.json (the cluster's state as `kubectl get
/// -o json` gives it) with `fields` (`"key":value,` JSON pairs) added to its
/// maintenance result line; without fields, the fixture as it is.
pub fn cluster_state_with_maintenance_fields(fields: &str) -> String {
    let fixture = std::fs::read_to_string(root().join("tests/fixtures/status/healthy.json"))
        .expect("the status fixture");
    let message = r#"\"message\":\"full maintenance done as maintenance@kopiaplan\"}"#;
    assert!(
        fixture.contains(message),
        "the fixture's maintenance result line"
    );
    let fields = fields.replace('"', "\\\"");
    fixture.replacen(message, &format!("{fields}{message}"), 1)
}
