//! A generated or passed-through Kubernetes object, ready to be ordered
//! and written.
//!
//! A generated object is written as YAML the moment it is built, and only
//! that text is kept: a JSON tree costs several times the text's size, and
//! holding one per object until the end made a compile's memory many times
//! its output (issue 17). The few readers that need the object's fields
//! (`diff`, `--previous`, JSON output) read the text back. The
//! post-renderer and the KRM function, which edit every object they
//! compile, have them written as compact JSON instead
//! ([`written_as_json`]), which reads back about ten times faster.

use std::borrow::Cow;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::emit::labels::SOURCE;

#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// False for an input object passed through (a context document), which
    /// the post-renderer and the KRM function already hold as written.
    pub generated: bool,
    /// The input it was compiled from, as written in its own
    /// `kopiaplan.dev/source` annotation (generated objects only).
    source: Option<String>,
    body: Body,
    /// Changes made to a generated object after it was written, applied
    /// when it is read or written again: so that it stays text until then.
    edits: Edits,
}

/// Changes to a generated object's text, not yet applied.
#[derive(Debug, Clone, Default, PartialEq)]
struct Edits {
    /// A new value for every `kopiaplan.dev/source` annotation in it.
    source: Option<String>,
    /// Annotations to set on its own metadata, in this order.
    annotations: Vec<(String, String)>,
}

impl Edits {
    fn is_empty(&self) -> bool {
        self.source.is_none() && self.annotations.is_empty()
    }

    fn apply(&self, value: &mut Value) {
        if let Some(source) = &self.source {
            rewrite_source(value, source);
        }
        set_annotations(value, &self.annotations);
    }
}

/// An object's content, in the form it was made in.
#[derive(Debug, Clone, PartialEq)]
enum Body {
    /// As JSON (apiVersion and kind included): input objects, and objects
    /// edited after they were built.
    Json(Value),
    /// As one YAML document ending with a line break, exactly as the output
    /// writes it.
    Yaml(String),
    /// As compact JSON text: for objects that are edited before they are
    /// written (see [`written_as_json`]), which JSON reads back fast.
    JsonText(String),
}

/// How [`Object::from_resource`] writes an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Yaml,
    JsonText,
}

thread_local! {
    static FORM: std::cell::Cell<Form> = const { std::cell::Cell::new(Form::Yaml) };
}

/// Runs `work` with the objects it builds written as compact JSON rather
/// than YAML, for callers that read every object's fields back: the
/// post-renderer and the KRM function edit each one (its source
/// annotation, their own annotations), `diff` compares them, `--format
/// json` writes JSON. JSON reads back about ten times faster than YAML, and
/// still takes a fraction of a JSON tree's memory.
pub fn written_as_json<R>(work: impl FnOnce() -> R) -> R {
    struct Restore(Form);
    impl Drop for Restore {
        fn drop(&mut self) {
            FORM.with(|form| form.set(self.0));
        }
    }
    let _restore = Restore(FORM.with(|form| form.replace(Form::JsonText)));
    work()
}

impl Object {
    /// Writes a typed `k8s-openapi` object as YAML.
    pub fn from_resource<T>(resource: &T) -> Self
    where
        T: serde::Serialize
            + k8s_openapi::Resource
            + k8s_openapi::Metadata<Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>,
    {
        let metadata = resource.metadata();
        let source = metadata
            .annotations
            .as_ref()
            .and_then(|annotations| annotations.get(SOURCE))
            .cloned();
        let written = match FORM.with(std::cell::Cell::get) {
            Form::Yaml => yaml_document(resource).map(Body::Yaml),
            Form::JsonText => serde_json::to_string(resource)
                .map(Body::JsonText)
                .map_err(|e| e.to_string()),
        };
        // An error is not expected of a typed object; it then surfaces
        // where the output is written.
        let body = written
            .unwrap_or_else(|_| Body::Json(serde_json::to_value(resource).unwrap_or(Value::Null)));
        Self {
            kind: T::KIND.to_owned(),
            namespace: metadata.namespace.clone().unwrap_or_default(),
            name: metadata.name.clone().unwrap_or_default(),
            generated: true,
            source,
            body,
            edits: Edits::default(),
        }
    }

