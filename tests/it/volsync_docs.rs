//! `docs/volsync-compatibility.md` has a row for every field of VolSync's
//! Kopia API: each field path of the vendored CRD schemas (with kopiaplan's
//! additions and the KopiaMaintenance schema) appears, backticked, in the
//! section of its kind. Core Kubernetes types (resources, affinity, security
//! contexts, volume sources) count as one field each.

use crate::support;

use serde_json::Value;

/// Fields whose contents are Kubernetes core types, documented as a whole.
const CORE: [&str; 13] = [
    "moverResources",
    "moverAffinity",
    "moverSecurityContext",
    "moverPodLabels",
    "resources",
    "affinity",
    "podSecurityContext",
    "containerSecurityContext",
    "tolerations",
    "nodeSelector",
    "secret",
    "nfs",
    "persistentVolumeClaim",
];

const OTHER_MOVERS: [&str; 6] = [
    "rsync",
    "rsyncTLS",
    "rclone",
    "restic",
    "syncthing",
    "external",
];

fn read(path: &str) -> Value {
    let text = std::fs::read_to_string(support::root().join(path)).expect(path);
    serde_json::from_str(&text).expect("JSON")
}

/// A kind's schema with kopiaplan's additions applied.
fn schema(kind: &str, file: &str) -> Value {
    let mut schema = read(file);
    let extensions = read("src/volsync/crds/extensions.json");
    for addition in extensions["additions"].as_array().expect("additions") {
        let kinds = addition["kinds"].as_array().expect("kinds");
        if !kinds.iter().any(|k| k == kind) {
            continue;
        }
        let at = addition["at"].as_str().expect("at");
        let target = schema.pointer_mut(at).expect("pointer");
        let properties = target
            .as_object_mut()
            .expect("object")
            .entry("properties")
            .or_insert_with(|| Value::Object(Default::default()));
        for (name, field) in addition["properties"].as_object().expect("properties") {
            properties
                .as_object_mut()
                .expect("properties")
                .insert(name.clone(), field.clone());
        }
    }
    schema
}

fn fields(schema: &Value, prefix: &str, out: &mut Vec<String>) {
    if schema["type"] == "array" && schema["items"]["properties"].is_object() {
        return fields(&schema["items"], &format!("{prefix}[]"), out);
    }
    let Some(properties) = schema["properties"].as_object() else {
        out.push(prefix.to_owned());
        return;
    };
    for (name, child) in properties {
        let path = format!("{prefix}.{name}");
        if CORE.contains(&name.as_str()) {
            out.push(path);
        } else {
            fields(child, &path, out);
        }
    }
}

#[test]
fn the_compatibility_table_covers_every_field() {
    let doc = std::fs::read_to_string(support::root().join("docs/volsync-compatibility.md"))
        .expect("docs/volsync-compatibility.md");
    let mut missing = Vec::new();
    let mut total = 0;
    for (kind, file) in [
        (
            "ReplicationSource",
            "src/volsync/crds/replicationsource.schema.json",
        ),
        (
            "ReplicationDestination",
            "src/volsync/crds/replicationdestination.schema.json",
        ),
        (
            "KopiaMaintenance",
            "src/volsync/crds/kopiamaintenance.schema.json",
        ),
    ] {
        let schema = schema(kind, file);
        let section = doc
            .split(&format!("### {kind}\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("no section for {kind}"))
            .split("\n### ")
            .next()
            .unwrap_or_default();
        let mut paths = Vec::new();
        let spec = schema["properties"]["spec"]["properties"]
            .as_object()
            .expect("spec");
        for (name, child) in spec {
            if OTHER_MOVERS.contains(&name.as_str()) {
                continue;
            }
            let path = format!("spec.{name}");
            if CORE.contains(&name.as_str()) {
                paths.push(path);
            } else {
                fields(child, &path, &mut paths);
            }
        }
        assert!(paths.len() > 20, "{kind}: {paths:?}");
        total += paths.len();
        for path in paths {
            if !section.contains(&format!("`{path}`")) {
                missing.push(format!("{kind}: {path}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not in the table:\n{}",
        missing.join("\n")
    );
    assert!(total > 100, "{total} fields");
}
