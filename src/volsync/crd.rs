//! VolSync's own CRD schemas, embedded (`crds/`): the seed version's
//! ReplicationSource and ReplicationDestination CRDs, vendored byte for byte;
//! a hand-written overlay with the fields they lack (`extensions.json`); and
//! a hand-written KopiaMaintenance schema. Checking a VolSync object against
//! them makes kopiaplan accept and reject what VolSync's API server would.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value as Json;

use crate::load::Node;
use crate::schema::{Compiler, Finding, Schema};

/// The `apiVersion` of every VolSync kind.
pub const API_VERSION: &str = "volsync.backube/v1alpha1";

const REPLICATION_SOURCE_FILE: &str = "replicationsource.schema.json";
const REPLICATION_DESTINATION_FILE: &str = "replicationdestination.schema.json";
const KOPIA_MAINTENANCE_FILE: &str = "kopiamaintenance.schema.json";

/// The embedded schema files, by the name `$ref`s use.
const SCHEMA_FILES: [(&str, &str); 3] = [
    (
        REPLICATION_SOURCE_FILE,
        include_str!("crds/replicationsource.schema.json"),
    ),
    (
        REPLICATION_DESTINATION_FILE,
        include_str!("crds/replicationdestination.schema.json"),
    ),
    (
        KOPIA_MAINTENANCE_FILE,
        include_str!("crds/kopiamaintenance.schema.json"),
    ),
];
const EXTENSIONS: &str = include_str!("crds/extensions.json");

/// The VolSync kinds kopiaplan reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CrdKind {
    ReplicationSource,
    ReplicationDestination,
    KopiaMaintenance,
}

impl CrdKind {
    pub const ALL: [CrdKind; 3] = [
        CrdKind::ReplicationSource,
        CrdKind::ReplicationDestination,
        CrdKind::KopiaMaintenance,
    ];

    /// The `kind` as written in a document.
    pub fn name(self) -> &'static str {
        match self {
            CrdKind::ReplicationSource => "ReplicationSource",
            CrdKind::ReplicationDestination => "ReplicationDestination",
            CrdKind::KopiaMaintenance => "KopiaMaintenance",
        }
    }

    /// The kind named `kind`, if it is one of VolSync's that kopiaplan reads.
    pub fn from_name(kind: &str) -> Option<CrdKind> {
        CrdKind::ALL.into_iter().find(|k| k.name() == kind)
    }

    fn file(self) -> &'static str {
        match self {
            CrdKind::ReplicationSource => REPLICATION_SOURCE_FILE,
            CrdKind::ReplicationDestination => REPLICATION_DESTINATION_FILE,
            CrdKind::KopiaMaintenance => KOPIA_MAINTENANCE_FILE,
        }
    }
}

/// Every problem of `root`, a whole document of the given kind, in document
/// order. An empty result means VolSync's API server accepts it as written.
pub fn check<'a>(kind: CrdKind, root: &'a Node) -> Vec<Finding<'a>> {
    // The status belongs to the controller: a written one is ignored.
    crate::schema::check(schemas().of(kind), root, &["status"])
}

struct Schemas {
    replication_source: Schema,
    replication_destination: Schema,
    kopia_maintenance: Schema,
}

impl Schemas {
    fn of(&self, kind: CrdKind) -> &Schema {
        match kind {
            CrdKind::ReplicationSource => &self.replication_source,
            CrdKind::ReplicationDestination => &self.replication_destination,
            CrdKind::KopiaMaintenance => &self.kopia_maintenance,
        }
    }
}

fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        // The schemas are part of the binary, not input: the unit test
        // `embedded_schemas_load` makes sure this cannot fail.
        load_schemas().unwrap_or_else(|error| panic!("the embedded VolSync schemas: {error}"))
    })
}

/// Parses the embedded files, merges the overlay into the vendored CRDs and
/// compiles the three schemas.
fn load_schemas() -> Result<Schemas, String> {
    let extensions: Json =
        serde_json::from_str(EXTENSIONS).map_err(|error| format!("extensions.json: {error}"))?;
    let mut files = HashMap::new();
    for (name, text) in SCHEMA_FILES {
        let json: Json = serde_json::from_str(text).map_err(|error| format!("{name}: {error}"))?;
        files.insert(name, json);
    }
    for kind in CrdKind::ALL {
        let schema = files
            .get_mut(kind.file())
            .ok_or_else(|| format!("no schema file for {}", kind.name()))?;
        apply_additions(kind, schema, &extensions)?;
    }
    let mut compiler = Compiler::new(&files);
    let metadata = extensions
        .get("metadata")
        .ok_or("extensions.json has no `metadata`")?;
    let mut compile_kind = |kind: CrdKind| -> Result<Schema, String> {
        let root = &files[kind.file()];
        let mut schema = compiler.compile(root, kind.file(), 0)?;
        // The envelope: apiVersion and kind are fixed, metadata is checked
        // loosely (the CRDs only say `type: object`).
        schema.required.extend(["apiVersion".into(), "kind".into()]);
        for (name, property) in &mut schema.properties {
            match name.as_str() {
                "apiVersion" => property.allowed = vec![Json::from(API_VERSION)],
                "kind" => property.allowed = vec![Json::from(kind.name())],
                "metadata" => {
                    *property = compiler.compile(metadata, "extensions.json#/metadata", 0)?
                }
                _ => {}
            }
        }
        Ok(schema)
    };
    Ok(Schemas {
        replication_source: compile_kind(CrdKind::ReplicationSource)?,
        replication_destination: compile_kind(CrdKind::ReplicationDestination)?,
        kopia_maintenance: compile_kind(CrdKind::KopiaMaintenance)?,
    })
}

/// Adds the overlay's properties for `kind`; replacing a property of the
/// vendored schema is refused, so the overlay can only extend VolSync's CRDs.
fn apply_additions(kind: CrdKind, schema: &mut Json, extensions: &Json) -> Result<(), String> {
    let additions = extensions
        .get("additions")
        .and_then(Json::as_array)
        .ok_or("extensions.json has no `additions` list")?;
    for addition in additions {
        let applies = addition
            .get("kinds")
            .and_then(Json::as_array)
            .is_some_and(|kinds| kinds.iter().any(|k| k.as_str() == Some(kind.name())));
        if !applies {
            continue;
        }
        let at = addition
            .get("at")
            .and_then(Json::as_str)
            .ok_or("an addition has no `at`")?;
        let added = addition
            .get("properties")
            .and_then(Json::as_object)
            .ok_or_else(|| format!("the addition at {at} has no `properties`"))?;
        let target = schema
            .pointer_mut(at)
            .and_then(Json::as_object_mut)
            .ok_or_else(|| format!("{}: nothing at {at}", kind.name()))?;
        let properties = target
            .entry("properties")
            .or_insert_with(|| Json::Object(serde_json::Map::new()))
            .as_object_mut()
            .ok_or_else(|| format!("{}: {at}/properties is not an object", kind.name()))?;
        for (name, property) in added {
            if properties.contains_key(name) {
                return Err(format!(
                    "{}: the overlay would replace {at}/properties/{name}",
                    kind.name()
                ));
            }
            properties.insert(name.clone(), property.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
