//! A generated or passed-through Kubernetes object, ready to be ordered
//! and written.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// The object as JSON (apiVersion and kind included).
    pub value: Value,
    /// False for an input object passed through (a context document), which
    /// the post-renderer and the KRM function already hold as written.
    pub generated: bool,
}

impl Object {
    /// Serialises a typed `k8s-openapi` object.
    pub fn from_resource<T>(resource: &T) -> Self
    where
        T: serde::Serialize
            + k8s_openapi::Metadata<Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>,
    {
        let metadata = resource.metadata();
        let value = serde_json::to_value(resource).unwrap_or(Value::Null);
        Self::from_value(
            value,
            metadata.namespace.clone(),
            metadata.name.clone(),
            true,
        )
    }

    fn from_value(
        value: Value,
        namespace: Option<String>,
        name: Option<String>,
        generated: bool,
    ) -> Self {
        Self {
            kind: value
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            namespace: namespace.unwrap_or_default(),
            name: name.unwrap_or_default(),
            value,
            generated,
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
        };
        let (namespace, name) = (field("namespace"), field("name"));
        Self::from_value(value, namespace, name, false)
    }
}
