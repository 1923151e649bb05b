//! Context objects: the Secrets, ConfigMaps, PersistentVolumeClaims and
//! Namespaces of the input and of `--context`, read into what the
//! compile-time cross-checks need.

use super::DocId;

/// A Kubernetes object from the input used for compile-time cross-checks,
/// read into what those checks need. (The object itself passes through to
/// the output from its document.)
#[derive(Debug, Clone)]
pub struct ContextObject {
    pub doc: DocId,
    /// Read from the cluster context (`--context`, a `kind: List`): never
    /// written to the output, and an object of the input of the same kind,
    /// namespace and name wins over it.
    pub cluster: bool,
    pub namespace: Option<String>,
    pub name: String,
    pub content: ContextContent,
}

/// What kopiaplan reads of each kind of context object.
#[derive(Debug, Clone)]
pub enum ContextContent {
    /// The keys of `data`, `stringData` and `binaryData`, in that order, and
    /// the file each key gives (plain text winning over base64).
    ConfigMap {
        keys: Vec<String>,
        files: Files,
    },
    Secret {
        keys: Vec<String>,
        files: Files,
    },
    PersistentVolumeClaim {
        /// `spec.resources.requests.storage`.
        size: Option<String>,
        /// `spec.storageClassName`.
        storage_class_name: Option<String>,
        /// `spec.accessModes`.
        access_modes: Vec<String>,
        /// `metadata.labels`, for `pvcSelector`.
        labels: std::collections::BTreeMap<String, String>,
    },
    Namespace {
        /// The annotations with a text value.
        annotations: std::collections::BTreeMap<String, String>,
    },
}

/// The files of a ConfigMap or Secret by key. A sorted list, not a map: a
/// stream holds thousands of small ConfigMaps, and a map's smallest node
/// has room for eleven entries.
#[derive(Debug, Clone, Default)]
pub struct Files(Vec<(String, ObjectFile)>);

impl Files {
    /// Files given by field, in the order read: a later file of a key
    /// replaces an earlier one.
    fn from_read(mut files: Vec<(String, ObjectFile)>) -> Self {
        // Stable: of equal keys, the one read last is last.
        files.sort_by(|(a, _), (b, _)| a.cmp(b));
        files.reverse();
        files.dedup_by(|(later, _), (earlier, _)| later == earlier);
        files.reverse();
        files.shrink_to_fit();
        Self(files)
    }

    pub fn get(&self, key: &str) -> Option<&ObjectFile> {
        let index = self.0.binary_search_by(|(k, _)| k.as_str().cmp(key)).ok()?;
        self.0.get(index).map(|(_, file)| file)
    }
}

/// One key of a ConfigMap or Secret.
#[derive(Clone)]
pub struct ObjectFile {
    /// Where it is written: `data`, `stringData` or `binaryData`.
    pub field: &'static str,
    /// Whether the field holds plain text (else base64).
    pub plain: bool,
    /// The text; `None` when it is not UTF-8 (or not a string).
    pub text: Option<String>,
}

/// Secret values stay out of debug output.
impl std::fmt::Debug for ObjectFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectFile")
            .field("field", &self.field)
            .field("plain", &self.plain)
            .finish_non_exhaustive()
    }
}