    /// An object from the input, passed through as it was.
    pub fn passthrough(value: Value) -> Self {
        let metadata = value.get("metadata");
        let field = |key: &str| {
            metadata
                .and_then(|m| m.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_default()
        };
        Self {
            kind: value
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            namespace: field("namespace"),
            name: field("name"),
            generated: false,
            source: None,
            body: Body::Json(value),
            edits: Edits::default(),
        }
    }

    /// The input the object was compiled from, as its own
    /// `kopiaplan.dev/source` annotation was first written.
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// The object as JSON (read back from its YAML when it was written).
    pub fn value(&self) -> Cow<'_, Value> {
        match &self.body {
            Body::Json(value) => Cow::Borrowed(value),
            Body::Yaml(_) | Body::JsonText(_) => Cow::Owned(self.read_back()),
        }
    }

    /// The object as JSON, taken.
    pub fn into_value(self) -> Value {
        match self.body {
            Body::Json(value) => value,
            Body::Yaml(_) | Body::JsonText(_) => self.read_back(),
        }
    }

    /// The object as JSON, to edit; it is written again when output.
    pub fn value_mut(&mut self) -> &mut Value {
        if !matches!(self.body, Body::Json(_)) {
            self.body = Body::Json(self.read_back());
            self.edits = Edits::default();
        }
        match &mut self.body {
            Body::Json(value) => value,
            Body::Yaml(_) | Body::JsonText(_) => unreachable!("the text was just read back"),
        }
    }

    /// Replaces the object's content.
    pub fn set_value(&mut self, value: Value) {
        self.body = Body::Json(value);
        self.edits = Edits::default();
    }

    /// Sets every `kopiaplan.dev/source` annotation in the object (its own
    /// and those of its job and pod templates) to `source`.
    pub fn rename_source(&mut self, source: &str) {
        match &mut self.body {
            Body::Json(value) => rewrite_source(value, source),
            Body::Yaml(_) | Body::JsonText(_) => self.edits.source = Some(source.to_owned()),
        }
    }

    /// Sets annotations on the object's own metadata.
    pub fn annotate(&mut self, annotations: &BTreeMap<String, String>) {
        let annotations: Vec<(String, String)> = annotations
            .iter()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        match &mut self.body {
            Body::Json(value) => set_annotations(value, &annotations),
            Body::Yaml(_) | Body::JsonText(_) => self.edits.annotations.extend(annotations),
        }
    }

    /// The object as one YAML document, ending with a line break.
    pub fn yaml(&self) -> Result<Cow<'_, str>, String> {
        match &self.body {
            Body::Yaml(text) if self.edits.is_empty() => Ok(Cow::Borrowed(text)),
            _ => yaml_document(&*self.value()).map(Cow::Owned),
        }
    }

    /// The object with its YAML document written (edits included), so that
    /// writing it out can no longer fail.
    pub fn written(self) -> Result<Self, String> {
        if matches!(self.body, Body::Yaml(_)) && self.edits.is_empty() {
            return Ok(self);
        }
        let text = yaml_document(&*self.value())?;
        Ok(Self {
            body: Body::Yaml(text),
            edits: Edits::default(),
            ..self
        })
    }

    /// Appends the object's YAML document to `out`.
    pub fn write_yaml(&self, out: &mut String) -> Result<(), String> {
        match &self.body {
            Body::Yaml(text) if self.edits.is_empty() => out.push_str(text),
            _ => out.push_str(&yaml_document(&*self.value())?),
        }
        Ok(())
    }

    /// The size of the object's YAML document when it is already written
    /// (0 otherwise): to reserve the output's size at once.
    pub(crate) fn yaml_len(&self) -> usize {
        match &self.body {
            Body::Yaml(text) if self.edits.is_empty() => text.len(),
            _ => 0,
        }
    }

    /// A generated object's text read back, with the edits made since. The
    /// text was written by the same libraries from plain strings, numbers,
    /// booleans, lists and maps, so it reads back as it was built.
    fn read_back(&self) -> Value {
        let mut value = match &self.body {
            Body::Json(value) => value.clone(),
            Body::Yaml(text) => serde_saphyr::from_str(text).unwrap_or(Value::Null),
            Body::JsonText(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        };
        self.edits.apply(&mut value);
        value
    }
}

/// Sets every `kopiaplan.dev/source` annotation in an object.
fn rewrite_source(value: &mut Value, source: &str) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(annotations)) = map.get_mut("annotations")
                && let Some(entry) = annotations.get_mut(SOURCE)
            {
                *entry = Value::String(source.to_owned());
            }
            map.values_mut().for_each(|v| rewrite_source(v, source));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_source(v, source)),
        _ => {}
    }
}

/// Sets annotations on an object's own metadata (new keys after the
/// others).
fn set_annotations(value: &mut Value, annotations: &[(String, String)]) {
    if annotations.is_empty() {
        return;
    }
    let Some(metadata) = value.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let entry = metadata
        .entry("annotations")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if let Value::Object(map) = entry {
        for (key, value) in annotations {
            map.insert(key.clone(), Value::String(value.clone()));
        }
    }
}

