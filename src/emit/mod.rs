//! Emission: the resolved model → typed Kubernetes objects (`k8s-openapi`),
//! plus the mover scripts rendered into content-hashed ConfigMaps.

pub mod admission;
pub mod backup;
mod entry;
pub mod error;
pub mod hooks;
pub mod labels;
pub mod launcher;
pub mod maintenance;
pub mod mover_volumes;
pub mod pod;
pub mod policy_files;
pub mod replica;
pub mod restore;
pub mod run;
pub mod stream;
pub mod verify;
pub mod volume_snapshot;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    ConfigMap, PersistentVolumeClaim, PersistentVolumeClaimSpec, ServiceAccount,
    VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::model::names::short_digest;
use crate::model::{Cache, Model, PlanId};
use crate::output::Object;
use crate::scripts;

pub fn emit(model: &Model) -> Result<Vec<Object>, Diagnostics> {
    let scripts = scripts::render_all().map_err(|error| {
        Diagnostics::from(Diagnostic::new(&error::EmitError::TemplateDoesNotRender {
            reason: error.to_string(),
        }))
    })?;
    scripts::render_launcher_hooks(launcher::MANIFESTS).map_err(|error| {
        Diagnostics::from(Diagnostic::new(&error::EmitError::TemplateDoesNotRender {
            reason: error.to_string(),
        }))
    })?;
    let script_data: BTreeMap<String, String> = scripts
        .iter()
        .map(|s| (s.name.to_owned(), s.text.clone()))
        .collect();
    let digest = short_digest(&serde_json::to_string(&script_data).unwrap_or_default());

    let mut objects = Vec::new();
    // One scripts ConfigMap per plan and namespace; its name carries a digest
    // of the scripts so that a change of scripts rolls every mover.
    let mut scripts_config_maps: BTreeMap<(usize, String), String> = BTreeMap::new();
    let mut scripts_for =
        |plan_id: PlanId, namespace: &str, prefix: &str, objects: &mut Vec<Object>| {
            let plan = &model.plans[plan_id.0];
            let name = format!("{prefix}-{digest}");
            if scripts_config_maps
                .insert((plan_id.0, namespace.to_owned()), name.clone())
                .is_none()
            {
                objects.push(Object::from_resource(&ConfigMap {
                    metadata: ObjectMeta {
                        name: Some(name.clone()),
                        namespace: Some(namespace.to_owned()),
                        labels: Some(labels::labels(
                            plan,
                            crate::model::Component::Backup,
                            &plan.name,
                        )),
                        annotations: Some(labels::annotations(plan, &plan.origin)),
                        ..ObjectMeta::default()
                    },
                    data: Some(script_data.clone()),
                    ..ConfigMap::default()
                }));
            }
            name
        };
    let mut scripts_of = |entry: &crate::model::Entry, objects: &mut Vec<Object>| {
        let name = scripts_for(
            entry.plan,
            &entry.namespace,
            &entry.names.scripts_prefix,
            objects,
        );
        (&model.plans[entry.plan.0], name)
    };
    for backup in &model.backups {
        let (plan, scripts) = scripts_of(&backup.entry, &mut objects);
        objects.extend(backup::objects(plan, backup, &scripts));
    }
    for restore in &model.restores {
        let (plan, scripts) = scripts_of(&restore.entry, &mut objects);
        objects.extend(restore::objects(plan, restore, &scripts));
    }
    for verify in &model.verifies {
        let (plan, scripts) = scripts_of(&verify.entry, &mut objects);
        objects.extend(verify::objects(plan, verify, &scripts));
    }
    for maintenance in &model.maintenance {
        let (plan, scripts) = scripts_of(&maintenance.entry, &mut objects);
        objects.extend(maintenance::objects(plan, maintenance, &scripts));
    }
    for replica in &model.replicas {
        let (plan, scripts) = scripts_of(&replica.entry, &mut objects);
        objects.extend(replica::objects(plan, replica, &scripts));
    }
    objects.extend(crate::monitoring::objects(model));
    objects.extend(model.passthrough.iter().cloned().map(Object::passthrough));
    Ok(objects)
}

/// The metadata of an object generated for an entry.
fn object_meta(
    name: &str,
    namespace: &str,
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(namespace.to_owned()),
        labels: Some(labels.clone()),
        annotations: Some(annotations.clone()),
        ..ObjectMeta::default()
    }
}

/// A mover's ServiceAccount: no API token.
fn service_account(metadata: ObjectMeta) -> Object {
    Object::from_resource(&ServiceAccount {
        metadata,
        automount_service_account_token: Some(false),
        ..ServiceAccount::default()
    })
}

/// The PVC of a persistent cache, when the entry has one and it is not the
/// user's own.
fn cache_claim(cache: &Cache, meta: &dyn Fn(&str) -> ObjectMeta) -> Option<Object> {
    let persistent = cache.persistent.as_ref().filter(|p| !p.existing)?;
    Some(Object::from_resource(&PersistentVolumeClaim {
        metadata: meta(&persistent.claim_name),
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(persistent.access_modes.clone()),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_owned(),
                    Quantity(cache.capacity.clone()),
                )])),
                ..VolumeResourceRequirements::default()
            }),
            storage_class_name: persistent.storage_class_name.clone(),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    }))
}
