//! Runs one container of a compiled pod template the way the kubelet and a
//! container runtime would, on this machine, at the pod's real paths.
//!
//! ```ignore
//! let result = Pod::from_compiled(&objects, "CronJob", "apps", "nightly-web-backup")
//!     .secret("kopia-config", &[("KOPIA_PASSWORD", "secret")])
//!     .pvc("web-data", &data_dir)
//!     .standin(&standin)
//!     .run();
//! ```
//!
//! How it stays faithful:
//! - the environment is built as the kubelet builds it: the image's `ENV`,
//!   `HOSTNAME` and the `KUBERNETES_*` service variables, then `envFrom`
//!   (in order, with prefixes), then `env` in order, each value expanded with
//!   Kubernetes' `$(VAR)` rules (`$$` is `$`, an undefined reference stays
//!   verbatim); `valueFrom` Secret/ConfigMap keys honour `optional`; the
//!   command and args are expanded with the final environment;
//! - volumes are materialised like the kubelet does (ConfigMap and Secret
//!   volumes with `items`, `defaultMode`/`mode`, `optional` and the atomic
//!   writer's `..data` symlinks; emptyDir world-writable; a PVC from a host
//!   directory; an ephemeral volume whose claim has a PVC `dataSource` is a
//!   fresh copy of that PVC; `fsGroup` ownership; `subPath`; `readOnly` is a
//!   read-only mount) and mounted at their `mountPath`s;
//! - the command runs in private mount, PID and UTS namespaces (`unshare`),
//!   in a chroot assembled from read-only bind mounts of the host's `/usr`
//!   and `/etc`, a minimal `/dev`, a fresh `/proc`, the volumes and the
//!   termination-message file; the root is read-only when the container says
//!   `readOnlyRootFilesystem`; the command is PID 1 of its PID namespace,
//!   runs as the pod's `runAsUser`/`runAsGroup`/groups with the container's
//!   capability set (`setpriv`), in `workingDir`, with the pod name as host
//!   name;
//! - with [`Pod::real_kopia`], the real `kopia` binary (v0.23.1, installed
//!   by `.ci/install-tools`) is at `/usr/bin/kopia`, where the stock image
//!   has it: the host's `/usr` is overlaid with a layer that holds only that
//!   file, and nothing is added to the environment;
//! - with [`Pod::standin`], the Kopia stand-in (`tests/standin/kopia`) is
//!   bind-mounted on `/usr/local/sbin`, the first directory of the image's
//!   `PATH`, so the scripts find it as `kopia`; its log and bucket store are
//!   mounted at `/kopia-standin` and named by `KOPIA_STANDIN_*` variables,
//!   the only additions to the pod's environment. The stand-in is for fault
//!   injection, where a real server cannot be made to fail on cue.
//!
//! [`Pod::run_together`] runs every container of the pod at once, as the
//! kubelet starts them (in order, without waiting), over one set of
//! volumes: an emptyDir two containers mount is one directory, so a FIFO
//! in it connects them.
//!
//! A missing `unshare`, `chroot` or `setpriv`, or a machine that does not
//! allow namespaces, fails the run loudly: there is no fallback.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, Container, KeyToPath, PodSpec, Volume};
use serde_json::Value;

/// `ENV` of the stock `kopia/kopia` image (tools/docker/Dockerfile, on
/// `ubuntu:jammy`, whose `PATH` it inherits).
pub const KOPIA_IMAGE_ENV: &[(&str, &str)] = &[
    (
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
    ("DEBIAN_FRONTEND", "noninteractive"),
    ("TERM", "xterm-256color"),
    ("LC_ALL", "C.UTF-8"),
    ("KOPIA_CONFIG_PATH", "/app/config/repository.config"),
    ("KOPIA_LOG_DIR", "/app/logs"),
    ("KOPIA_CACHE_DIRECTORY", "/app/cache"),
    ("RCLONE_CONFIG", "/app/rclone/rclone.conf"),
    ("KOPIA_PERSIST_CREDENTIALS_ON_CONNECT", "false"),
    ("KOPIA_CHECK_FOR_UPDATES", "false"),
];

/// The variables every pod gets for the `kubernetes` Service.
const SERVICE_ENV: &[(&str, &str)] = &[
    ("KUBERNETES_SERVICE_HOST", "10.96.0.1"),
    ("KUBERNETES_SERVICE_PORT", "443"),
    ("KUBERNETES_SERVICE_PORT_HTTPS", "443"),
    ("KUBERNETES_PORT", "tcp://10.96.0.1:443"),
    ("KUBERNETES_PORT_443_TCP", "tcp://10.96.0.1:443"),
    ("KUBERNETES_PORT_443_TCP_PROTO", "tcp"),
    ("KUBERNETES_PORT_443_TCP_PORT", "443"),
    ("KUBERNETES_PORT_443_TCP_ADDR", "10.96.0.1"),
];

/// The capabilities a container runtime grants when a container drops none.
const DEFAULT_CAPABILITIES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
];

/// Where the stand-in's state directory appears inside the pod.
pub const STANDIN_MOUNT: &str = "/kopia-standin";

static RUNS: AtomicUsize = AtomicUsize::new(0);

/// One container of a pod, ready to run.
#[derive(Clone)]
pub struct Pod {
    pod_name: String,
    namespace: String,
    spec: PodSpec,
    container: Option<String>,
    config_maps: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    secrets: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    pvcs: BTreeMap<String, PathBuf>,
    image_env: Vec<(String, String)>,
    harness_env: Vec<(String, String)>,
    standin: Option<PathBuf>,
    /// The kubectl stand-in's state directory (`tests/standin/kubectl`).
    kubectl_standin: Option<PathBuf>,
    real_kopia: bool,
    service_account: Option<ServiceAccountMount>,
    timeout: Duration,
    host_aliases: Vec<(String, String)>,
    /// The pod's volumes, shared by the containers of one pod run
    /// together; `None`: the container's own run directory holds them.
    shared_volumes: Option<PathBuf>,
}

/// What the kubelet gives a pod for its ServiceAccount: the token volume
/// (`token`, `ca.crt`, `namespace`) and the address of the API server.
#[derive(Clone)]
struct ServiceAccountMount {
    dir: PathBuf,
    host: String,
    port: u16,
}

/// Where the kubelet mounts the ServiceAccount token volume.
pub const SERVICE_ACCOUNT_MOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// What a finished container left behind.
#[derive(Debug, Clone)]
pub struct PodResult {
    /// The container's exit code (128 + signal when killed by a signal).
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The file at `terminationMessagePath`, as the container left it.
    pub termination_file: String,
    /// What `kubectl get pod` would show as the termination message.
    pub termination_message: String,
    /// The process environment the command got (sorted by name).
    pub env: Vec<(String, String)>,
    /// The argv the command got, after `$(VAR)` expansion.
    pub argv: Vec<String>,
    /// Where the pod's volumes were materialised (kept after the run).
    pub run_dir: PathBuf,
}

