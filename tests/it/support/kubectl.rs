//! The kubectl stand-in's state and log (`tests/standin/kubectl`), seen
//! from a test: the application's pods it pretends to run, the objects a
//! launcher creates, and every call in order.

#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::{Value, json};

use super::pod::chmod_path;

/// Where the stand-in's state directory appears inside the pod.
pub const KUBECTL_STANDIN_MOUNT: &str = "/kubectl-standin";

/// An application pod: its name, labels and containers.
pub type AppPod<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [&'a str]);

pub struct KubectlStandin {
    pub dir: PathBuf,
}

/// One logged `kubectl` invocation.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct KubectlCall {
    pub argv: Vec<String>,
    pub exit: i32,
    /// `SIGTERM` when the call was stopped by one.
    #[serde(default)]
    pub signal: Option<String>,
}

impl KubectlCall {
    /// The subcommand (`exec`, `create`, …): the first word that is not a flag.
    pub fn verb(&self) -> &str {
        self.argv
            .iter()
            .find(|a| !a.starts_with('-'))
            .map_or("", String::as_str)
    }

    /// `exec POD … -- cmd`: the pod.
    pub fn exec_pod(&self) -> Option<&str> {
        (self.verb() == "exec").then(|| {
            self.argv
                .iter()
                .filter(|a| !a.starts_with('-'))
                .nth(1)
                .map_or("", String::as_str)
        })
    }

    /// A short description: `exec db-0`, `create`, `wait job.batch/x`.
    pub fn step(&self) -> String {
        let words: Vec<&str> = self
            .argv
            .iter()
            .take_while(|a| *a != "--")
            .filter(|a| !a.starts_with('-'))
            .map(String::as_str)
            .collect();
        words.join(" ")
    }
}

impl KubectlStandin {
    /// A fresh state with the application's running pods: (name, labels,
    /// containers).
    #[track_caller]
    pub fn new(name: &str, pods: &[AppPod<'_>]) -> KubectlStandin {
        let dir = super::scratch_at(
            std::panic::Location::caller(),
            &format!("kubectl-standin-{name}"),
        );
        std::fs::create_dir_all(&dir).expect("stand-in dir");
        let mut pod_objects = serde_json::Map::new();
        for (pod, labels, containers) in pods {
            let labels: serde_json::Map<String, Value> = labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), json!(v)))
                .collect();
            let containers: Vec<Value> = containers.iter().map(|c| json!({"name": c})).collect();
            pod_objects.insert(
                (*pod).to_owned(),
                json!({"metadata": {"labels": labels, "annotations": {}},
                       "spec": {"containers": containers}, "status": {"phase": "Running"}}),
            );
        }
        let state = json!({"pods": pod_objects, "jobs": {}, "volumesnapshots": {},
                           "persistentvolumeclaims": {}});
        let standin = KubectlStandin { dir };
        std::fs::write(standin.state_path(), state.to_string()).expect("state");
        std::fs::write(standin.log_path(), b"").expect("log");
        std::fs::write(standin.trace_path(), b"").expect("trace");
        chmod_path(&standin.dir, 0o777);
        for file in [
            standin.state_path(),
            standin.log_path(),
            standin.trace_path(),
        ] {
            chmod_path(&file, 0o666);
        }
        standin
    }

    /// Annotates one of the application's pods.
    pub fn annotate(self, pod: &str, key: &str, value: &str) -> KubectlStandin {
        let mut state = self.state();
        state["pods"][pod]["metadata"]["annotations"][key] = json!(value);
        std::fs::write(self.state_path(), state.to_string()).expect("state");
        self
    }

    /// Where the stand-in says a paused step has begun
    /// (`KUBECTL_STANDIN_PAUSE`).
    pub fn paused_marker(&self) -> PathBuf {
        self.dir.join("paused")
    }

    pub fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("log.jsonl")
    }

    /// A file hooks in the tests append to (`/kubectl-standin/trace`).
    pub fn trace_path(&self) -> PathBuf {
        self.dir.join("trace")
    }

    pub fn trace(&self) -> Vec<String> {
        std::fs::read_to_string(self.trace_path())
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    pub fn state(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.state_path()).expect("state"))
            .expect("state JSON")
    }

    pub fn calls(&self) -> Vec<KubectlCall> {
        std::fs::read_to_string(self.log_path())
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad log line {l:?}: {e}")))
            .collect()
    }

    /// Every call's step, with its exit status.
    pub fn steps(&self) -> Vec<(String, i32)> {
        self.calls().iter().map(|c| (c.step(), c.exit)).collect()
    }
}