/// One value as a YAML document, ending with a line break.
pub(crate) fn yaml_document<T: serde::Serialize>(value: &T) -> Result<String, String> {
    let mut text = serde_saphyr::to_string(value).map_err(|e| e.to_string())?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobTemplateSpec};
    use k8s_openapi::api::core::v1::ConfigMap;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    fn meta(source: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some("web".into()),
            namespace: Some("apps".into()),
            annotations: Some(BTreeMap::from([
                (SOURCE.to_owned(), source.to_owned()),
                ("team".to_owned(), "web".to_owned()),
            ])),
            ..ObjectMeta::default()
        }
    }

    /// Strings that YAML would read as something else unless quoted, and
    /// text over several lines.
    fn config_map() -> ConfigMap {
        let data = [
            "0644",
            "true",
            "on",
            "1.0",
            "null",
            "~",
            "",
            " x ",
            "a: b",
            "#c",
            "x\n  y\n\n",
        ]
        .iter()
        .enumerate()
        .map(|(index, text)| (format!("k{index}"), (*text).to_owned()))
        .collect();
        ConfigMap {
            metadata: meta("plan.yaml:3"),
            data: Some(data),
            ..ConfigMap::default()
        }
    }

    #[test]
    fn a_generated_object_reads_back_as_it_was_built() {
        let resource = config_map();
        let object = Object::from_resource(&resource);
        let built = serde_json::to_value(&resource).expect("json");
        assert_eq!(*object.value(), built);
        assert_eq!(
            object.yaml().expect("yaml"),
            yaml_document(&built).expect("yaml")
        );
        assert_eq!(object.source(), Some("plan.yaml:3"));
        assert_eq!(
            (object.kind.as_str(), object.name.as_str()),
            ("ConfigMap", "web")
        );
    }

    #[test]
    fn an_object_written_as_json_reads_back_as_it_was_built() {
        let resource = config_map();
        let object = written_as_json(|| Object::from_resource(&resource));
        assert!(matches!(object.body, Body::JsonText(_)), "{object:?}");
        let built = serde_json::to_value(&resource).expect("json");
        assert_eq!(*object.value(), built);
        assert_eq!(
            object.yaml().expect("yaml"),
            yaml_document(&built).expect("yaml")
        );
        // Outside, objects are written as YAML again.
        assert!(matches!(
            Object::from_resource(&resource).body,
            Body::Yaml(_)
        ));
    }

    #[test]
    fn edits_to_a_written_object_are_those_made_to_its_fields() {
        let resource = CronJob {
            metadata: meta("<stdin>:9"),
            spec: Some(CronJobSpec {
                job_template: JobTemplateSpec {
                    metadata: Some(meta("<stdin>:9")),
                    spec: None,
                },
                schedule: "0 1 * * *".into(),
                ..CronJobSpec::default()
            }),
            ..CronJob::default()
        };
        let annotations = BTreeMap::from([
            ("config.kubernetes.io/index".to_owned(), "0".to_owned()),
            ("team".to_owned(), "db".to_owned()),
        ]);
        let mut written = Object::from_resource(&resource);
        let mut for_editing = written_as_json(|| Object::from_resource(&resource));
        let mut edited = Object::passthrough(serde_json::to_value(&resource).expect("json"));
        for object in [&mut written, &mut for_editing, &mut edited] {
            object.rename_source("chart/templates/plan.yaml:3");
            object.annotate(&annotations);
        }
        let value = written.value();
        assert_eq!(*value, *edited.value());
        assert_eq!(*for_editing.value(), *edited.value());
        assert_eq!(
            for_editing.yaml().expect("yaml"),
            edited.yaml().expect("yaml")
        );
        assert_eq!(
            value["spec"]["jobTemplate"]["metadata"]["annotations"][SOURCE],
            "chart/templates/plan.yaml:3"
        );
        let own: Vec<_> = value["metadata"]["annotations"]
            .as_object()
            .expect("annotations")
            .iter()
            .map(|(key, value)| format!("{key}={}", value.as_str().unwrap_or_default()))
            .collect();
        assert_eq!(
            own,
            [
                "kopiaplan.dev/source=chart/templates/plan.yaml:3",
                "team=db",
                "config.kubernetes.io/index=0"
            ]
        );
        assert_eq!(written.yaml().expect("yaml"), edited.yaml().expect("yaml"));
    }
}
