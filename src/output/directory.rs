//! `compile --output-dir`: one file per object in a predictable layout plus a
//! `kustomization.yaml` listing them, written beside the target and renamed
//! into place so that a failure never leaves a half-written directory.
//!
//! Layout: `<namespace>/<kind-lowercase>-<name>.yaml` (`.json` with
//! `--format json`); objects without a namespace (cluster-scoped ones such as
//! Namespaces) go to `_cluster/`, a name no namespace can have.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::{Format, Object};

/// The directory for objects without a namespace.
pub const CLUSTER_DIRECTORY: &str = "_cluster";

/// The first line of every `kustomization.yaml` we write. An existing
/// directory is only replaced when it is empty or starts with this line, so a
/// mistyped `--output-dir` never deletes someone's files.
pub const MARKER: &str = "# Written by `kopiaplan compile --output-dir`: \
                          the whole directory is replaced on every run.";

/// One file to write: a path relative to the output directory, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    pub path: PathBuf,
    pub text: String,
    /// The file holds a Secret: it is written with mode 0600.
    pub private: bool,
}

/// The files of an output directory: one per object, then the
/// `kustomization.yaml`. Paths are sorted; the same objects always give the
/// same files.
pub fn layout(objects: &[Object], format: Format) -> Result<Vec<OutputFile>, String> {
    let extension = match format {
        Format::Yaml => "yaml",
        Format::Json => "json",
    };
    let mut files = Vec::with_capacity(objects.len() + 1);
    for object in objects {
        let directory = if object.namespace.is_empty() {
            CLUSTER_DIRECTORY
        } else {
            check_component(object, "namespace", &object.namespace)?;
            &object.namespace
        };
        check_component(object, "name", &object.name)?;
        let file_name = format!(
            "{}-{}.{extension}",
            object.kind.to_ascii_lowercase(),
            object.name
        );
        check_component(object, "kind", &object.kind)?;
        let text = match format {
            Format::Yaml => object.yaml()?.into_owned(),
            Format::Json => {
                let mut text =
                    serde_json::to_string_pretty(&object.value()).map_err(|e| e.to_string())?;
                text.push('\n');
                text
            }
        };
        files.push(OutputFile {
            path: Path::new(directory).join(file_name),
            text,
            private: object.kind == "Secret",
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    if let Some(pair) = files.windows(2).find(|pair| pair[0].path == pair[1].path) {
        return Err(format!(
            "two objects would be written to {}",
            pair[0].path.display()
        ));
    }
    let mut kustomization =
        format!("{MARKER}\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n");
    if files.is_empty() {
        kustomization.push_str("resources: []\n");
    } else {
        kustomization.push_str("resources:\n");
        for file in &files {
            // Paths are built from checked names (no quoting needed) and use
            // `/` on every platform, as kustomize expects.
            let relative: Vec<String> = file
                .path
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            kustomization.push_str(&format!("  - {}\n", relative.join("/")));
        }
    }
    files.push(OutputFile {
        path: PathBuf::from("kustomization.yaml"),
        text: kustomization,
        private: false,
    });
    Ok(files)
}

/// A namespace, name or kind becomes part of a path: it must be a plain file
/// name. Kubernetes names always are; a malformed input object may not be.
fn check_component(object: &Object, what: &str, value: &str) -> Result<(), String> {
    let plain = !value.is_empty()
        && !value.starts_with('.')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if plain {
        Ok(())
    } else {
        Err(format!(
            "cannot write the {} `{}/{}` to a file: its {what} `{value}` is not a valid \
             Kubernetes name",
            object.kind, object.namespace, object.name
        ))
    }
}

#[derive(Debug)]
pub enum WriteError {
    /// The target exists and is not a directory kopiaplan wrote.
    Refused { target: PathBuf, reason: String },
    Io {
        path: PathBuf,
        action: &'static str,
        error: io::Error,
    },
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Refused { target, reason } => {
                write!(f, "refusing to replace {}: {reason}", target.display())
            }
            WriteError::Io {
                path,
                action,
                error,
            } => write!(f, "cannot {action} {}: {error}", path.display()),
        }
    }
}

impl std::error::Error for WriteError {}

impl crate::diagnostics::DiagnosticKind for WriteError {
    fn code(&self) -> crate::diagnostics::Code {
        use crate::diagnostics::Code;
        match self {
            WriteError::Refused { .. } => Code::OutputDirectoryRefused,
            WriteError::Io { .. } => Code::OutputNotWritten,
        }
    }
}

fn io_error(path: &Path, action: &'static str) -> impl FnOnce(io::Error) -> WriteError {
    let path = path.to_owned();
    move |error| WriteError::Io {
        path,
        action,
        error,
    }
}

/// Replaces `target` with a directory holding exactly `files`.
///
/// The files are written into a fresh sibling directory which is then
/// renamed into place; the previous directory is moved aside first and
/// removed last. On any failure the sibling is removed and `target` is left
/// as it was. (Between the two renames `target` is briefly absent: readers
/// see the old or the new directory or none, never a mix.)
pub fn write(target: &Path, files: &[OutputFile]) -> Result<(), WriteError> {
    let existing = match std::fs::symlink_metadata(target) {
        Ok(_) => {
            Some(std::fs::canonicalize(target).map_err(io_error(target, "resolve the directory"))?)
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => None,
        Err(error) => return Err(io_error(target, "read")(error)),
    };
    let target = match &existing {
        Some(real) => {
            check_replaceable(real)?;
            real.clone()
        }
        None => target.to_owned(),
    };
    let name = target
        .file_name()
        .ok_or_else(|| WriteError::Refused {
            target: target.clone(),
            reason: "the path has no directory name".to_owned(),
        })?
        .to_string_lossy()
        .into_owned();
    let parent = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io_error(&parent, "create the directory"))?;

    let staging = Sibling::create(&parent, &name, "new")?;
    for file in files {
        let path = staging.path.join(&file.path);
        if let Some(directory) = path.parent() {
            std::fs::create_dir_all(directory)
                .map_err(io_error(directory, "create the directory"))?;
        }
        super::write_file(&path, &file.text, file.private).map_err(io_error(&path, "write"))?;
    }

    if existing.is_none() {
        std::fs::rename(&staging.path, &target).map_err(io_error(&target, "create"))?;
        staging.disarm();
        return Ok(());
    }
    let previous = Sibling::reserve(&parent, &name, "old")?;
    if let Err(error) = std::fs::rename(&target, &previous.path) {
        previous.disarm();
        return Err(io_error(&target, "move aside")(error));
    }
    if let Err(error) = std::fs::rename(&staging.path, &target) {
        // Put the previous directory back; `staging` is removed on drop.
        let _ = std::fs::rename(&previous.path, &target);
        previous.disarm();
        return Err(io_error(&target, "replace")(error));
    }
    staging.disarm();
    // `previous` is removed on drop: the old output is gone, stale files too.
    drop(previous);
    Ok(())
}

/// Only an empty directory or one this command wrote may be replaced.
fn check_replaceable(target: &Path) -> Result<(), WriteError> {
    let refused = |reason: &str| WriteError::Refused {
        target: target.to_owned(),
        reason: reason.to_owned(),
    };
    let metadata = std::fs::metadata(target).map_err(io_error(target, "read"))?;
    if !metadata.is_dir() {
        return Err(refused("it is not a directory"));
    }
    let mut entries = std::fs::read_dir(target).map_err(io_error(target, "read"))?;
    if entries.next().is_none() {
        return Ok(());
    }
    let kustomization = target.join("kustomization.yaml");
    let written_by_us = std::fs::read_to_string(&kustomization)
        .map(|text| text.lines().next() == Some(MARKER))
        .unwrap_or(false);
    if written_by_us {
        Ok(())
    } else {
        Err(refused(
            "it is not empty and was not written by `kopiaplan compile --output-dir` \
             (its kustomization.yaml does not start with kopiaplan's marker line); \
             remove it or choose another directory",
        ))
    }
}

/// A hidden directory beside the target, removed when dropped unless
/// disarmed.
struct Sibling {
    path: PathBuf,
    armed: bool,
}

impl Sibling {
    fn candidate(parent: &Path, name: &str, purpose: &str, attempt: u32) -> PathBuf {
        parent.join(format!(
            ".{name}.kopiaplan-{purpose}-{}-{attempt}",
            std::process::id()
        ))
    }

    /// Creates a new, empty sibling directory.
    fn create(parent: &Path, name: &str, purpose: &str) -> Result<Self, WriteError> {
        let mut attempt = 0;
        loop {
            let path = Self::candidate(parent, name, purpose, attempt);
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(Self { path, armed: true }),
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1;
                }
                Err(error) => return Err(io_error(&path, "create the directory")(error)),
            }
        }
    }

    /// A sibling path nothing occupies yet, for a rename.
    fn reserve(parent: &Path, name: &str, purpose: &str) -> Result<Self, WriteError> {
        for attempt in 0..100 {
            let path = Self::candidate(parent, name, purpose, attempt);
            if std::fs::symlink_metadata(&path).is_err() {
                return Ok(Self { path, armed: true });
            }
        }
        Err(WriteError::Refused {
            target: parent.join(name),
            reason: "there is no free name beside it for the previous directory".to_owned(),
        })
    }

    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for Sibling {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(kind: &str, namespace: &str, name: &str) -> Object {
        Object::passthrough(serde_json::json!({
            "apiVersion": "v1",
            "kind": kind,
            "metadata": {"name": name, "namespace": namespace},
        }))
    }

    #[test]
    fn lays_out_one_file_per_object_and_a_sorted_kustomization() {
        let objects = [
            object("ServiceAccount", "web", "b"),
            object("CronJob", "apps", "nightly"),
            object("Namespace", "", "apps"),
        ];
        let files = layout(&objects, Format::Yaml).expect("layout");
        let paths: Vec<String> = files.iter().map(|f| f.path.display().to_string()).collect();
        assert_eq!(
            paths,
            [
                "_cluster/namespace-apps.yaml",
                "apps/cronjob-nightly.yaml",
                "web/serviceaccount-b.yaml",
                "kustomization.yaml"
            ]
        );
        let kustomization = &files[3].text;
        assert!(kustomization.starts_with(MARKER), "{kustomization}");
        assert!(
            kustomization.ends_with(
                "resources:\n  - _cluster/namespace-apps.yaml\n  - apps/cronjob-nightly.yaml\n  - web/serviceaccount-b.yaml\n"
            ),
            "{kustomization}"
        );
        let json = layout(&objects, Format::Json).expect("layout");
        assert_eq!(json[1].path, Path::new("apps/cronjob-nightly.json"));
        let value: serde_json::Value = serde_json::from_str(&json[1].text).expect("JSON");
        assert_eq!(value["kind"], "CronJob");
    }

    #[test]
    fn refuses_names_that_are_not_plain_file_names() {
        for (namespace, name) in [
            ("apps", "../escape"),
            ("..", "x"),
            ("apps", "a/b"),
            ("a b", "x"),
        ] {
            let error = layout(&[object("ConfigMap", namespace, name)], Format::Yaml)
                .expect_err("a path outside the layout");
            assert!(error.contains("not a valid Kubernetes name"), "{error}");
        }
    }
}
