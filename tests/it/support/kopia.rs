//! The real Kopia binary, v0.23.1: found once per test run, laid out as the
//! stock image has it for the pod harness, and run on the host to inspect
//! what a pod left in a repository, as a person would.
//!
//! `.ci/install-tools` builds it from the Go module proxy's copy of
//! `github.com/kopia/kopia@v0.23.1` into `/usr/local/bin/kopia`;
//! `KOPIAPLAN_TEST_KOPIA` may name another build of the same version.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

/// The version every test runs against: the stock mover image's.
pub const KOPIA_VERSION: &str = "0.23.1";

pub struct RealKopia;

impl RealKopia {
    /// The real binary, its version checked. Missing or of another version,
    /// the test fails and says how to install it.
    pub fn binary() -> &'static Path {
        static BINARY: OnceLock<PathBuf> = OnceLock::new();
        BINARY.get_or_init(|| Self::find().unwrap_or_else(|e| panic!("this test needs {e}")))
    }

    /// The real binary at the expected version, or what is wrong.
    pub fn find() -> Result<PathBuf, String> {
        let install = format!(
            "run `.ci/install-tools` (it builds github.com/kopia/kopia@v{KOPIA_VERSION} with Go) \
             or set KOPIAPLAN_TEST_KOPIA to such a binary"
        );
        let path = std::env::var_os("KOPIAPLAN_TEST_KOPIA")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("PATH").and_then(|paths| {
                    std::env::split_paths(&paths)
                        .map(|dir| dir.join("kopia"))
                        .find(|candidate| candidate.is_file())
                })
            })
            .ok_or_else(|| format!("the real `kopia` {KOPIA_VERSION}, not installed: {install}"))?;
        let out = Command::new(&path).arg("--version").output().map_err(|e| {
            format!(
                "the real `kopia` {KOPIA_VERSION}: cannot run {}: {e}",
                path.display()
            )
        })?;
        let version = String::from_utf8_lossy(&out.stdout);
        if !version.starts_with(&format!("{KOPIA_VERSION} ")) {
            return Err(format!(
                "the real `kopia` {KOPIA_VERSION}, but {} is Kopia {version:?}: {install}",
                path.display()
            ));
        }
        Ok(path)
    }

    /// A directory holding `bin/kopia` and nothing else: the layer the
    /// pod harness puts over the host's `/usr`.
    pub fn image_layer() -> PathBuf {
        static LAYER: OnceLock<PathBuf> = OnceLock::new();
        LAYER
            .get_or_init(|| {
                let layer = super::scratch("kopia-image-layer");
                std::fs::create_dir_all(layer.join("bin")).expect("layer bin");
                let target = layer.join("bin/kopia");
                std::fs::copy(Self::binary(), &target).expect("copy kopia into the layer");
                super::pod::chmod_path(&target, 0o755);
                super::pod::chmod_path(&layer.join("bin"), 0o755);
                super::pod::chmod_path(&layer, 0o755);
                layer
            })
            .clone()
    }
}

/// Kopia on the host, with its own config, cache and logs, connected to a
/// repository that pods wrote.
pub struct HostKopia {
    home: PathBuf,
    password: String,
    /// Extra variables for every call (a storage emulator's address, keys).
    env: Vec<(String, String)>,
}

impl HostKopia {
    /// Connects to the filesystem repository at `path` (read-only: the
    /// host never creates one).
    #[track_caller]
    pub fn filesystem(name: &str, path: &Path, password: &str) -> HostKopia {
        let host = HostKopia {
            home: super::scratch(&format!("host-kopia-{name}")),
            password: password.to_owned(),
            env: Vec::new(),
        };
        host.ok(&[
            "repository",
            "connect",
            "filesystem",
            &format!("--path={}", path.display()),
            "--readonly",
        ]);
        host
    }

    /// Creates a new filesystem repository at `path`, for tests that need
    /// one of their own.
    #[track_caller]
    pub fn create_filesystem(name: &str, path: &Path, password: &str) -> HostKopia {
        let host = HostKopia {
            home: super::scratch(&format!("host-kopia-{name}")),
            password: password.to_owned(),
            env: Vec::new(),
        };
        host.ok(&[
            "repository",
            "create",
            "filesystem",
            &format!("--path={}", path.display()),
        ]);
        host
    }

    /// Creates a repository with `kopia repository create ARGS` (the
    /// backend and its flags), with `env` for this and every later call.
    #[track_caller]
    pub fn create(name: &str, password: &str, args: &[&str], env: &[(&str, &str)]) -> HostKopia {
        let host = HostKopia {
            home: super::scratch(&format!("host-kopia-{name}")),
            password: password.to_owned(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        let mut all = vec!["repository", "create"];
        all.extend_from_slice(args);
        host.ok(&all);
        host
    }

    /// Runs `kopia ARGS` and returns what it did.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(RealKopia::binary())
            .args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &self.home)
            .env("KOPIA_CONFIG_PATH", self.home.join("repository.config"))
            .env("KOPIA_CACHE_DIRECTORY", self.home.join("cache"))
            .env("KOPIA_LOG_DIR", self.home.join("logs"))
            .env("KOPIA_PASSWORD", &self.password)
            .env("KOPIA_CHECK_FOR_UPDATES", "false")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("run kopia")
    }

    /// Runs `kopia ARGS`, which must succeed, and returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kopia {} failed:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `kopia ARGS --json` and parses its output.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let text = self.ok(&all);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("kopia {} gave no JSON ({e}):\n{text}", all.join(" ")))
    }

    /// Every snapshot of `source` (`user@host:path`), oldest first.
    pub fn snapshots(&self, source: &str) -> Vec<Value> {
        match self.json(&["snapshot", "list", source]) {
            Value::Array(list) => list,
            other => panic!("snapshot list gave {other}"),
        }
    }
}
