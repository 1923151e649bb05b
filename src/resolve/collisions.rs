//! Rules across all entries of all plans.

use std::collections::BTreeMap;

use super::error::ResolveError;
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::model::{Backup, Entry, Identity, Model, RepositoryLocation};

/// Rules across all entries of all plans: no two sources write the same
/// Kopia snapshot source to one repository, and no two generated objects
/// share a name.
pub(super) fn check_collisions(model: &Model, diagnostics: &mut Diagnostics) {
    check_sources(model, diagnostics);
    check_object_names(model, diagnostics);
}

fn check_sources(model: &Model, diagnostics: &mut Diagnostics) {
    let origin_of = |backup: &Backup| {
        let entry = &backup.entry;
        format!(
            "{} (backup `{}` at {})",
            entry.identity, entry.name, entry.origin
        )
    };
    let mut sources: BTreeMap<(String, String, &Identity), &Backup> = BTreeMap::new();
    for backup in &model.backups {
        let entry = &backup.entry;
        // The same Secret name in the same namespace, or the same URL or
        // claim, is the same repository.
        let repo_key = match &entry.repository.location {
            RepositoryLocation::FromSecret => {
                format!("{}/{}", entry.namespace, entry.repository.secret_name)
            }
            RepositoryLocation::Claim { .. } => entry.namespace.clone(),
            RepositoryLocation::Url(_) => String::new(),
        };
        let key = (repo_key, entry.repository.place(), &entry.identity);
        if let Some(first) = sources.insert(key, backup) {
            diagnostics.push(
                Diagnostic::new(&ResolveError::SourceCollision {
                    identity: entry.identity.to_string(),
                    repository: entry.repository.name.clone(),
                })
                .help(format!(
                    "{} and {}; give one of them another name, `username`/`hostname` or `sourcePathOverride`",
                    origin_of(first),
                    origin_of(backup)
                ))
                .at(Some(entry.span)),
            );
        }
    }
}

/// Every object any entry generates, by kind, namespace and name: the
/// second entry to claim a name is reported, at its own position.
fn check_object_names(model: &Model, diagnostics: &mut Diagnostics) {
    let created_claims = model.restores.iter().filter_map(|restore| {
        let destination = restore.destination.volume()?;
        destination.create.as_ref().map(|_| {
            (
                &restore.entry,
                ("PersistentVolumeClaim", destination.claim_name.as_str()),
            )
        })
    });
    let named = model
        .entries()
        .flat_map(|entry| {
            entry
                .object_names()
                .into_iter()
                .map(move |name| (entry, name))
        })
        .chain(created_claims);
    let mut objects: BTreeMap<(&str, &str, &str), &Entry> = BTreeMap::new();
    for (entry, (kind, name)) in named {
        let Some(first) = objects.insert((kind, &entry.namespace, name), entry) else {
            continue;
        };
        // An entry may name one object twice on purpose (a launcher's
        // ServiceAccount, Role and RoleBinding share a name, by kind).
        if std::ptr::eq(first, entry) {
            continue;
        }
        diagnostics.push(
            Diagnostic::new(&ResolveError::NameCollision {
                kind: kind.to_owned(),
                namespace: entry.namespace.clone(),
                name: name.to_owned(),
            })
            .help(format!(
                "the {} `{}` ({}) and the {} `{}` ({}) lead to the same name; rename one of them or its plan",
                first.component.noun(), first.name, first.origin, entry.component.noun(), entry.name, entry.origin
            ))
            .at(Some(entry.span)),
        );
    }
}
