//! Unknown-field detection driven by the generated JSON Schema. serde stops
//! at the first unknown field and the Kubernetes types embedded in a plan
//! (affinity, tolerations, resources…) ignore unknown fields altogether; this
//! walk reports every misspelt key of a document, with a suggestion, the way
//! `kubectl --validate=strict` would.

use serde_json::Value;

use crate::load::{Node, PathSegment, Value as NodeValue};

pub struct UnknownField<'a> {
    pub path: Vec<PathSegment>,
    pub key: &'a Node,
    pub known: Vec<String>,
}

/// Every key of `node` that the schema does not know.
pub fn unknown_fields<'a>(node: &'a Node, schema: &Value) -> Vec<UnknownField<'a>> {
    let mut found = Vec::new();
    let defs = schema.get("$defs").cloned().unwrap_or(Value::Null);
    walk(node, schema, &defs, &mut Vec::new(), &mut found);
    found
}

/// Follows `$ref` and the `anyOf: [X, null]` that optional fields become.
fn resolve<'s>(mut schema: &'s Value, defs: &'s Value) -> &'s Value {
    for _ in 0..16 {
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let name = reference.trim_start_matches("#/$defs/");
            match defs.get(name) {
                Some(target) => schema = target,
                None => return schema,
            }
            continue;
        }
        if let Some(options) = schema.get("anyOf").and_then(Value::as_array) {
            let non_null: Vec<&Value> = options
                .iter()
                .filter(|o| o.get("type").and_then(Value::as_str) != Some("null"))
                .collect();
            if let [only] = non_null.as_slice() {
                schema = only;
                continue;
            }
        }
        break;
    }
    schema
}

fn walk<'a>(
    node: &'a Node,
    schema: &Value,
    defs: &Value,
    path: &mut Vec<PathSegment>,
    found: &mut Vec<UnknownField<'a>>,
) {
    let schema = resolve(schema, defs);
    match &node.value {
        NodeValue::Mapping(entries) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            for (key, value) in entries {
                let name = key.scalar_text().unwrap_or_default();
                path.push(PathSegment::Key(name.clone()));
                match properties.and_then(|p| p.get(&name)) {
                    Some(child) => walk(value, child, defs, path, found),
                    None => match additional {
                        // A map (labels, resources…): check its values.
                        Some(child) if child.is_object() => walk(value, child, defs, path, found),
                        // A closed object: the key is unknown. Objects with
                        // properties are closed even without
                        // `additionalProperties: false` (Kubernetes types).
                        _ if properties.is_some() => found.push(UnknownField {
                            path: path.clone(),
                            key,
                            known: properties
                                .map(|p| p.keys().cloned().collect())
                                .unwrap_or_default(),
                        }),
                        _ => {}
                    },
                }
                path.pop();
            }
        }
        NodeValue::Sequence(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (index, item) in items.iter().enumerate() {
                    path.push(PathSegment::Index(index));
                    walk(item, item_schema, defs, path, found);
                    path.pop();
                }
            }
        }
        _ => {}
    }
}
