//! Comparing compiled objects with a previous output. Objects are matched by
//! kind, namespace and name, so order and file layout are not differences;
//! an object differs when its content does (mapping key order aside), and
//! each difference is a unified diff of the object's YAML.

use std::collections::BTreeMap;
use std::fmt;

use similar::TextDiff;

use super::{Object, kind_rank};

/// What identifies an object in a cluster. (Ordered by kind, namespace,
/// name: the order of the fields.)
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectKey {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn of(object: &Object) -> Self {
        Self {
            kind: object.kind.clone(),
            namespace: object.namespace.clone(),
            name: object.name.clone(),
        }
    }
}

/// `apps/CronJob/nightly-web-backup`; `_cluster/Namespace/apps` for objects
/// without a namespace.
impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let namespace = if self.namespace.is_empty() {
            super::directory::CLUSTER_DIRECTORY
        } else {
            &self.namespace
        };
        write!(f, "{namespace}/{}/{}", self.kind, self.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Compiled now, not in the previous output.
    Added,
    /// In the previous output, no longer compiled.
    Removed,
    Changed,
}

/// One object that differs, with its unified diff (`a/` is the previous
/// output, `b/` the compiled one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectDiff {
    pub key: ObjectKey,
    pub change: Change,
    pub unified: String,
}

/// The objects that differ between `previous` and `compiled`, in output
/// order. Empty when they are equal.
pub fn diff(previous: &[Object], compiled: &[Object]) -> Result<Vec<ObjectDiff>, String> {
    type Sides<'a> = (Option<&'a Object>, Option<&'a Object>);
    // Keyed in output order: kind order first.
    let mut pairs: BTreeMap<(usize, ObjectKey), Sides> = BTreeMap::new();
    let key_of = |object: &Object| (kind_rank(&object.kind), ObjectKey::of(object));
    for object in previous {
        pairs.entry(key_of(object)).or_default().0 = Some(object);
    }
    for object in compiled {
        pairs.entry(key_of(object)).or_default().1 = Some(object);
    }
    let mut diffs = Vec::new();
    for (old, new) in pairs.into_values() {
        let (change, key) = match (old, new) {
            (Some(old), Some(new)) if old.value() == new.value() => continue,
            (Some(old), Some(_)) => (Change::Changed, ObjectKey::of(old)),
            (Some(old), None) => (Change::Removed, ObjectKey::of(old)),
            (None, Some(new)) => (Change::Added, ObjectKey::of(new)),
            (None, None) => continue,
        };
        let text = |object: Option<&Object>| match object {
            Some(object) => object.yaml().map(std::borrow::Cow::into_owned),
            None => Ok(String::new()),
        };
        let (old_text, new_text) = (text(old)?, text(new)?);
        let a = match change {
            Change::Added => "/dev/null".to_owned(),
            _ => format!("a/{key}"),
        };
        let b = match change {
            Change::Removed => "/dev/null".to_owned(),
            _ => format!("b/{key}"),
        };
        let unified = TextDiff::from_lines(&old_text, &new_text)
            .unified_diff()
            .context_radius(3)
            .header(&a, &b)
            .to_string();
        diffs.push(ObjectDiff {
            key,
            change,
            unified,
        });
    }
    Ok(diffs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_map(name: &str, value: &str) -> Object {
        Object::passthrough(serde_json::json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "apps"},
            "data": {"key": value, "other": "same"},
        }))
    }

    #[test]
    fn order_is_not_a_difference() {
        let a = [config_map("one", "1"), config_map("two", "2")];
        let b = [config_map("two", "2"), config_map("one", "1")];
        assert_eq!(diff(&a, &b), Ok(Vec::new()));
    }

    #[test]
    fn key_order_inside_an_object_is_not_a_difference() {
        let reordered = Object::passthrough(serde_json::json!({
            "kind": "ConfigMap",
            "apiVersion": "v1",
            "data": {"other": "same", "key": "1"},
            "metadata": {"namespace": "apps", "name": "one"},
        }));
        assert_eq!(
            diff(&[config_map("one", "1")], &[reordered]),
            Ok(Vec::new())
        );
    }

    #[test]
    fn shows_added_removed_and_changed_objects_with_headers() {
        let previous = [config_map("gone", "x"), config_map("kept", "old")];
        let compiled = [config_map("kept", "new"), config_map("new", "y")];
        let diffs = diff(&previous, &compiled).expect("diff");
        let summary: Vec<(String, Change)> = diffs
            .iter()
            .map(|d| (d.key.to_string(), d.change))
            .collect();
        assert_eq!(
            summary,
            [
                ("apps/ConfigMap/gone".to_owned(), Change::Removed),
                ("apps/ConfigMap/kept".to_owned(), Change::Changed),
                ("apps/ConfigMap/new".to_owned(), Change::Added),
            ]
        );
        assert!(
            diffs[0]
                .unified
                .starts_with("--- a/apps/ConfigMap/gone\n+++ /dev/null\n")
        );
        let changed = &diffs[1].unified;
        assert!(
            changed.starts_with("--- a/apps/ConfigMap/kept\n+++ b/apps/ConfigMap/kept\n@@"),
            "{changed}"
        );
        assert!(
            changed.contains("\n-  key: old\n+  key: new\n"),
            "{changed}"
        );
        assert!(changed.contains("\n   other: same\n"), "{changed}");
        assert!(
            diffs[2]
                .unified
                .starts_with("--- /dev/null\n+++ b/apps/ConfigMap/new\n")
        );
    }
}
