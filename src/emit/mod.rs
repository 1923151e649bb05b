//! Emission: the resolved model → typed Kubernetes objects (`k8s-openapi`),
//! plus the mover scripts rendered into content-hashed ConfigMaps.

pub mod backup;
pub mod labels;
pub mod pod;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::model::Model;
use crate::output::Object;
use crate::resolve::names::short_digest;
use crate::scripts;

pub fn emit(model: &Model) -> Result<Vec<Object>, Diagnostics> {
    let scripts = scripts::render_all().map_err(|error| {
        Diagnostics::from(Diagnostic::error(format!(
            "internal error: a mover script template does not render: {error}"
        )))
    })?;
    let script_data: BTreeMap<String, String> = scripts
        .iter()
        .map(|s| (s.name.to_owned(), s.text.clone()))
        .collect();
    let digest = short_digest(&serde_json::to_string(&script_data).unwrap_or_default());

    let mut objects = Vec::new();
    // One scripts ConfigMap per plan and namespace; its name carries a digest
    // of the scripts so that a change of scripts rolls every mover.
    let mut scripts_config_maps: BTreeMap<(usize, &str), String> = BTreeMap::new();
    for backup in &model.backups {
        let plan = &model.plans[backup.plan.0];
        let name = format!("{}-{digest}", backup.names.scripts_prefix);
        if scripts_config_maps
            .insert((backup.plan.0, backup.namespace.as_str()), name.clone())
            .is_none()
        {
            objects.push(Object::from_resource(&ConfigMap {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some(backup.namespace.clone()),
                    labels: Some(labels::labels(plan, labels::Component::Backup, &plan.name)),
                    annotations: Some(labels::annotations(plan, &plan.origin)),
                    ..ObjectMeta::default()
                },
                data: Some(script_data.clone()),
                ..ConfigMap::default()
            }));
        }
        objects.extend(backup::objects(plan, backup, &name));
    }
    objects.extend(model.passthrough.iter().cloned().map(Object::passthrough));
    Ok(objects)
}
