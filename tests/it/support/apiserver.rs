//! A real Kubernetes control plane for the tests: etcd, kube-apiserver and
//! kube-controller-manager (only its CronJob and ServiceAccount
//! controllers), built by `.ci/install-tools` from the modules pinned in
//! `tests/controlplane/go.mod`, started once per test binary on free
//! loopback ports.
//!
//! - TLS from a CA generated here with `openssl`; the admin is a static
//!   token (`--token-auth-file`) in `system:masters`; RBAC is the only
//!   authorizer, so ServiceAccounts get exactly what their Roles grant.
//! - Every process runs under `setpriv --pdeathsig KILL` from a thread that
//!   never ends: when the test binary exits (or is killed), the kernel kills
//!   the control plane, so no orphan keeps CI waiting.
//! - The VolumeSnapshot CRD (from the vendored schema in
//!   `tests/fixtures/crds/`) and a PrometheusRule CRD are installed before
//!   any test runs.
//!
//! Missing binaries fail the test loudly; there is no fallback.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The control plane of this test binary.
pub struct ControlPlane {
    /// The scratch directory with the certificates, logs and etcd's data.
    pub dir: PathBuf,
    /// `https://127.0.0.1:<port>`.
    pub server: String,
    pub port: u16,
    /// The CA that signed the serving certificate (a pod's `ca.crt`).
    pub ca: PathBuf,
    /// A kubeconfig for the admin (`system:masters`).
    pub kubeconfig: PathBuf,
    /// The Pod Security level each namespace was last given.
    levels: Mutex<BTreeMap<String, String>>,
}

static CONTROL_PLANE: OnceLock<ControlPlane> = OnceLock::new();
static HELD: Mutex<Held> = Mutex::new(Held {
    namespaces: BTreeSet::new(),
    dirty: BTreeSet::new(),
});
static RELEASED: Condvar = Condvar::new();

/// The namespaces tests hold, and those a failed test let go of.
struct Held {
    namespaces: BTreeSet<String>,
    dirty: BTreeSet<String>,
}

/// The control plane, started on first use.
pub fn control_plane() -> &'static ControlPlane {
    CONTROL_PLANE.get_or_init(start)
}

/// Tests that apply the examples share their namespaces: they hold the
/// namespaces they apply to, and leave them empty when they let go. Two
/// tests run side by side as long as they hold no namespace in common (an
/// output's cluster-scoped objects carry their namespace in their names).
/// All or nothing: this waits until every one of `names` is free, so no
/// two holders can wait on each other.
/// A test that failed holding a namespace may have left objects behind: the
/// next holder starts from an empty namespace.
pub fn hold_namespaces<S: Into<String>>(names: impl IntoIterator<Item = S>) -> NamespacesHeld {
    let names: BTreeSet<String> = names.into_iter().map(Into::into).collect();
    let mut held = HELD.lock().unwrap_or_else(PoisonError::into_inner);
    while names.iter().any(|name| held.namespaces.contains(name)) {
        held = RELEASED.wait(held).unwrap_or_else(PoisonError::into_inner);
    }
    take(held, names)
}

/// `hold_namespaces` if every one of `names` is free now, or None.
pub fn try_hold_namespaces(names: &BTreeSet<String>) -> Option<NamespacesHeld> {
    let held = HELD.lock().unwrap_or_else(PoisonError::into_inner);
    if names.iter().any(|name| held.namespaces.contains(name)) {
        return None;
    }
    Some(take(held, names.clone()))
}

fn take(mut held: MutexGuard<'_, Held>, names: BTreeSet<String>) -> NamespacesHeld {
    held.namespaces.extend(names.iter().cloned());
    let dirty: Vec<String> = names.intersection(&held.dirty).cloned().collect();
    for name in &dirty {
        held.dirty.remove(name);
    }
    drop(held);
    // Held before the wipe: a wipe that fails marks them dirty again.
    let guard = NamespacesHeld { names };
    if !dirty.is_empty() {
        control_plane().wipe(&dirty);
    }
    guard
}

/// Namespaces a test holds (`hold_namespaces`) until this is dropped.
#[must_use = "the namespaces are free again once this is dropped"]
pub struct NamespacesHeld {
    names: BTreeSet<String>,
}

impl Drop for NamespacesHeld {
    fn drop(&mut self) {
        let mut held = HELD.lock().unwrap_or_else(PoisonError::into_inner);
        for name in &self.names {
            held.namespaces.remove(name);
            if std::thread::panicking() {
                held.dirty.insert(name.clone());
            }
        }
        drop(held);
        RELEASED.notify_all();
    }
}

