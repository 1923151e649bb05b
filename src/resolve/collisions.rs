//! Rules across all entries of all plans.

use std::collections::BTreeMap;

use super::error::ResolveError;
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::model::{Backup, Identity, Model, RepositoryLocation, Run};

/// Rules across all entries of all plans: no two sources write the same
/// Kopia snapshot source to one repository, and no two generated objects
/// share a name.
pub(super) fn check_collisions(model: &Model, diagnostics: &mut Diagnostics) {
    let origin_of = |backup: &Backup| {
        format!(
            "{} (backup `{}` at {})",
            backup.identity, backup.name, backup.origin
        )
    };
    let mut sources: BTreeMap<(String, String, &Identity), &Backup> = BTreeMap::new();
    let mut objects: BTreeMap<(&str, &str, &str), &Backup> = BTreeMap::new();
    for backup in &model.backups {
        // The same Secret name in the same namespace, or the same URL or
        // claim, is the same repository.
        let repo_key = match &backup.repository.location {
            RepositoryLocation::FromSecret => {
                format!("{}/{}", backup.namespace, backup.repository.secret_name)
            }
            RepositoryLocation::Claim { .. } => backup.namespace.clone(),
            RepositoryLocation::Url(_) => String::new(),
        };
        let key = (
            repo_key,
            backup.repository.location.normalised(),
            &backup.identity,
        );
        if let Some(first) = sources.insert(key, backup) {
            diagnostics.push(
                Diagnostic::new(&ResolveError::SourceCollision {
                    identity: backup.identity.to_string(),
                    repository: backup.repository.name.clone(),
                })
                .help(format!(
                    "{} and {}; give one of them another name, `username`/`hostname` or `sourcePathOverride`",
                    origin_of(first),
                    origin_of(backup)
                ))
                .at(Some(backup.span)),
            );
        }
        let mut names = vec![
            ("ServiceAccount", backup.names.service_account.as_str()),
            ("ConfigMap", backup.names.policy_config_map.as_str()),
        ];
        match backup.run {
            Run::Manual { .. } => names.extend(backup.names.job.as_deref().map(|job| ("Job", job))),
            _ => names.push(("CronJob", backup.names.cron_job.as_str())),
        }
        if let Some(p) = backup.cache.persistent.as_ref().filter(|p| !p.existing) {
            names.push(("PersistentVolumeClaim", p.claim_name.as_str()));
        }
        for (kind, name) in names {
            if let Some(first) = objects.insert((kind, backup.namespace.as_str(), name), backup)
                && !std::ptr::eq(first, backup)
            {
                diagnostics.push(
                        Diagnostic::new(&ResolveError::NameCollision {
                            kind: kind.to_owned(),
                            namespace: backup.namespace.clone(),
                            name: name.to_owned(),
                        })
                        .help(format!(
                            "backups `{}` ({}) and `{}` ({}) lead to the same name; rename one of them or its plan",
                            first.name, first.origin, backup.name, backup.origin
                        ))
                        .at(Some(backup.span)),
                    );
            }
        }
    }
}
