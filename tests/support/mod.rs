//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod pod;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The crate root: tests run there, so paths in diagnostics and source
/// annotations are the relative paths users see (`examples/one-app.yaml`).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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

/// A test tool the suite needs. A missing tool fails the test loudly:
/// these checks must never be skipped without anyone noticing.
pub fn require_tool(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "`{name}` is not installed, and this test needs it. Run `.ci/install-tools` \
             (apt: shellcheck yamllint; pip: kubernetes-validate) and try again."
        )
    })
}

/// A fresh scratch directory under the target directory.
pub fn scratch(name: &str) -> PathBuf {
    let dir = root()
        .join("target")
        .join("test-scratch")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}
