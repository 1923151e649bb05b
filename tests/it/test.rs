//! The test builder: a case is its input and what a user would see, in a
//! few lines. `Test` runs the `kopiaplan` binary as a user or a pipeline
//! would (arguments, stdin, files; exit code, stdout, stderr); `Plan`
//! is plan text, edited by checked replacements, that compiles in memory
//! to the objects or the rendered diagnostics.
//!
//! ```ignore
//! Test::new()
//!     .args(["validate", "-"])
//!     .stdin(Plan::nightly().replace("kopia-config", "Kopia_Config"))
//!     .status(1)
//!     .stderr_has("field: spec.repositories[0].secretName")
//!     .run();
//! ```

use std::panic::Location;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use crate::support;

/// A run of the `kopiaplan` binary in the crate root, and what it must do.
/// Nothing runs until `run`, which checks every expectation and shows the
/// whole output when one fails.
#[must_use = "a Test checks nothing until `.run()`"]
pub struct Test {
    caller: &'static Location<'static>,
    args: Vec<String>,
    stdin: Option<String>,
    files: Vec<(String, String)>,
    status: i32,
    stdout: Vec<Expect>,
    stderr: Vec<Expect>,
}

enum Expect {
    Is(String),
    Has(String),
    Lacks(String),
}

/// What a run printed, for checks beyond the builder's.
pub struct Ran {
    pub stdout: String,
    pub stderr: String,
    /// The case's scratch directory (where `file` wrote, `{dir}` in args).
    pub dir: PathBuf,
}

impl Test {
    /// A run that is expected to succeed (exit 0) unless `status` says
    /// otherwise.
    #[track_caller]
    pub fn new() -> Test {
        Test {
            caller: Location::caller(),
            args: Vec::new(),
            stdin: None,
            files: Vec::new(),
            status: 0,
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }

    /// Command-line arguments. `{dir}` stands for the case's scratch
    /// directory, where `file` writes.
    pub fn args<const N: usize>(mut self, args: [&str; N]) -> Test {
        self.args.extend(args.iter().map(|&arg| arg.to_owned()));
        self
    }

    /// Text on standard input (read as `-`).
    pub fn stdin(mut self, text: impl Into<String>) -> Test {
        self.stdin = Some(text.into());
        self
    }

    /// A file of the case's scratch directory, at `path` below `{dir}`.
    pub fn file(mut self, path: &str, text: impl Into<String>) -> Test {
        self.files.push((path.to_owned(), text.into()));
        self
    }

    /// The exit code the run must end with (0 unless set).
    pub fn status(mut self, code: i32) -> Test {
        self.status = code;
        self
    }

    /// Standard output must be exactly `text`.
    pub fn stdout(mut self, text: &str) -> Test {
        self.stdout.push(Expect::Is(text.to_owned()));
        self
    }

    /// Standard output must contain `text`.
    pub fn stdout_has(mut self, text: &str) -> Test {
        self.stdout.push(Expect::Has(text.to_owned()));
        self
    }

    /// Standard output must not contain `text`.
    pub fn stdout_lacks(mut self, text: &str) -> Test {
        self.stdout.push(Expect::Lacks(text.to_owned()));
        self
    }

    /// Standard error must contain `text`.
    pub fn stderr_has(mut self, text: &str) -> Test {
        self.stderr.push(Expect::Has(text.to_owned()));
        self
    }

    /// Runs the binary and checks the exit code and every expectation.
    #[track_caller]
    pub fn run(self) -> Ran {
        // One directory per run: cases in one file may run at once.
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let run = RUNS.fetch_add(1, Ordering::Relaxed);
        let dir = support::scratch_at(self.caller, &format!("case-{}-{run}", self.caller.line()));
        for (path, text) in &self.files {
            let path = dir.join(path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("the file's directory");
            }
            std::fs::write(&path, text).expect("write the case's file");
        }
        let dir_text = dir.to_str().expect("a UTF-8 scratch path");
        let args: Vec<String> = self
            .args
            .iter()
            .map(|arg| arg.replace("{dir}", dir_text))
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = support::kopiaplan_with_stdin(&args, self.stdin.as_deref());
        let ran = Ran {
            stdout: support::stdout(&output),
            stderr: support::stderr(&output),
            dir,
        };
        let mut failures = Vec::new();
        if output.status.code() != Some(self.status) {
            failures.push(format!(
                "exit status {:?}, expected {}",
                output.status.code(),
                self.status
            ));
        }
        check("stdout", &ran.stdout, &self.stdout, &mut failures);
        check("stderr", &ran.stderr, &self.stderr, &mut failures);
        assert!(
            failures.is_empty(),
            "kopiaplan {}\n{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            args.join(" "),
            failures.join("\n"),
            ran.stdout,
            ran.stderr
        );
        ran
    }
}

fn check(stream: &str, actual: &str, expected: &[Expect], failures: &mut Vec<String>) {
    for expect in expected {
        match expect {
            Expect::Is(text) if actual != text => {
                failures.push(format!("{stream} is not exactly:\n{text}"));
            }
            Expect::Has(text) if !actual.contains(text.as_str()) => {
                failures.push(format!("{stream} lacks: {text}"));
            }
            Expect::Lacks(text) if actual.contains(text.as_str()) => {
                failures.push(format!("{stream} has what it must not: {text}"));
            }
            _ => {}
        }
    }
}

/// Plan text for a case, built from a starting point by edits that must
/// apply: a `replace` whose text is not there fails the test, instead of
/// silently testing the unedited plan.
#[derive(Clone)]
pub struct Plan(String);

impl Plan {
    /// The plan most cases start from: BackupPlan `nightly` in `apps`, one
    /// repository `main` (Secret `kopia-config`), `copyMethod: Direct` by
    /// default, and one backup `web-data` of the claim `web-data`
    /// (line 13 is its `- name: web-data`).
    pub fn nightly() -> Plan {
        Plan::nightly_with_backups("    - name: web-data\n      pvc: web-data\n")
    }