/// Where `.ci/install-tools` puts the binaries.
pub fn binaries_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("KOPIAPLAN_CONTROLPLANE_DIR") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .expect("HOME is set");
    cache.join("kopiaplan").join("controlplane")
}

/// The binaries' stamp: the SHA-256 of the wrapper module's go.mod and
/// go.sum, which pin every version. install-tools writes the same.
fn expected_stamp() -> String {
    use sha2::{Digest, Sha256};
    let module = super::root().join("tests").join("controlplane");
    let mut hash = Sha256::new();
    for file in ["go.mod", "go.sum"] {
        hash.update(std::fs::read(module.join(file)).expect("tests/controlplane/go.*"));
    }
    hash.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
}

fn binary(name: &str) -> PathBuf {
    if let Some(missing) = binary_missing(name) {
        panic!("this test needs {missing}");
    }
    binaries_dir().join("bin").join(name)
}

/// What is wrong with the control plane's binaries, or None when all three
/// are there and built from this tests/controlplane/go.mod.
pub fn binaries_missing() -> Option<String> {
    ["etcd", "kube-apiserver", "kube-controller-manager"]
        .into_iter()
        .find_map(binary_missing)
}

fn binary_missing(name: &str) -> Option<String> {
    let dir = binaries_dir();
    let path = dir.join("bin").join(name);
    let stamp = std::fs::read_to_string(dir.join("stamp")).unwrap_or_default();
    (!path.is_file() || stamp.trim() != expected_stamp()).then(|| {
        format!(
            "the test control plane: {} is missing or was built from another \
             tests/controlplane/go.mod. Run `.ci/install-tools`, which builds etcd, \
             kube-apiserver and kube-controller-manager with Go into {} (or set \
             KOPIAPLAN_CONTROLPLANE_DIR)",
            path.display(),
            dir.display()
        )
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = super::run(
        Command::new(super::require_tool("openssl"))
            .args(args)
            .current_dir(dir),
        None,
    );
    assert!(
        output.status.success(),
        "openssl {args:?} failed:\n{}",
        super::stderr(&output)
    );
}

/// A CA, a serving certificate for 127.0.0.1 signed by it, and the
/// ServiceAccount token signing key pair.
fn certificates(dir: &Path) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    let mut ca = vec!["req", "-x509", "-nodes", "-days", "2"];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.crt"]);
    ca.extend(["-subj", "/CN=kopiaplan-test-ca"]);
    openssl(dir, &ca);
    let mut request = vec!["req", "-nodes"];
    request.extend(ec);
    request.extend(["-keyout", "server.key", "-out", "server.csr"]);
    request.extend(["-subj", "/CN=kube-apiserver"]);
    openssl(dir, &request);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n\
         extendedKeyUsage=serverAuth\n",
    )
    .expect("server.ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.crt",
        ],
    );
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "service-account.key",
        ],
    );
    openssl(
        dir,
        &[
            "pkey",
            "-in",
            "service-account.key",
            "-pubout",
            "-out",
            "service-account.pub",
        ],
    );
}

/// A kubeconfig (JSON is valid YAML) for `token` against `server`.
pub fn write_kubeconfig(path: &Path, server: &str, ca: &Path, user: &str, token: &str) {
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "test", "cluster": {
            "server": server,
            "certificate-authority": ca,
        }}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": user}}],
        "current-context": "test",
    });
    std::fs::write(path, serde_json::to_vec_pretty(&config).expect("json")).expect("kubeconfig");
}