impl PodResult {
    /// The termination message, which must be exactly one JSON line.
    pub fn result_line(&self) -> Value {
        let text = self.termination_file.trim_end_matches('\n');
        assert!(
            !text.is_empty() && !text.contains('\n'),
            "the termination message is not one line:\n{}",
            self.logs()
        );
        serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.logs()))
    }

    /// stdout and stderr, for assertion messages.
    pub fn logs(&self) -> String {
        format!(
            "exit code {}\n--- stdout ---\n{}--- stderr ---\n{}--- termination message ---\n{}",
            self.exit_code, self.stdout, self.stderr, self.termination_message
        )
    }

    /// The host directory behind a volume of the pod (an emptyDir's
    /// contents after the run, a PVC's host directory, ...).
    pub fn volume(&self, name: &str) -> PathBuf {
        self.run_dir.join("volumes").join(name)
    }

    pub fn env_value(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Finds an object of the compiled output by kind, namespace and name.
pub fn find_object<'a>(objects: &'a Value, kind: &str, namespace: &str, name: &str) -> &'a Value {
    items(objects)
        .iter()
        .find(|o| {
            o["kind"] == kind
                && o["metadata"]["name"] == name
                && o["metadata"]["namespace"].as_str().unwrap_or("default") == namespace
        })
        .unwrap_or_else(|| panic!("the compiled output has no {kind} {namespace}/{name}"))
}

/// The items of a `List` (or a bare array of objects).
pub fn items(objects: &Value) -> &Vec<Value> {
    objects
        .get("items")
        .unwrap_or(objects)
        .as_array()
        .expect("a List or an array of objects")
}

/// The name of the one compiled Job whose name starts with `prefix` (Jobs
/// such as a replica's seed end in a hash of their inputs).
pub fn job_name_starting_with(objects: &Value, prefix: &str) -> String {
    let mut names = items(objects)
        .iter()
        .filter(|o| o["kind"] == "Job")
        .filter_map(|o| o["metadata"]["name"].as_str())
        .filter(|n| n.starts_with(prefix));
    let name = names
        .next()
        .unwrap_or_else(|| panic!("no Job named {prefix}…"));
    assert!(names.next().is_none(), "more than one Job named {prefix}…");
    name.to_owned()
}