impl ContextObject {
    /// Reads a context object of `kind` from its JSON. The Secrets of the
    /// cluster context give their key names only: their values are not
    /// even kept in memory.
    pub(super) fn read(
        doc: DocId,
        kind: &str,
        value: &serde_json::Value,
        cluster: bool,
    ) -> Option<Self> {
        let metadata = value.get("metadata");
        let text =
            |value: Option<&serde_json::Value>| value.and_then(|v| v.as_str()).map(str::to_owned);
        let name = text(metadata.and_then(|m| m.get("name"))).unwrap_or_default();
        let namespace = text(metadata.and_then(|m| m.get("namespace")));
        let content = match kind {
            "ConfigMap" => {
                let (keys, files) = read_files(value, "data", "binaryData");
                ContextContent::ConfigMap { keys, files }
            }
            "Secret" if cluster => ContextContent::Secret {
                keys: key_names(value),
                files: Files::default(),
            },
            "Secret" => {
                let (keys, files) = read_files(value, "stringData", "data");
                ContextContent::Secret { keys, files }
            }
            "PersistentVolumeClaim" => ContextContent::PersistentVolumeClaim {
                // A bound claim's real size (`status.capacity`, which a
                // cluster object has) is what VolSync gives a clone, else
                // the request.
                size: text(value.pointer("/status/capacity/storage"))
                    .or_else(|| text(value.pointer("/spec/resources/requests/storage"))),
                storage_class_name: text(value.pointer("/spec/storageClassName")),
                access_modes: value
                    .pointer("/spec/accessModes")
                    .and_then(|m| m.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|m| m.as_str().map(str::to_owned))
                    .collect(),
                labels: string_map(metadata.and_then(|m| m.get("labels"))),
            },
            "Namespace" => ContextContent::Namespace {
                annotations: string_map(metadata.and_then(|m| m.get("annotations"))),
            },
            _ => return None,
        };
        Some(Self {
            doc,
            cluster,
            namespace,
            name,
            content,
        })
    }

    pub fn kind(&self) -> &'static str {
        match self.content {
            ContextContent::ConfigMap { .. } => "ConfigMap",
            ContextContent::Secret { .. } => "Secret",
            ContextContent::PersistentVolumeClaim { .. } => "PersistentVolumeClaim",
            ContextContent::Namespace { .. } => "Namespace",
        }
    }

    /// The keys of a Secret's `data` and `stringData`, or of a ConfigMap's `data`.
    pub fn data_keys(&self) -> Vec<&str> {
        match &self.content {
            ContextContent::ConfigMap { keys, .. } | ContextContent::Secret { keys, .. } => {
                keys.iter().map(String::as_str).collect()
            }
            _ => Vec::new(),
        }
    }

    /// The file a key of a ConfigMap or Secret gives.
    pub fn file(&self, key: &str) -> Option<&ObjectFile> {
        match &self.content {
            ContextContent::ConfigMap { files, .. } | ContextContent::Secret { files, .. } => {
                files.get(key)
            }
            _ => None,
        }
    }
}

/// The entries of a map of text (labels, annotations) with a text value.
fn string_map(value: Option<&serde_json::Value>) -> std::collections::BTreeMap<String, String> {
    value
        .and_then(|a| a.as_object())
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect()
}

/// The keys of `data`, `stringData` and `binaryData`, in that order.
fn key_names(value: &serde_json::Value) -> Vec<String> {
    ["data", "stringData", "binaryData"]
        .iter()
        .filter_map(|field| value.get(field)?.as_object())
        .flat_map(|map| map.keys().cloned())
        .collect()
}

/// The keys (of `data`, `stringData`, `binaryData`, in that order) and the
/// files of a ConfigMap or Secret: a key of the `plain` field wins over the
/// same key of the base64 `encoded` one.
fn read_files(
    value: &serde_json::Value,
    plain: &'static str,
    encoded: &'static str,
) -> (Vec<String>, Files) {
    let keys = key_names(value);
    let mut files = Vec::new();
    for (field, is_plain) in [(encoded, false), (plain, true)] {
        let Some(map) = value.get(field).and_then(|d| d.as_object()) else {
            continue;
        };
        for (key, value) in map {
            let text = if is_plain {
                value.as_str().map(str::to_owned)
            } else {
                serde_json::from_value::<k8s_openapi::ByteString>(value.clone())
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes.0).ok())
            };
            files.push((
                key.clone(),
                ObjectFile {
                    field,
                    plain: is_plain,
                    text,
                },
            ));
        }
    }
    (keys, Files::from_read(files))
}