/// Starts `argv` under `setpriv --pdeathsig KILL`, its output in `log`.
/// Called from the keeper thread only: the death signal follows the thread
/// that forked, and that thread lives as long as the process.
fn spawn(argv: &[String], log: &Path) -> std::process::Child {
    let log = std::fs::File::create(log).expect("log file");
    Command::new(super::require_tool("setpriv"))
        .args(["--pdeathsig", "KILL", "--"])
        .args(argv)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {argv:?}: {e}"))
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn start() -> ControlPlane {
    let etcd = binary("etcd");
    let apiserver = binary("kube-apiserver");
    let controller_manager = binary("kube-controller-manager");
    super::require_tool("kubectl");
    let dir = super::scratch("controlplane");
    certificates(&dir);
    let token = format!("admin-{}-{:x}", std::process::id(), rand_ish());
    std::fs::write(
        dir.join("tokens.csv"),
        format!("{token},admin,admin-uid,system:masters\n"),
    )
    .expect("tokens.csv");
    let port = free_port();
    let server = format!("https://127.0.0.1:{port}");
    let ca = dir.join("ca.crt");
    let kubeconfig = dir.join("admin.kubeconfig");
    write_kubeconfig(&kubeconfig, &server, &ca, "admin", &token);

    let etcd_port = free_port();
    let peer_port = free_port();
    let path = |name: &str| dir.join(name).display().to_string();
    let etcd_argv: Vec<String> = vec![
        etcd.display().to_string(),
        format!("--data-dir={}", path("etcd")),
        format!("--listen-client-urls=http://127.0.0.1:{etcd_port}"),
        format!("--advertise-client-urls=http://127.0.0.1:{etcd_port}"),
        format!("--listen-peer-urls=http://127.0.0.1:{peer_port}"),
        format!("--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}"),
        format!("--initial-cluster=default=http://127.0.0.1:{peer_port}"),
        "--unsafe-no-fsync".into(),
        "--log-level=warn".into(),
    ];
    let apiserver_argv: Vec<String> = vec![
        apiserver.display().to_string(),
        format!("--etcd-servers=http://127.0.0.1:{etcd_port}"),
        "--bind-address=127.0.0.1".into(),
        "--advertise-address=127.0.0.1".into(),
        format!("--secure-port={port}"),
        format!("--cert-dir={}", path("apiserver-certs")),
        format!("--tls-cert-file={}", path("server.crt")),
        format!("--tls-private-key-file={}", path("server.key")),
        format!("--client-ca-file={}", path("ca.crt")),
        format!("--token-auth-file={}", path("tokens.csv")),
        "--authorization-mode=RBAC".into(),
        "--service-account-issuer=https://kubernetes.default.svc".into(),
        format!("--service-account-key-file={}", path("service-account.pub")),
        format!(
            "--service-account-signing-key-file={}",
            path("service-account.key")
        ),
        "--service-cluster-ip-range=10.96.0.0/16".into(),
        "--allow-privileged=true".into(),
        // Its finalizer is removed by a controller this control plane does
        // not run: a claim could never be deleted between two applies.
        "--disable-admission-plugins=StorageObjectInUseProtection".into(),
        "--enable-priority-and-fairness=false".into(),
        "--profiling=false".into(),
        "--v=0".into(),
    ];
    let controller_manager_argv: Vec<String> = vec![
        controller_manager.display().to_string(),
        format!("--kubeconfig={}", kubeconfig.display()),
        // CronJobs create Jobs; every namespace gets its `default`
        // ServiceAccount. No Job controller: nothing runs the Pods, and the
        // tests write Job status themselves.
        "--controllers=cronjob,serviceaccount".into(),
        "--leader-elect=false".into(),
        "--secure-port=0".into(),
        "--v=0".into(),
    ];
    let (sender, receiver) = std::sync::mpsc::channel();
    let logs = dir.clone();
    let wait_for_ready = {
        let kubeconfig = kubeconfig.clone();
        move || {
            let deadline = Instant::now() + Duration::from_secs(180);
            loop {
                let output = kubectl_as(&kubeconfig, &["get", "--raw=/readyz"], None);
                if output.status.success() {
                    return Ok(());
                }
                if Instant::now() > deadline {
                    return Err(super::stderr(&output));
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    };
    std::thread::Builder::new()
        .name("control-plane".into())
        .spawn(move || {
            let mut children = vec![
                spawn(&etcd_argv, &logs.join("etcd.log")),
                spawn(&apiserver_argv, &logs.join("kube-apiserver.log")),
            ];
            let ready = wait_for_ready();
            if ready.is_ok() {
                children.push(spawn(
                    &controller_manager_argv,
                    &logs.join("kube-controller-manager.log"),
                ));
            }
            let _ = sender.send(ready);
            // Keep the children's parent thread alive until the process ends.
            loop {
                std::thread::park();
                let _ = &children;
            }
        })
        .expect("control-plane thread");
    let ready = receiver.recv().expect("the control-plane thread answers");
    if let Err(last) = ready {
        panic!(
            "kube-apiserver did not become ready in 180 s (last kubectl error: {last})\n\
             --- etcd.log ---\n{}\n--- kube-apiserver.log ---\n{}",
            tail(&dir.join("etcd.log")),
            tail(&dir.join("kube-apiserver.log"))
        );
    }
    let plane = ControlPlane {
        dir,
        server,
        port,
        ca,
        kubeconfig,
        levels: Mutex::new(BTreeMap::new()),
    };
    plane.install_crds();
    plane
}

/// Not random, but different per run: the admin token only needs to be
/// unguessable by accident.
fn rand_ish() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

/// Runs the real `kubectl` with `kubeconfig`.
pub fn kubectl_as(kubeconfig: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    super::run(
        Command::new("kubectl")
            .args(args)
            .env("KUBECONFIG", kubeconfig)
            .env_remove("KUBERNETES_SERVICE_HOST"),
        stdin,
    )
}

impl ControlPlane {
    /// `kubectl` as the admin.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        kubectl_as(&self.kubeconfig, args, None)
    }

    pub fn kubectl_stdin(&self, args: &[&str], stdin: &[u8]) -> Output {
        kubectl_as(&self.kubeconfig, args, Some(stdin))
    }

    /// `kubectl` as the admin, which must succeed; its stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let output = self.kubectl(args);
        assert!(
            output.status.success(),
            "kubectl {args:?} failed:\n{}",
            super::stderr(&output)
        );
        super::stdout(&output)
    }

    /// Applies objects (as a JSON List) as the admin, server-side; the
    /// output, which the caller checks.
    pub fn apply(&self, objects: &[Value], extra: &[&str]) -> Output {
        let list = json!({"apiVersion": "v1", "kind": "List", "items": objects});
        let mut args = vec![
            "apply",
            "--server-side",
            "--field-manager=kopiaplan-tests",
            "-f",
            "-",
        ];
        args.extend(extra);
        self.kubectl_stdin(&args, &serde_json::to_vec(&list).expect("json"))
    }

    /// Creates (or relabels) namespaces whose Pod Security level is
    /// enforced at `level` (`restricted`, `baseline` or `privileged`), in
    /// one server-side apply of Namespace objects that carry only the Pod
    /// Security labels. Its own field
    /// manager: an output's Namespace, applied as `kopiaplan-tests`, neither
    /// removes the labels nor conflicts with them. Namespaces already at
    /// `level` (as this binary last set them; nothing deletes a namespace
    /// here) are left alone.
    pub fn namespaces<'a>(&self, names: impl IntoIterator<Item = &'a str>, level: &str) {
        let mut levels = self.levels.lock().unwrap_or_else(|p| p.into_inner());
        let items: Vec<Value> = names
            .into_iter()
            .filter(|name| levels.get(*name).map(String::as_str) != Some(level))
            .map(|name| {
                json!({
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": name, "labels": {
                        "pod-security.kubernetes.io/enforce": level,
                        "pod-security.kubernetes.io/enforce-version": "latest",
                    }},
                })
            })
            .collect();
        if items.is_empty() {
            return;
        }
        let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
        let args = [
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager=kopiaplan-tests-pod-security",
            "-f",
            "-",
        ];
        let output = self.kubectl_stdin(&args, &serde_json::to_vec(&list).expect("json"));
        assert!(
            output.status.success(),
            "kubectl {args:?} of the namespaces {:?} at {level} failed:\n{}",
            items
                .iter()
                .map(|n| &n["metadata"]["name"])
                .collect::<Vec<_>>(),
            super::stderr(&output)
        );
        for item in &items {
            let name = item["metadata"]["name"].as_str().expect("name");
            levels.insert(name.to_owned(), level.to_owned());
        }
    }

    /// `kubectl create --dry-run=server` of `objects` in one call (a List),
    /// and what the server said of each, in order: Ok, or the error kubectl
    /// printed for it. kubectl goes on past an object the server refuses,
    /// prints each one it accepted as `kind.group/name`, and each refusal
    /// as `… error when creating "STDIN": <resource> "<name>" …`. Two
    /// objects of one kind and name would be indistinguishable: callers
    /// name them apart.
    pub fn create_dry_run_each(&self, objects: &[Value]) -> Vec<Result<(), String>> {
        let keys: Vec<(String, String)> = objects.iter().map(created_as).collect();
        let mut seen = BTreeSet::new();
        for key in &keys {
            assert!(
                seen.insert(key),
                "two objects {}/{} in one batch of dry runs",
                key.0,
                key.1
            );
        }
        if objects.is_empty() {
            return Vec::new();
        }
        let list = json!({"apiVersion": "v1", "kind": "List", "items": objects});
        let output = self.kubectl_stdin(
            &["create", "--dry-run=server", "-o", "name", "-f", "-"],
            &serde_json::to_vec(&list).expect("json"),
        );
        let created: BTreeSet<&str> = std::str::from_utf8(&output.stdout)
            .unwrap_or_default()
            .lines()
            .collect();
        let errors = creation_errors(&super::stderr(&output));
        let results: Vec<Result<(), String>> = keys
            .iter()
            .map(|(prefix, name)| {
                if created.contains(format!("{prefix}/{name}").as_str()) {
                    return Ok(());
                }
                let own: Vec<&str> = errors
                    .iter()
                    .filter(|(named, _)| named.as_deref() == Some(name.as_str()))
                    .map(|(_, text)| text.as_str())
                    .collect();
                Err(if own.is_empty() {
                    format!(
                        "{prefix}/{name} was not created, and no error names it; \
                         kubectl said:\n{}",
                        super::stderr(&output)
                    )
                } else {
                    own.join("\n")
                })
            })
            .collect();
        // A failed call that accepted every object, or the reverse, is a
        // kubectl this code does not understand.
        assert_eq!(
            output.status.success(),
            results.iter().all(Result::is_ok),
            "kubectl create --dry-run=server of {} objects: exit status and output disagree:\n{}{}",
            objects.len(),
            super::stdout(&output),
            super::stderr(&output)
        );
        results
    }

    /// A kubeconfig that acts as a ServiceAccount, with a fresh token from
    /// the TokenRequest API.
    pub fn service_account_kubeconfig(&self, namespace: &str, name: &str) -> (PathBuf, String) {
        let token = self.service_account_token(namespace, name);
        let path = self.dir.join(format!("sa-{namespace}-{name}.kubeconfig"));
        write_kubeconfig(&path, &self.server, &self.ca, name, &token);
        (path, token)
    }

    pub fn service_account_token(&self, namespace: &str, name: &str) -> String {
        self.kubectl_ok(&["create", "token", name, "-n", namespace])
            .trim()
            .to_owned()
    }

    /// What a pod's kubelet mounts at
    /// `/var/run/secrets/kubernetes.io/serviceaccount`, for `name`.
    pub fn service_account_volume(&self, namespace: &str, name: &str) -> PathBuf {
        let dir = self.dir.join(format!("sa-{namespace}-{name}"));
        std::fs::create_dir_all(&dir).expect("service account dir");
        std::fs::write(
            dir.join("token"),
            self.service_account_token(namespace, name),
        )
        .expect("token");
        std::fs::copy(&self.ca, dir.join("ca.crt")).expect("ca.crt");
        std::fs::write(dir.join("namespace"), namespace).expect("namespace");
        dir
    }

    /// Deletes the objects of every kind an output holds from `namespaces`.
    pub fn wipe(&self, namespaces: &[String]) {
        for namespace in namespaces {
            self.kubectl_ok(&[
                "delete",
                "cronjobs.batch,jobs.batch,configmaps,secrets,persistentvolumeclaims,roles,\
                 rolebindings,volumesnapshots.snapshot.storage.k8s.io",
                "--all",
                "--wait=true",
                "-n",
                namespace,
            ]);
            self.kubectl_ok(&[
                "delete",
                "serviceaccounts",
                "--field-selector=metadata.name!=default",
                "--wait=true",
                "-n",
                namespace,
            ]);
        }
    }

    fn install_crds(&self) {
        let crds = [volume_snapshot_crd(), prometheus_rule_crd()];
        let output = self.apply(&crds, &[]);
        assert!(
            output.status.success(),
            "the CRDs do not install:\n{}",
            super::stderr(&output)
        );
        self.kubectl_ok(&[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/volumesnapshots.snapshot.storage.k8s.io",
            "crd/prometheusrules.monitoring.coreos.com",
        ]);
    }
}