impl Pod {
    /// The pod of a CronJob's or Job's template, with the compiled output's
    /// own ConfigMaps (scripts, policies) available to it.
    pub fn from_compiled(objects: &Value, kind: &str, namespace: &str, name: &str) -> Pod {
        let object = find_object(objects, kind, namespace, name).clone();
        let (template, pod_name) = match kind {
            "CronJob" => {
                let cron: CronJob = serde_json::from_value(object).expect("a CronJob");
                let template = cron
                    .spec
                    .expect("CronJob spec")
                    .job_template
                    .spec
                    .expect("jobTemplate spec")
                    .template;
                (template, format!("{name}-29412345-x7k2q"))
            }
            "Job" => {
                let job: Job = serde_json::from_value(object).expect("a Job");
                (
                    job.spec.expect("Job spec").template,
                    format!("{name}-x7k2q"),
                )
            }
            other => panic!("cannot run a pod of a {other}"),
        };
        let mut pod = Pod {
            pod_name,
            namespace: namespace.to_owned(),
            spec: template.spec.expect("pod template spec"),
            container: None,
            config_maps: BTreeMap::new(),
            secrets: BTreeMap::new(),
            pvcs: BTreeMap::new(),
            image_env: KOPIA_IMAGE_ENV
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            harness_env: Vec::new(),
            standin: None,
            kubectl_standin: None,
            real_kopia: false,
            service_account: None,
            timeout: Duration::from_secs(60),
            host_aliases: Vec::new(),
            shared_volumes: None,
        };
        for object in items(objects) {
            if object["kind"] == "ConfigMap"
                && object["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("default")
                    == namespace
            {
                let cm: ConfigMap = serde_json::from_value(object.clone()).expect("a ConfigMap");
                let mut data: BTreeMap<String, Vec<u8>> = cm
                    .data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, v.into_bytes()))
                    .collect();
                for (k, v) in cm.binary_data.unwrap_or_default() {
                    data.insert(k, v.0);
                }
                pod.config_maps
                    .insert(cm.metadata.name.expect("ConfigMap name"), data);
            }
        }
        pod
    }

    /// A Secret of the pod's namespace, from string values.
    pub fn secret(self, name: &str, data: &[(&str, &str)]) -> Pod {
        let bytes: Vec<(&str, &[u8])> = data.iter().map(|(k, v)| (*k, v.as_bytes())).collect();
        self.secret_bytes(name, &bytes)
    }

    pub fn secret_bytes(mut self, name: &str, data: &[(&str, &[u8])]) -> Pod {
        self.secrets.insert(
            name.to_owned(),
            data.iter()
                .map(|(k, v)| ((*k).to_owned(), v.to_vec()))
                .collect(),
        );
        self
    }

    /// A ConfigMap of the pod's namespace (in addition to the compiled ones).
    pub fn config_map(mut self, name: &str, data: &[(&str, &str)]) -> Pod {
        self.config_maps.insert(
            name.to_owned(),
            data.iter()
                .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
                .collect(),
        );
        self
    }

    /// A PersistentVolumeClaim, backed by a host directory.
    pub fn pvc(mut self, claim: &str, dir: impl AsRef<Path>) -> Pod {
        self.pvcs
            .insert(claim.to_owned(), dir.as_ref().to_path_buf());
        self
    }

    /// Puts the Kopia stand-in first on the image's PATH.
    pub fn standin(mut self, standin: &Standin) -> Pod {
        assert!(
            !self.real_kopia,
            "a pod runs either the stand-in or the real Kopia"
        );
        self.standin = Some(standin.dir.clone());
        self
    }

    /// Puts the kubectl stand-in on `/usr/local/bin` (before `/usr/bin` on
    /// the image's PATH) and its state at `/kubectl-standin`.
    pub fn kubectl_standin(mut self, standin: &super::kubectl::KubectlStandin) -> Pod {
        self.kubectl_standin = Some(standin.dir.clone());
        self
    }

    /// The pod's ServiceAccount token volume (a directory with `token`,
    /// `ca.crt` and `namespace`), mounted at [`SERVICE_ACCOUNT_MOUNT`]
    /// unless the pod opts out with `automountServiceAccountToken: false`,
    /// and the API server the `KUBERNETES_SERVICE_*` variables point at.
    pub fn service_account(mut self, dir: &Path, host: &str, port: u16) -> Pod {
        self.service_account = Some(ServiceAccountMount {
            dir: dir.to_path_buf(),
            host: host.to_owned(),
            port,
        });
        self
    }

    /// An extra variable from the test harness (e.g. `KOPIA_STANDIN_NOW`),
    /// added after everything Kubernetes sets.
    /// Runs the real Kopia binary (see [`RealKopia`]) at `/usr/bin/kopia`.
    pub fn real_kopia(mut self) -> Pod {
        assert!(
            self.standin.is_none(),
            "a pod runs either the stand-in or the real Kopia"
        );
        self.real_kopia = true;
        self
    }

    pub fn harness_env(mut self, name: &str, value: &str) -> Pod {
        self.harness_env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Replaces the image's `ENV` (the default is the kopia/kopia image's).
    pub fn image_env(mut self, env: &[(&str, &str)]) -> Pod {
        self.image_env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self
    }

    /// Which container to run (the first one by default; init containers
    /// by name too).
    pub fn container(mut self, name: &str) -> Pod {
        self.container = Some(name.to_owned());
        self
    }

    /// A name the pod resolves to `ip`, as the cluster's DNS would (for a
    /// server that needs a host name, such as Azurite's `<account>.<domain>`):
    /// a line added to the pod's `/etc/hosts`, which the kubelet writes too.
    pub fn host_alias(mut self, ip: &str, hostname: &str) -> Pod {
        self.host_aliases.push((ip.to_owned(), hostname.to_owned()));
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Pod {
        self.timeout = timeout;
        self
    }

    pub fn spec(&self) -> &PodSpec {
        &self.spec
    }

    fn the_container(&self) -> &Container {
        match &self.container {
            Some(name) => self
                .spec
                .containers
                .iter()
                .chain(self.spec.init_containers.iter().flatten())
                .find(|c| &c.name == name)
                .unwrap_or_else(|| panic!("the pod has no container {name}")),
            None => self.spec.containers.first().expect("a container"),
        }
    }

    /// The container's environment, exactly as the kubelet computes it, or
    /// the error that would keep the container from starting.
    pub fn environment(&self) -> Result<Vec<(String, String)>, String> {
        let container = self.the_container();
        let ns = &self.namespace;
        let service: Vec<(String, String)> = match &self.service_account {
            None => SERVICE_ENV
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            Some(account) => {
                let (host, port) = (&account.host, account.port);
                let url = format!("tcp://{host}:{port}");
                [
                    ("KUBERNETES_SERVICE_HOST", host.clone()),
                    ("KUBERNETES_SERVICE_PORT", port.to_string()),
                    ("KUBERNETES_SERVICE_PORT_HTTPS", port.to_string()),
                    ("KUBERNETES_PORT", url.clone()),
                    (&format!("KUBERNETES_PORT_{port}_TCP"), url),
                    (&format!("KUBERNETES_PORT_{port}_TCP_PROTO"), "tcp".into()),
                    (
                        &format!("KUBERNETES_PORT_{port}_TCP_PORT"),
                        port.to_string(),
                    ),
                    (&format!("KUBERNETES_PORT_{port}_TCP_ADDR"), host.clone()),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect()
            }
        };
        // The container's own variables, in declaration order; a later
        // declaration replaces an earlier one.
        let mut declared: Vec<(String, String)> = Vec::new();
        let set = |declared: &mut Vec<(String, String)>, k: String, v: String| {
            if let Some(slot) = declared.iter_mut().find(|(name, _)| *name == k) {
                slot.1 = v;
            } else {
                declared.push((k, v));
            }
        };
        for source in container.env_from.iter().flatten() {
            let prefix = source.prefix.clone().unwrap_or_default();
            let (data, optional, what, name) = if let Some(r) = &source.config_map_ref {
                (
                    self.config_maps.get(&r.name),
                    r.optional == Some(true),
                    "configmap",
                    &r.name,
                )
            } else if let Some(r) = &source.secret_ref {
                (
                    self.secrets.get(&r.name),
                    r.optional == Some(true),
                    "secret",
                    &r.name,
                )
            } else {
                continue;
            };
            let Some(data) = data else {
                if optional {
                    continue;
                }
                return Err(format!(r#"{what} "{name}" not found"#));
            };
            for (key, value) in data {
                let key = format!("{prefix}{key}");
                if key.is_empty()
                    || key.contains('=')
                    || key.chars().any(|c| !(' '..='~').contains(&c))
                {
                    continue; // the kubelet skips names that are not valid variables
                }
                set(
                    &mut declared,
                    key,
                    String::from_utf8_lossy(value).into_owned(),
                );
            }
        }
        for var in container.env.iter().flatten() {
            let value = match (&var.value, &var.value_from) {
                (Some(value), _) if !value.is_empty() => {
                    let lookup = |name: &str| {
                        declared
                            .iter()
                            .rev()
                            .find(|(k, _)| k == name)
                            .or_else(|| service.iter().find(|(k, _)| k == name))
                            .map(|(_, v)| v.clone())
                    };
                    expand(value, lookup)
                }
                // The downward API: the fields the kubelet fills in.
                (_, Some(from)) if from.field_ref.is_some() => {
                    let path = from.field_ref.as_ref().map(|f| f.field_path.as_str());
                    match path {
                        Some("metadata.namespace") => self.namespace.clone(),
                        Some("metadata.name") => self.pod_name.clone(),
                        other => {
                            return Err(format!(
                                "env {}: fieldRef {other:?} is not modelled",
                                var.name
                            ));
                        }
                    }
                }
                (_, Some(from)) => {
                    let (data, key, optional, what, name) = if let Some(r) = &from.secret_key_ref {
                        (
                            self.secrets.get(&r.name),
                            &r.key,
                            r.optional == Some(true),
                            "Secret",
                            &r.name,
                        )
                    } else if let Some(r) = &from.config_map_key_ref {
                        (
                            self.config_maps.get(&r.name),
                            &r.key,
                            r.optional == Some(true),
                            "ConfigMap",
                            &r.name,
                        )
                    } else {
                        return Err(format!(
                            "env {}: only secretKeyRef and configMapKeyRef are modelled",
                            var.name
                        ));
                    };
                    let Some(data) = data else {
                        if optional {
                            continue;
                        }
                        return Err(format!(r#"{} "{name}" not found"#, what.to_lowercase()));
                    };
                    match data.get(key) {
                        Some(v) => String::from_utf8_lossy(v).into_owned(),
                        None if optional => continue,
                        None => {
                            return Err(format!("couldn't find key {key} in {what} {ns}/{name}"));
                        }
                    }
                }
                _ => String::new(),
            };
            set(&mut declared, var.name.clone(), value);
        }
        let mut env: Vec<(String, String)> = vec![("HOSTNAME".to_owned(), self.pod_name.clone())];
        let mut overlay = |k: &str, v: &str| {
            if let Some(slot) = env.iter_mut().find(|(name, _)| name == k) {
                slot.1 = v.to_owned();
            } else {
                env.push((k.to_owned(), v.to_owned()));
            }
        };
        for (k, v) in &self.image_env {
            overlay(k, v);
        }
        for (k, v) in &declared {
            overlay(k, v);
        }
        for (k, v) in &service {
            if !declared.iter().any(|(name, _)| name == k) {
                overlay(k, v);
            }
        }
        Ok(env)
    }

    /// The command line the container runs: `command` + `args`, expanded
    /// with the container's environment (the image has no entrypoint
    /// override here: a pod without `command` is not modelled).
    pub fn argv(&self, env: &[(String, String)]) -> Vec<String> {
        let container = self.the_container();
        let lookup = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let mut argv: Vec<String> = container
            .command
            .clone()
            .expect("the container names its command (the image entrypoint is not modelled)")
            .iter()
            .map(|a| expand(a, lookup))
            .collect();
        argv.extend(container.args.iter().flatten().map(|a| expand(a, lookup)));
        argv
    }

    /// Runs the container to completion.
    pub fn run(self) -> PodResult {
        self.start().wait()
    }

    /// Runs every container of the pod at once, over the same volumes
    /// (materialised once, when the first container that mounts each one
    /// starts), and waits for each; the results are in the pod's order.
    pub fn run_together(self) -> Vec<(String, PodResult)> {
        self.start_together().wait()
    }

    /// Starts every container of the pod at once, as `run_together` does,
    /// and hands them back running: a test can watch the shared volumes and
    /// kill one container while the others go on.
    pub fn start_together(self) -> RunningTogether {
        let seq = RUNS.fetch_add(1, Ordering::SeqCst);
        let shared = super::root()
            .join("target")
            .join("test-scratch")
            .join("pods")
            .join(format!(
                "{}-{}-{seq}-volumes",
                self.pod_name,
                std::process::id()
            ));
        let _ = std::fs::remove_dir_all(&shared);
        std::fs::create_dir_all(&shared).expect("shared volumes dir");
        let names: Vec<String> = self
            .spec
            .containers
            .iter()
            .map(|c| c.name.clone())
            .collect();
        let containers: Vec<(String, RunningPod)> = names
            .into_iter()
            .map(|name| {
                let mut pod = self.clone();
                pod.container = Some(name.clone());
                pod.shared_volumes = Some(shared.clone());
                (name, pod.start())
            })
            .collect();
        RunningTogether {
            volumes: shared,
            containers,
        }
    }

    /// Starts the container; see [`RunningPod`].
    pub fn start(self) -> RunningPod {
        let container = self.the_container().clone();
        let env = match self.environment() {
            Ok(env) => env,
            Err(e) => panic!("CreateContainerConfigError: {e}"),
        };
        let argv = self.argv(&env);
        let seq = RUNS.fetch_add(1, Ordering::SeqCst);
        let pods = super::root()
            .join("target")
            .join("test-scratch")
            .join("pods");
        if seq == 0 {
            sweep_old_runs(&pods);
        }
        let run_dir = pods.join(format!("{}-{}-{seq}", self.pod_name, std::process::id()));
        let _ = std::fs::remove_dir_all(&run_dir);
        std::fs::create_dir_all(run_dir.join("root")).expect("run dir");
        let volumes_dir = match &self.shared_volumes {
            Some(shared) => {
                std::os::unix::fs::symlink(shared, run_dir.join("volumes")).expect("volumes link");
                shared.clone()
            }
            None => {
                std::fs::create_dir_all(run_dir.join("volumes")).expect("volumes dir");
                run_dir.join("volumes")
            }
        };

        let security = self.identity(&container);
        let mut script = String::from("set -eu\n");
        let root = run_dir.join("root");
        let r = sh(&root);
        script += &format!("/usr/bin/mount -t tmpfs -o mode=0755 tmpfs {r}\n");
        for dir in ["usr", "etc"] {
            if dir == "usr" && self.real_kopia {
                // The image's layer: the host's /usr under one that adds
                // bin/kopia. An overlay of lower layers only is read-only.
                let layer = super::kopia::RealKopia::image_layer();
                script += &format!(
                    "/usr/bin/mkdir -p {r}/usr\n/usr/bin/mount -t overlay overlay -o lowerdir={}:/usr {r}/usr\n",
                    sh(&layer)
                );
                continue;
            }
            script += &format!(
                "/usr/bin/mkdir -p {r}/{dir}\n/usr/bin/mount --rbind /{dir} {r}/{dir}\n/usr/bin/mount -o remount,bind,ro {r}/{dir}\n"
            );
        }
        if !self.host_aliases.is_empty() {
            let mut hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
            for (ip, name) in &self.host_aliases {
                hosts += &format!("{ip}\t{name}\n");
            }
            let file = run_dir.join("hosts");
            std::fs::write(&file, hosts).expect("hosts");
            chmod(&file, 0o644);
            script += &format!("/usr/bin/mount --bind {} {r}/etc/hosts\n", sh(&file));
        }
        for link in ["bin", "sbin", "lib", "lib64", "lib32", "libx32"] {
            let host = Path::new("/").join(link);
            if let Ok(target) = std::fs::read_link(&host) {
                script += &format!("/usr/bin/ln -s {} {r}/{link}\n", sh(&target));
            } else if host.is_dir() {
                script += &format!(
                    "/usr/bin/mkdir -p {r}/{link}\n/usr/bin/mount --rbind /{link} {r}/{link}\n/usr/bin/mount -o remount,bind,ro {r}/{link}\n"
                );
            }
        }
        // A container's /dev: a tmpfs with the usual device nodes.
        script += &format!(
            "/usr/bin/mkdir -p {r}/dev {r}/proc\n/usr/bin/mount -t tmpfs -o mode=0755,nosuid tmpfs {r}/dev\n"
        );
        for dev in ["null", "zero", "full", "random", "urandom", "tty"] {
            script += &format!(
                "/usr/bin/touch {r}/dev/{dev}\n/usr/bin/mount --bind /dev/{dev} {r}/dev/{dev}\n"
            );
        }
        script += &format!(
            "/usr/bin/mkdir -p {r}/dev/shm {r}/dev/pts\n/usr/bin/chmod 1777 {r}/dev/shm\n/usr/bin/ln -s /proc/self/fd {r}/dev/fd\n/usr/bin/ln -s /proc/self/fd/0 {r}/dev/stdin\n/usr/bin/ln -s /proc/self/fd/1 {r}/dev/stdout\n/usr/bin/ln -s /proc/self/fd/2 {r}/dev/stderr\n/usr/bin/mount -t proc proc {r}/proc\n"
        );

        // The termination-message file: created by the kubelet, world-writable.
        let termination_path = container
            .termination_message_path
            .clone()
            .unwrap_or_else(|| "/dev/termination-log".to_owned());
        let termination_file = run_dir.join("termination-log");
        std::fs::write(&termination_file, b"").expect("termination log");
        chmod(&termination_file, 0o666);

        // Volumes, parents before children as runtimes order them.
        let mut mounts = container.volume_mounts.clone().unwrap_or_default();
        mounts.sort_by_key(|m| Path::new(&m.mount_path).components().count());
        let mut prepared: BTreeMap<String, (PathBuf, bool)> = BTreeMap::new();
        for mount in &mounts {
            if !prepared.contains_key(&mount.name) {
                let volume = self
                    .spec
                    .volumes
                    .iter()
                    .flatten()
                    .find(|v| v.name == mount.name)
                    .unwrap_or_else(|| panic!("volume mount {} names no volume", mount.name))
                    .clone();
                let dir = volumes_dir.join(&volume.name);
                let prepared_by_another_container =
                    self.shared_volumes.is_some() && dir.symlink_metadata().is_ok();
                let read_only = if prepared_by_another_container {
                    volume_read_only(&volume)
                } else {
                    match self.prepare_volume(&volume, &dir, &security) {
                        Ok(read_only) => read_only,
                        Err(e) => {
                            panic!("MountVolume.SetUp failed for volume {:?}: {e}", volume.name)
                        }
                    }
                };
                prepared.insert(mount.name.clone(), (dir, read_only));
            }
            let (dir, volume_read_only) = &prepared[&mount.name];
            let mut source = dir.clone();
            let sub_path = match (&mount.sub_path, &mount.sub_path_expr) {
                (Some(p), _) if !p.is_empty() => Some(p.clone()),
                (_, Some(e)) if !e.is_empty() => Some(expand(e, |name| {
                    env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
                })),
                _ => None,
            };
            if let Some(sub) = sub_path {
                source = dir.join(&sub);
                if !source.exists() {
                    if *volume_read_only {
                        panic!(
                            "failed to create subPath directory for volumeMount {:?}: the volume is read-only",
                            mount.name
                        );
                    }
                    // The kubelet creates it with the mode of the volume's root.
                    let mode = std::fs::metadata(dir)
                        .map(|m| m.mode() & 0o7777)
                        .unwrap_or(0o755);
                    let mut path = dir.clone();
                    for part in Path::new(&sub).components() {
                        path.push(part);
                        if !path.exists() {
                            std::fs::create_dir(&path).expect("subPath directory");
                            chmod(&path, mode);
                        }
                    }
                }
            }
            let target = format!("{r}{}", sh_inner(&mount.mount_path));
            if source.is_dir() {
                script += &format!("/usr/bin/mkdir -p {target}\n");
            } else {
                script += &format!(
                    "/usr/bin/mkdir -p \"$(/usr/bin/dirname {target})\"\n/usr/bin/touch {target}\n"
                );
            }
            script += &format!("/usr/bin/mount --bind {} {target}\n", sh(&source));
            if mount.read_only == Some(true) || *volume_read_only {
                script += &format!("/usr/bin/mount -o remount,bind,ro {target}\n");
            }
        }

        // The ServiceAccount token volume, read-only, in every container.
        if let Some(account) = &self.service_account
            && self.spec.automount_service_account_token != Some(false)
        {
            let target = format!("{r}{SERVICE_ACCOUNT_MOUNT}");
            script += &format!(
                "/usr/bin/mkdir -p {target}\n/usr/bin/mount --bind {} {target}\n/usr/bin/mount -o remount,bind,ro {target}\n",
                sh(&account.dir)
            );
        }

        let tm = format!("{r}{}", sh_inner(&termination_path));
        script += &format!(
            "/usr/bin/mkdir -p \"$(/usr/bin/dirname {tm})\"\n/usr/bin/touch {tm}\n/usr/bin/mount --bind {} {tm}\n",
            sh(&termination_file)
        );

        // The stand-in: first directory of the image's PATH, read-only.
        let mut env = env;
        if let Some(state) = &self.standin {
            let bin = run_dir.join("standin-bin");
            std::fs::create_dir_all(&bin).expect("stand-in bin");
            let repo = super::root();
            std::fs::copy(repo.join("tests/standin/kopia"), bin.join("kopia"))
                .expect("copy stand-in");
            for data in ["kopia-cli.json", "kopia-policy-fields.json"] {
                std::fs::copy(repo.join("src/kopia/data").join(data), bin.join(data))
                    .expect("copy grammar");
                chmod(&bin.join(data), 0o644);
            }
            chmod(&bin.join("kopia"), 0o755);
            chmod(&bin, 0o755);
            script += &format!(
                "/usr/bin/mount --bind {} {r}/usr/local/sbin\n/usr/bin/mount -o remount,bind,ro {r}/usr/local/sbin\n/usr/bin/mkdir -p {r}{STANDIN_MOUNT}\n/usr/bin/mount --bind {} {r}{STANDIN_MOUNT}\n",
                sh(&bin),
                sh(state)
            );
            for (k, v) in [
                ("KOPIA_STANDIN_LOG", format!("{STANDIN_MOUNT}/log.jsonl")),
                ("KOPIA_STANDIN_STORAGE", format!("{STANDIN_MOUNT}/storage")),
            ] {
                env.push((k.to_owned(), v));
            }
        }
        if let Some(state) = &self.kubectl_standin {
            let bin = run_dir.join("kubectl-standin-bin");
            std::fs::create_dir_all(&bin).expect("kubectl stand-in bin");
            std::fs::copy(
                super::root().join("tests/standin/kubectl"),
                bin.join("kubectl"),
            )
            .expect("copy the kubectl stand-in");
            chmod(&bin.join("kubectl"), 0o755);
            chmod(&bin, 0o755);
            let mount = super::kubectl::KUBECTL_STANDIN_MOUNT;
            script += &format!(
                "/usr/bin/mount --bind {} {r}/usr/local/bin\n/usr/bin/mount -o remount,bind,ro {r}/usr/local/bin\n/usr/bin/mkdir -p {r}{mount}\n/usr/bin/mount --bind {} {r}{mount}\n",
                sh(&bin),
                sh(state)
            );
            env.push((
                "KUBECTL_STANDIN_STATE".into(),
                format!("{mount}/state.json"),
            ));
            env.push(("KUBECTL_STANDIN_LOG".into(), format!("{mount}/log.jsonl")));
        }
        env.extend(self.harness_env.iter().cloned());

        let working_dir = container
            .working_dir
            .clone()
            .unwrap_or_else(|| "/".to_owned());
        script += &format!("/usr/bin/mkdir -p {r}{}\n", sh_inner(&working_dir));
        if security.read_only_root {
            script += &format!("/usr/bin/mount -o remount,ro {r}\n");
        }
        script += &format!("/usr/bin/hostname {}\n", sh_str(&self.pod_name));
        let groups = if security.groups.is_empty() {
            "--clear-groups".to_owned()
        } else {
            format!(
                "--groups={}",
                security
                    .groups
                    .iter()
                    .map(|g| g.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            )
        };
        let caps = std::iter::once("-all".to_owned())
            .chain(
                security
                    .capabilities
                    .iter()
                    .map(|c| format!("+{}", c.to_lowercase())),
            )
            .collect::<Vec<_>>()
            .join(",");
        script += &format!(
            "exec /usr/sbin/chroot {r} /usr/bin/setpriv --reuid={} --regid={} {groups} --bounding-set={caps} --inh-caps={caps}{} -- /usr/bin/env --chdir={} -- \"$@\"\n",
            security.uid,
            security.gid,
            if security.no_new_privs {
                " --no-new-privs"
            } else {
                ""
            },
            sh_str(&working_dir)
        );
        let setup = run_dir.join("setup.sh");
        std::fs::write(&setup, &script).expect("write setup script");

        namespaces_available();
        if self.standin.is_some() {
            assert!(
                ["/usr/bin/python3", "/bin/python3", "/usr/local/bin/python3"]
                    .iter()
                    .any(|p| Path::new(p).exists()),
                "the Kopia stand-in needs python3 in /usr/bin (the pod's PATH), and there is none"
            );
        }
        let mut child = Command::new("/usr/bin/unshare")
            .args([
                "--mount",
                "--pid",
                "--fork",
                "--uts",
                "--propagation",
                "private",
            ])
            .arg("/bin/sh")
            .arg(&setup)
            .args(&argv)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start unshare");
        let stdout = reader(child.stdout.take().expect("stdout"));
        let stderr = reader(child.stderr.take().expect("stderr"));
        let mut sorted_env = env.clone();
        sorted_env.sort();
        RunningPod {
            child,
            stdout: Some(stdout),
            stderr: Some(stderr),
            started: Instant::now(),
            timeout: self.timeout,
            termination_file,
            fallback_to_logs: container.termination_message_policy.as_deref()
                == Some("FallbackToLogsOnError"),
            env: sorted_env,
            argv,
            run_dir,
            standin_log: self.standin.as_ref().map(|dir| dir.join("log.jsonl")),
            credentials: self.credential_values(),
        }
    }

    /// The values of the credential keys of every Secret this pod was
    /// given (passwords, secret keys, tokens): none of them may ever be on
    /// a Kopia command line, where `/proc/*/cmdline` shows it to everyone.
    fn credential_values(&self) -> Vec<String> {
        self.secrets
            .values()
            .flatten()
            .filter(|(key, _)| is_credential_key(key))
            .map(|(_, value)| String::from_utf8_lossy(value).into_owned())
            .filter(|value| value.len() >= 4)
            .collect()
    }

    fn identity(&self, container: &Container) -> Security {
        let pod = self.spec.security_context.clone().unwrap_or_default();
        let sc = container.security_context.clone().unwrap_or_default();
        let uid = sc.run_as_user.or(pod.run_as_user).unwrap_or(0);
        let gid = sc.run_as_group.or(pod.run_as_group).unwrap_or(0);
        if sc.run_as_non_root.or(pod.run_as_non_root) == Some(true) && uid == 0 {
            panic!(
                "CreateContainerConfigError: container has runAsNonRoot and image will run as root"
            );
        }
        let mut groups: Vec<i64> = vec![gid];
        groups.extend(pod.supplemental_groups.iter().flatten());
        groups.extend(pod.fs_group);
        groups.dedup();
        let mut capabilities: Vec<String> = Vec::new();
        if sc.privileged == Some(true) {
            panic!("privileged containers are not modelled");
        }
        let caps = sc.capabilities.clone().unwrap_or_default();
        let drop: Vec<String> = caps.drop.unwrap_or_default();
        if !drop.iter().any(|d| d == "ALL") {
            capabilities.extend(
                DEFAULT_CAPABILITIES
                    .iter()
                    .filter(|c| !drop.iter().any(|d| d == *c))
                    .map(|c| (*c).to_owned()),
            );
        }
        for add in caps.add.unwrap_or_default() {
            if !capabilities.contains(&add) {
                capabilities.push(add);
            }
        }
        Security {
            uid,
            gid,
            groups,
            fs_group: pod.fs_group,
            fs_group_change_policy: pod.fs_group_change_policy.clone(),
            capabilities,
            read_only_root: sc.read_only_root_filesystem == Some(true),
            no_new_privs: sc.allow_privilege_escalation == Some(false),
        }
    }

    /// Materialises a volume in `dir`; returns whether it is read-only.
    fn prepare_volume(&self, volume: &Volume, dir: &Path, sec: &Security) -> Result<bool, String> {
        if let Some(cm) = &volume.config_map {
            let data = self.config_maps.get(&cm.name);
            let optional = cm.optional == Some(true);
            let data = match data {
                Some(d) => d.clone(),
                None if optional => BTreeMap::new(),
                None => return Err(format!(r#"configmap "{}" not found"#, cm.name)),
            };
            atomic_writer(
                dir,
                &data,
                cm.items.as_deref(),
                cm.default_mode,
                optional,
                sec.fs_group,
            )?;
            return Ok(true);
        }
        if let Some(secret) = &volume.secret {
            let name = secret.secret_name.clone().unwrap_or_default();
            let optional = secret.optional == Some(true);
            let data = match self.secrets.get(&name) {
                Some(d) => d.clone(),
                None if optional => BTreeMap::new(),
                None => return Err(format!(r#"secret "{name}" not found"#)),
            };
            atomic_writer(
                dir,
                &data,
                secret.items.as_deref(),
                secret.default_mode,
                optional,
                sec.fs_group,
            )?;
            return Ok(true);
        }
        if volume.empty_dir.is_some() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            chmod(dir, 0o777);
            apply_fs_group(dir, sec.fs_group, None, false);
            return Ok(false);
        }
        if let Some(claim) = &volume.persistent_volume_claim {
            let host = self.pvcs.get(&claim.claim_name).ok_or_else(|| {
                format!(r#"persistentvolumeclaim "{}" not found"#, claim.claim_name)
            })?;
            let host = host
                .canonicalize()
                .map_err(|e| format!("claim {}: {e}", claim.claim_name))?;
            std::os::unix::fs::symlink(&host, dir).map_err(|e| e.to_string())?;
            let read_only = claim.read_only == Some(true);
            if !read_only {
                apply_fs_group(
                    &host,
                    sec.fs_group,
                    sec.fs_group_change_policy.as_deref(),
                    true,
                );
            }
            return Ok(read_only);
        }
        if let Some(ephemeral) = &volume.ephemeral {
            let spec = &ephemeral
                .volume_claim_template
                .as_ref()
                .ok_or("an ephemeral volume without a claim template")?
                .spec;
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            if let Some(source) = &spec.data_source {
                if source.kind != "PersistentVolumeClaim" {
                    return Err(format!("a {} data source is not modelled", source.kind));
                }
                let host = self.pvcs.get(&source.name).ok_or_else(|| {
                    format!(
                        r#"the data source persistentvolumeclaim "{}" is not found"#,
                        source.name
                    )
                })?;
                // A clone: a fresh copy of the source volume, owners and modes kept.
                let status = Command::new("/usr/bin/cp")
                    .arg("-a")
                    .arg(host.join("."))
                    .arg(dir)
                    .status()
                    .map_err(|e| e.to_string())?;
                if !status.success() {
                    return Err(format!("cloning {} failed", source.name));
                }
                let meta = std::fs::metadata(host).map_err(|e| e.to_string())?;
                chmod(dir, meta.mode() & 0o7777);
                std::os::unix::fs::chown(dir, Some(meta.uid()), Some(meta.gid()))
                    .map_err(|e| e.to_string())?;
            }
            apply_fs_group(
                dir,
                sec.fs_group,
                sec.fs_group_change_policy.as_deref(),
                true,
            );
            return Ok(false);
        }
        Err(format!(
            "volume {:?}: only configMap, secret, emptyDir, persistentVolumeClaim and ephemeral volumes are modelled",
            volume.name
        ))
    }
}

/// Whether a volume is read-only whoever mounts it: what `prepare_volume`
/// returns, for a volume another container of the pod prepared.
fn volume_read_only(volume: &Volume) -> bool {
    if volume.config_map.is_some() || volume.secret.is_some() {
        return true;
    }
    volume
        .persistent_volume_claim
        .as_ref()
        .is_some_and(|claim| claim.read_only == Some(true))
}

struct Security {
    uid: i64,
    gid: i64,
    groups: Vec<i64>,
    fs_group: Option<i64>,
    fs_group_change_policy: Option<String>,
    capabilities: Vec<String>,
    read_only_root: bool,
    no_new_privs: bool,
}

/// The containers of one pod, running together over one set of volumes.
pub struct RunningTogether {
    volumes: PathBuf,
    containers: Vec<(String, RunningPod)>,
}

impl RunningTogether {
    /// The host directory behind a volume of the pod, while it runs.
    pub fn volume(&self, name: &str) -> PathBuf {
        self.volumes.join(name)
    }

    /// A running container of the pod, by name.
    pub fn container(&self, name: &str) -> &RunningPod {
        self.containers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c)
            .unwrap_or_else(|| panic!("the pod has no container {name}"))
    }

    /// Waits for every container; the results are in the pod's order.
    pub fn wait(self) -> Vec<(String, PodResult)> {
        self.containers
            .into_iter()
            .map(|(name, container)| (name, container.wait()))
            .collect()
    }
}

/// A container that is running.
pub struct RunningPod {
    child: Child,
    stdout: Option<JoinHandle<Vec<u8>>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    started: Instant,
    timeout: Duration,
    termination_file: PathBuf,
    fallback_to_logs: bool,
    env: Vec<(String, String)>,
    argv: Vec<String>,
    run_dir: PathBuf,
    standin_log: Option<PathBuf>,
    credentials: Vec<String>,
}

/// Secret keys whose values are credentials (VolSync's and Kopia's names).
pub fn is_credential_key(key: &str) -> bool {
    let key = key.to_ascii_uppercase();
    ["PASSWORD", "SECRET", "KEY", "TOKEN", "SAS", "CREDENTIALS"]
        .iter()
        .any(|word| key.contains(word))
        && !key.contains("KNOWN_HOSTS")
}

impl RunningPod {
    /// Every Kopia call a scenario makes is checked: a credential of the
    /// pod's Secrets in a Kopia argument fails the test that ran it.
    fn check_no_credential_in_kopia_argv(&self) {
        let Some(log) = &self.standin_log else {
            return;
        };
        let text = std::fs::read_to_string(log).unwrap_or_default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let Ok(call) = serde_json::from_str::<Call>(line) else {
                continue;
            };
            for arg in &call.argv {
                if let Some(secret) = self.credentials.iter().find(|c| arg.contains(c.as_str())) {
                    panic!(
                        "a credential of the repository Secret is on Kopia's command line \
                         (visible in /proc/*/cmdline): {arg:?} contains {secret:?}\nargv: {:?}",
                        call.argv
                    );
                }
            }
        }
    }

    /// The host PID of the container's PID 1 (the child of `unshare`).
    pub fn pid1(&self) -> u32 {
        let parent = self.child.id();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(entries) = std::fs::read_dir("/proc") {
                for entry in entries.flatten() {
                    let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                        continue;
                    };
                    let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                        continue;
                    };
                    // pid (comm) state ppid ...
                    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
                    let ppid = after
                        .split_whitespace()
                        .nth(1)
                        .and_then(|p| p.parse::<u32>().ok());
                    if ppid == Some(parent) {
                        return pid;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "the container's PID 1 did not appear"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal to the container's PID 1, as the kubelet does on
    /// deletion (SIGTERM) or after the grace period (SIGKILL).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("/usr/bin/kill")
            .arg(format!("-{signal}"))
            .arg(self.pid1().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    pub fn terminate(&self) {
        self.signal("TERM");
    }

    /// Waits until `path` (on the host) exists, or panics after `timeout`.
    pub fn wait_for_file(&mut self, path: &Path, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !path.exists() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the container exited ({status}) before {} appeared",
                    path.display()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not appear within {timeout:?}",
                path.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the container's command has ended.
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Waits for the container to finish.
    pub fn wait(mut self) -> PodResult {
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            if self.started.elapsed() > self.timeout {
                let _ = Command::new("/usr/bin/kill")
                    .arg("-KILL")
                    .arg(self.pid1().to_string())
                    .status();
                let _ = self.child.wait();
                let stdout = self
                    .stdout
                    .take()
                    .map(|h| h.join().unwrap_or_default())
                    .unwrap_or_default();
                let stderr = self
                    .stderr
                    .take()
                    .map(|h| h.join().unwrap_or_default())
                    .unwrap_or_default();
                panic!(
                    "the container did not finish within {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                    self.timeout,
                    String::from_utf8_lossy(&stdout),
                    String::from_utf8_lossy(&stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let stdout = String::from_utf8_lossy(
            &self
                .stdout
                .take()
                .expect("stdout")
                .join()
                .unwrap_or_default(),
        )
        .into_owned();
        let stderr = String::from_utf8_lossy(
            &self
                .stderr
                .take()
                .expect("stderr")
                .join()
                .unwrap_or_default(),
        )
        .into_owned();
        let mut stderr = stderr;
        let mut exit_code = status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
        // util-linux 2.38's `unshare --fork` passes its child's fatal signal
        // on by resetting it to the default, which SIGKILL refuses: it then
        // says this and exits 1. The runtime reports the kill as 137.
        if exit_code == 1
            && let Some(rest) = stderr.strip_suffix(UNSHARE_AFTER_SIGKILL)
        {
            stderr = rest.to_owned();
            exit_code = 128 + 9;
        }
        let termination_file = std::fs::read_to_string(&self.termination_file).unwrap_or_default();
        let mut termination_message = termination_file.clone();
        if termination_message.is_empty() && self.fallback_to_logs && exit_code != 0 {
            // The last 80 lines (at most 2048 bytes) of the container's log.
            let logs = format!("{stdout}{stderr}");
            let lines: Vec<&str> = logs.lines().collect();
            let mut tail = lines[lines.len().saturating_sub(80)..].join("\n");
            if tail.len() > 2048 {
                let cut = tail.len() - 2048;
                let cut = (cut..tail.len())
                    .find(|i| tail.is_char_boundary(*i))
                    .unwrap_or(cut);
                tail = tail[cut..].to_owned();
            }
            termination_message = tail;
        }
        if termination_message.len() > 4096 {
            termination_message.truncate(4096);
        }
        let _ = std::fs::remove_dir_all(self.run_dir.join("root"));
        self.check_no_credential_in_kopia_argv();
        PodResult {
            exit_code,
            stdout,
            stderr,
            termination_file,
            termination_message,
            env: self.env,
            argv: self.argv,
            run_dir: self.run_dir,
        }
    }
}

/// What `unshare --fork` says when its child died of SIGKILL.
const UNSHARE_AFTER_SIGKILL: &str = "unshare: sigprocmask unblock failed: Invalid argument\n";

/// Checks once that this machine lets us build a pod (root, util-linux,
/// namespaces). There is no fallback: a test that needs a pod fails here
/// (tests say so first with `requires!(Namespaces)`).
fn namespaces_available() {
    if let Err(e) = super::requires::namespaces() {
        panic!("the pod runner cannot run here: this test needs {e}. It does not fall back.");
    }
}

fn sweep_old_runs(pods: &Path) {
    let Ok(entries) = std::fs::read_dir(pods) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(3600));
        if old {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn reader(mut source: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buffer = Vec::new();
        let _ = source.read_to_end(&mut buffer);
        buffer
    })
}

/// Kubernetes' `$(VAR)` expansion (third_party/forked/golang/expansion):
/// `$$` is a literal `$`, `$(NAME)` is the variable's value when it is
/// defined and stays verbatim otherwise, any other `$` is kept.
pub fn expand(input: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let bytes = input.as_bytes();
    let mut out = String::new();
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < bytes.len() {
        if bytes[cursor] == b'$' && cursor + 1 < bytes.len() {
            out.push_str(&input[checkpoint..cursor]);
            let rest = &input[cursor + 1..];
            let (text, advance) = match rest.as_bytes()[0] {
                b'$' => ("$".to_owned(), 1),
                b'(' => match rest.find(')') {
                    Some(close) => {
                        let name = &rest[1..close];
                        (
                            lookup(name).unwrap_or_else(|| format!("$({name})")),
                            close + 1,
                        )
                    }
                    None => ("$(".to_owned(), 1),
                },
                _ => {
                    let ch = rest.chars().next().expect("a character");
                    (format!("${ch}"), ch.len_utf8())
                }
            };
            out.push_str(&text);
            cursor += advance + 1;
            checkpoint = cursor;
        } else {
            cursor += 1;
        }
    }
    out.push_str(&input[checkpoint..]);
    out
}

/// The kubelet's atomic writer: files in a timestamped directory, `..data`
/// pointing at it, and one symlink per top-level path.
fn atomic_writer(
    dir: &Path,
    data: &BTreeMap<String, Vec<u8>>,
    items: Option<&[KeyToPath]>,
    default_mode: Option<i32>,
    optional: bool,
    fs_group: Option<i64>,
) -> Result<(), String> {
    let stamp = "..2026_01_01_00_00_00.000000001";
    let payload = dir.join(stamp);
    std::fs::create_dir_all(&payload).map_err(|e| e.to_string())?;
    let default_mode = default_mode.unwrap_or(0o644) as u32;
    let mut files: Vec<(String, Vec<u8>, u32)> = Vec::new();
    match items {
        Some(items) if !items.is_empty() => {
            for item in items {
                match data.get(&item.key) {
                    Some(value) => files.push((
                        item.path.clone(),
                        value.clone(),
                        item.mode.map(|m| m as u32).unwrap_or(default_mode),
                    )),
                    None if optional => continue,
                    None => return Err(format!("references non-existent key: {}", item.key)),
                }
            }
        }
        _ => {
            for (key, value) in data {
                files.push((key.clone(), value.clone(), default_mode));
            }
        }
    }
    let mut tops: Vec<String> = Vec::new();
    for (path, value, mode) in &files {
        let file = payload.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::write(&file, value).map_err(|e| e.to_string())?;
        let mut mode = *mode;
        if let Some(group) = fs_group {
            std::os::unix::fs::chown(&file, None, Some(group as u32)).map_err(|e| e.to_string())?;
            mode |= 0o440;
        }
        chmod(&file, mode);
        let top = path.split('/').next().unwrap_or(path).to_owned();
        if !tops.contains(&top) {
            tops.push(top);
        }
    }
    std::os::unix::fs::symlink(stamp, dir.join("..data")).map_err(|e| e.to_string())?;
    for top in tops {
        std::os::unix::fs::symlink(format!("..data/{top}"), dir.join(&top))
            .map_err(|e| e.to_string())?;
    }
    chmod(dir, 0o755);
    Ok(())
}

/// The kubelet's `fsGroup` handling: group ownership, group access and
/// setgid directories (for `OnRootMismatch`, only when the root differs).
fn apply_fs_group(dir: &Path, fs_group: Option<i64>, policy: Option<&str>, recursive: bool) {
    let Some(group) = fs_group else { return };
    let group = group as u32;
    if policy == Some("OnRootMismatch")
        && let Ok(meta) = std::fs::metadata(dir)
        && meta.gid() == group
        && meta.mode() & 0o2070 == 0o2070
    {
        return;
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.file_type().is_symlink() {
            continue;
        }
        let _ = std::os::unix::fs::chown(&path, None, Some(group));
        if meta.is_dir() {
            chmod(&path, (meta.mode() & 0o7777) | 0o2070);
            if recursive && let Ok(entries) = std::fs::read_dir(&path) {
                stack.extend(entries.flatten().map(|e| e.path()));
            }
        } else {
            chmod(&path, (meta.mode() & 0o7777) | 0o060);
        }
    }
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

fn sh(path: &Path) -> String {
    sh_str(&path.to_string_lossy())
}

fn sh_str(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Quotes a path that is appended to an already quoted prefix.
fn sh_inner(text: &str) -> String {
    sh_str(text)
}

// ---------------------------------------------------------------------------
// The Kopia stand-in's state, seen from the test

/// The stand-in's log and its bucket store (a host directory).
pub struct Standin {
    pub dir: PathBuf,
}

/// One logged `kopia` invocation.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Call {
    pub argv: Vec<String>,
    pub exit: i32,
    #[serde(default)]
    pub signal: Option<String>,
}

impl Call {
    /// The command path (`repository connect s3`), read with Kopia's
    /// command tree; flags (written `--name=value` by the scripts) skipped.
    pub fn command(&self) -> String {
        let mut node = command_tree();
        let mut words: Vec<&str> = Vec::new();
        for arg in &self.argv {
            if arg.starts_with('-') {
                continue;
            }
            let child = node["commands"].as_array().and_then(|children| {
                children.iter().find(|c| {
                    c["name"] == arg.as_str()
                        || c["aliases"]
                            .as_array()
                            .is_some_and(|a| a.iter().any(|x| x == arg.as_str()))
                })
            });
            match child {
                Some(child) => {
                    words.push(child["name"].as_str().unwrap_or(""));
                    node = child;
                }
                None => break,
            }
        }
        words.join(" ")
    }

    pub fn has(&self, arg: &str) -> bool {
        self.argv.iter().any(|a| a == arg)
    }

    /// The argument that starts with `prefix` (e.g. `--path=`).
    pub fn value(&self, prefix: &str) -> Option<&str> {
        self.argv.iter().find_map(|a| a.strip_prefix(prefix))
    }
}

impl Standin {
    /// A fresh state directory, world-writable (the pod runs as non-root).
    #[track_caller]
    pub fn new(name: &str) -> Standin {
        let dir = super::scratch(&format!("standin-{name}"));
        let standin = Standin { dir };
        std::fs::create_dir_all(standin.storage()).expect("storage dir");
        chmod(&standin.dir, 0o777);
        chmod(&standin.storage(), 0o777);
        std::fs::write(standin.log_path(), b"").expect("log");
        chmod(&standin.log_path(), 0o666);
        standin
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("log.jsonl")
    }

    /// The marker the stand-in writes when `KOPIA_STANDIN_PAUSE` holds it.
    pub fn paused_marker(&self) -> PathBuf {
        self.dir.join("log.jsonl.paused")
    }

    pub fn storage(&self) -> PathBuf {
        self.dir.join("storage")
    }

    /// Creates an (empty) S3 bucket at an endpoint (`s3.amazonaws.com` when
    /// the repository names none) and returns its directory.
    pub fn s3_bucket(&self, endpoint: &str, bucket: &str) -> PathBuf {
        let dir = self
            .storage()
            .join("s3")
            .join(quote(endpoint))
            .join(quote(bucket));
        std::fs::create_dir_all(&dir).expect("bucket dir");
        for d in [
            self.storage().join("s3"),
            dir.parent().unwrap().to_path_buf(),
            dir.clone(),
        ] {
            chmod(&d, 0o777);
        }
        dir
    }

    /// Every logged call, in order.
    pub fn calls(&self) -> Vec<Call> {
        std::fs::read_to_string(self.log_path())
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad log line {l:?}: {e}")))
            .collect()
    }

    /// The logged command words, with each call's exit status.
    pub fn commands(&self) -> Vec<(String, i32)> {
        self.calls().iter().map(|c| (c.command(), c.exit)).collect()
    }

    /// Empties the log (the repository state is kept).
    pub fn clear_log(&self) {
        std::fs::write(self.log_path(), b"").expect("clear log");
    }

    /// Prints the log, one `kopia …` line per call (shown by `--nocapture`).
    pub fn print_log(&self, title: &str) {
        println!("--- kopia calls: {title} ---");
        for call in self.calls() {
            let signal = call
                .signal
                .as_ref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            println!(
                "  [exit {}{signal}] kopia {}",
                call.exit,
                shell_words(&call.argv)
            );
        }
    }
}

/// Kopia's command tree (`commands` nested by name), from the vendored grammar.
fn command_tree() -> &'static Value {
    static TREE: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    TREE.get_or_init(|| {
        let text = std::fs::read_to_string(super::root().join("src/kopia/data/kopia-cli.json"))
            .expect("kopia-cli.json");
        let grammar: Value = serde_json::from_str(&text).expect("grammar JSON");
        serde_json::json!({"commands": grammar["tree"]})
    })
}

/// argv as a shell would need it quoted (for reading, not for running).
pub fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_=./:@%+,".contains(c))
            {
                a.clone()
            } else {
                sh_str(a)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Percent-encodes like Python's `urllib.parse.quote(text, safe="")`.
fn quote(text: &str) -> String {
    if text.is_empty() {
        return "%".to_owned();
    }
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Unused in pods, but handy: the mode of a host path.
pub fn mode_of(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .map(|m| m.mode() & 0o7777)
        .unwrap_or(0)
}

/// chmod for tests (a volume the non-root mover may write to, ...).
pub fn chmod_path(path: &Path, mode: u32) {
    chmod(path, mode);
}
