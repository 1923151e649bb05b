//! Output: objects in a stable, dependency-safe order, written as YAML or
//! JSON, to a stream or a directory, or compared with a previous output. The
//! same input always yields the same bytes.

pub mod diff;
pub mod directory;
mod error;
pub mod guard;
pub mod issued;
mod object;
pub mod rendered;

pub use error::OutputError;

pub use object::{Object, written_as_json};

/// Kinds in the order they can be applied: what others refer to comes first.
const KIND_ORDER: [&str; 12] = [
    "Namespace",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "PersistentVolumeClaim",
    "Role",
    "RoleBinding",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "VolumeSnapshot",
    "CronJob",
    "Job",
];

pub(crate) fn kind_rank(kind: &str) -> usize {
    KIND_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(KIND_ORDER.len())
}

/// Sorts by kind order, then namespace, then name (then kind, for unknown kinds).
pub fn sort(objects: &mut [Object]) {
    objects.sort_by(|a, b| {
        kind_rank(&a.kind)
            .cmp(&kind_rank(&b.kind))
            .then_with(|| a.kind.cmp(&b.kind))
            .then_with(|| a.namespace.cmp(&b.namespace))
            .then_with(|| a.name.cmp(&b.name))
    });
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Yaml,
    Json,
}

/// A multi-document YAML stream, each document starting with `---`.
pub fn to_yaml(objects: &[Object]) -> Result<String, String> {
    // Generated objects are text already: the output is their sum, reserved
    // once rather than grown by doubling.
    let known: usize = objects.iter().map(|o| o.yaml_len() + 4).sum();
    let mut out = String::with_capacity(known);
    for object in objects {
        out.push_str("---\n");
        object.write_yaml(&mut out)?;
    }
    Ok(out)
}

/// Writes a multi-document YAML stream, as [`to_yaml`] returns it, object
/// by object. Objects not yet written as YAML are written on the way:
/// [`Object::written`] each first, so that nothing can fail half way.
pub fn write_yaml(objects: &[Object], out: &mut impl std::io::Write) -> std::io::Result<()> {
    for object in objects {
        out.write_all(b"---\n")?;
        let text = object.yaml().map_err(std::io::Error::other)?;
        out.write_all(text.as_bytes())?;
    }
    Ok(())
}

/// One value as YAML, ending with a line break.
pub fn document_yaml(value: &serde_json::Value) -> Result<String, String> {
    object::yaml_document(value)
}

/// A Kubernetes `List` holding every object, as JSON. Each object's
/// fields are read back only while it is written, one at a time.
pub fn to_json(objects: &[Object]) -> String {
    struct Items<'a>(&'a [Object]);
    impl serde::Serialize for Items<'_> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeSeq as _;
            let mut sequence = serializer.serialize_seq(Some(self.0.len()))?;
            for object in self.0 {
                sequence.serialize_element(&*object.value())?;
            }
            sequence.end()
        }
    }
    #[derive(serde::Serialize)]
    struct List<'a> {
        #[serde(rename = "apiVersion")]
        api_version: &'a str,
        kind: &'a str,
        items: Items<'a>,
    }
    let list = List {
        api_version: "v1",
        kind: "List",
        items: Items(objects),
    };
    let mut text = serde_json::to_string_pretty(&list).unwrap_or_default();
    text.push('\n');
    text
}

pub fn render(objects: &[Object], format: Format) -> Result<String, String> {
    match format {
        Format::Yaml => to_yaml(objects),
        Format::Json => Ok(to_json(objects)),
    }
}

/// Writes a new file; one that holds a Secret gets mode 0600, so that only
/// its owner can read it (the umask may narrow the others further).
pub fn write_file(path: &std::path::Path, text: &str, private: bool) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    if private {
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    if private {
        // An existing file keeps its mode when opened: set it explicitly.
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(text.as_bytes())
}

/// The input file that writing to `target` would replace: the same file, or
/// with `directory`, a file below it (`--output-dir` replaces the whole
/// directory). Paths are compared once symbolic links are resolved.
pub fn input_replaced_by(
    sources: &crate::diagnostics::SourceMap,
    target: &std::path::Path,
    directory: bool,
) -> Option<String> {
    let target = std::fs::canonicalize(target).ok()?;
    sources.files().find_map(|(_, file)| {
        let input = std::fs::canonicalize(&file.name).ok()?;
        let replaced = if directory {
            input.starts_with(&target)
        } else {
            input == target
        };
        replaced.then(|| file.name.clone())
    })
}

/// Leaves out the Secrets that were inputs (context documents passed
/// through): credentials are not copied into the output unless asked for
/// (`compile --include-inputs`).
pub fn without_input_secrets(objects: &mut Vec<Object>) {
    objects.retain(|object| object.generated || object.kind != "Secret");
}