/// How `kubectl create -o name` prints an object: `kind` or `kind.group`,
/// and its name.
fn created_as(object: &Value) -> (String, String) {
    let kind = object["kind"].as_str().expect("kind").to_lowercase();
    let group = object["apiVersion"]
        .as_str()
        .and_then(|version| version.rsplit_once('/'))
        .map(|(group, _)| group);
    let prefix = match group {
        Some(group) => format!("{kind}.{group}"),
        None => kind,
    };
    let name = object["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    (prefix, name)
}

/// kubectl's errors, one per entry (a line starting `Error from server`
/// or `error:` and the lines that continue it), each with the first quoted
/// name after `error when creating "STDIN": `, which is the object's (or,
/// for a missing namespace, the namespace's).
fn creation_errors(stderr: &str) -> Vec<(Option<String>, String)> {
    let mut entries: Vec<String> = Vec::new();
    for line in stderr.lines() {
        match entries.last_mut() {
            Some(last) if !line.starts_with("Error from server") && !line.starts_with("error:") => {
                last.push('\n');
                last.push_str(line);
            }
            _ => entries.push(line.to_owned()),
        }
    }
    entries
        .into_iter()
        .map(|entry| {
            let named = entry
                .split_once("error when creating \"STDIN\": ")
                .and_then(|(_, rest)| rest.split('"').nth(1))
                .map(str::to_owned);
            (named, entry)
        })
        .collect()
}

/// The VolumeSnapshot CRD, its schema the vendored strict JSON Schema made
/// structural: `const` becomes the field's type, `additionalProperties:
/// false` goes (a CRD prunes unknown fields instead), `metadata` is left to
/// the server, and `status` carries the fields the tests set.
pub fn volume_snapshot_crd() -> Value {
    let path = super::root().join("tests/fixtures/crds/volumesnapshot-v1.schema.json");
    let schema: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("vendored VolumeSnapshot schema"))
            .expect("JSON");
    let mut schema = structural(schema);
    schema["properties"]["metadata"] = json!({"type": "object"});
    schema["properties"]["status"] = json!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "properties": {
            "boundVolumeSnapshotContentName": {"type": "string"},
            "readyToUse": {"type": "boolean"},
            "restoreSize": {"type": "string"},
        },
    });
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": "volumesnapshots.snapshot.storage.k8s.io",
            // `*.k8s.io` groups need it; the upstream CRD carries this one.
            "annotations": {
                "api-approved.kubernetes.io":
                    "https://github.com/kubernetes-csi/external-snapshotter/pull/814",
            },
        },
        "spec": {
            "group": "snapshot.storage.k8s.io",
            "names": {
                "kind": "VolumeSnapshot",
                "listKind": "VolumeSnapshotList",
                "plural": "volumesnapshots",
                "singular": "volumesnapshot",
                "shortNames": ["vs"],
            },
            "scope": "Namespaced",
            "versions": [{
                "name": "v1",
                "served": true,
                "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": schema},
            }],
        },
    })
}