    /// `nightly` with `backups` (YAML list items, indented four spaces)
    /// as its backups; the first starts on line 13.
    pub fn nightly_with_backups(backups: &str) -> Plan {
        Plan(format!(
            "apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: nightly
  namespace: apps
spec:
  repositories:
    - name: main
      secretName: kopia-config
  defaults:
    copyMethod: Direct
  backups:
{backups}"
        ))
    }

    /// Any input text: BackupPlans, VolSync objects, context objects.
    pub fn text(text: impl Into<String>) -> Plan {
        Plan(text.into())
    }

    /// `from` replaced by `to`; `from` must be in the text.
    #[track_caller]
    pub fn replace(self, from: &str, to: &str) -> Plan {
        assert!(
            self.0.contains(from),
            "the edit does not apply: {from:?} is not in\n{}",
            self.0
        );
        Plan(self.0.replace(from, to))
    }

    /// More documents after this text.
    pub fn then(self, more: &str) -> Plan {
        Plan(format!("{}{more}", self.0))
    }

    /// Compiles in memory (as `plan.yaml`): the objects, or the test fails
    /// with the diagnostics.
    #[track_caller]
    pub fn objects(&self) -> Objects {
        match support::compile_text(&self.0) {
            Ok(objects) => Objects(objects),
            Err(diagnostics) => panic!("the plan does not compile:\n{diagnostics}\n{}", self.0),
        }
    }

    /// Compiles in memory and expects errors: the rendered diagnostics.
    #[track_caller]
    pub fn errors(&self) -> Diagnostics {
        match support::compile_text(&self.0) {
            Ok(_) => panic!("the plan compiles, and it must not:\n{}", self.0),
            Err(diagnostics) => Diagnostics(diagnostics),
        }
    }
}

impl From<Plan> for String {
    fn from(plan: Plan) -> String {
        plan.0
    }
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Rendered diagnostics of a compile that failed.
pub struct Diagnostics(pub String);

impl Diagnostics {
    /// The diagnostics must contain `text`.
    #[track_caller]
    pub fn has(&self, text: &str) -> &Diagnostics {
        assert!(self.0.contains(text), "no {text:?} in:\n{}", self.0);
        self
    }

    /// The diagnostics must not contain `text`.
    #[track_caller]
    pub fn lacks(&self, text: &str) -> &Diagnostics {
        assert!(!self.0.contains(text), "{text:?} in:\n{}", self.0);
        self
    }
}

/// The compiled objects, as JSON.
pub struct Objects(pub Vec<Value>);

impl Objects {
    /// The object of `kind` named `name`; the test fails, listing what
    /// there is, when there is none.
    #[track_caller]
    pub fn named(&self, kind: &str, name: &str) -> &Value {
        self.0
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name} in {:#?}", self.names()))
    }

    /// The objects of `kind`, in output order.
    pub fn of_kind(&self, kind: &str) -> Vec<&Value> {
        self.0.iter().filter(|o| o["kind"] == kind).collect()
    }

    /// `kind name` of every object, in output order.
    pub fn names(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|o| format!("{} {}", o["kind"], o["metadata"]["name"]))
            .collect()
    }
}

impl<'a> IntoIterator for &'a Objects {
    type Item = &'a Value;
    type IntoIter = std::slice::Iter<'a, Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl std::ops::Deref for Objects {
    type Target = [Value];
    fn deref(&self) -> &[Value] {
        &self.0
    }
}

/// The literal value of the environment variable `name` of a CronJob's or
/// Job's first container; the test fails when it is not set.
#[track_caller]
pub fn env<'a>(workload: &'a Value, name: &str) -> &'a str {
    support::env_value(support::pod_spec(workload), name)
        .unwrap_or_else(|| panic!("no env {name} in {}", workload["metadata"]["name"]))
}