fn structural(schema: Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (key, value) in map {
                match key.as_str() {
                    "$schema" | "title" => {}
                    "additionalProperties" if value == Value::Bool(false) => {}
                    "const" => {
                        out.insert("type".into(), json!("string"));
                        out.insert("enum".into(), json!([value]));
                    }
                    _ => {
                        out.insert(key, structural(value));
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(structural).collect()),
        other => other,
    }
}

/// A minimal PrometheusRule CRD (monitoring.coreos.com/v1): the groups and
/// rules the Prometheus Operator reads, the rest preserved.
pub fn prometheus_rule_crd() -> Value {
    let rule = json!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "properties": {
            "alert": {"type": "string"},
            "record": {"type": "string"},
            "expr": {"x-kubernetes-int-or-string": true},
            "for": {"type": "string"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "required": ["expr"],
    });
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "prometheusrules.monitoring.coreos.com"},
        "spec": {
            "group": "monitoring.coreos.com",
            "names": {
                "kind": "PrometheusRule",
                "listKind": "PrometheusRuleList",
                "plural": "prometheusrules",
                "singular": "prometheusrule",
                "categories": ["prometheus-operator"],
            },
            "scope": "Namespaced",
            "versions": [{
                "name": "v1",
                "served": true,
                "storage": true,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "required": ["spec"],
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "metadata": {"type": "object"},
                        "spec": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": true,
                            "properties": {
                                "groups": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "x-kubernetes-preserve-unknown-fields": true,
                                        "required": ["name"],
                                        "properties": {
                                            "name": {"type": "string", "minLength": 1},
                                            "interval": {"type": "string"},
                                            "rules": {"type": "array", "items": rule},
                                        },
                                    },
                                },
                            },
                        },
                    },
                }},
            }],
        },
    })
}

/// Writes `text` to a file in the control plane's directory.
pub fn scratch_file(plane: &ControlPlane, name: &str, text: &str) -> PathBuf {
    let path = plane.dir.join(name);
    let mut file = std::fs::File::create(&path).expect("scratch file");
    file.write_all(text.as_bytes()).expect("write scratch file");
    path
}
