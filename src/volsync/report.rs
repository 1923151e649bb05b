//! `kopiaplan convert --report`: for each VolSync object, every place where
//! the compiled objects behave differently from what VolSync's code did
//! (layout, defaults, mounts, identities, deletions), so that a migrating
//! user reads the differences before applying. Read from the compiled model
//! and the typed objects, plus every warning the object gave.

use std::fmt::Write as _;

use super::parse::VolSyncObject;
use super::types::{ReplicationDestination, ReplicationSource};
use crate::Compiled;
use crate::diagnostics::{Severity, SourceMap};
use crate::load::Document;
use crate::model::identity::{hostname_for, username_for};
use crate::model::{Backup, Copy, Identity, Repository, RepositoryLocation, Restore, paths};

/// The areas a difference is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Area {
    Layout,
    Defaults,
    Mounts,
    Identities,
    Deletions,
}

impl Area {
    fn name(self) -> &'static str {
        match self {
            Area::Layout => "layout",
            Area::Defaults => "defaults",
            Area::Mounts => "mounts",
            Area::Identities => "identities",
            Area::Deletions => "deletions",
        }
    }
}

/// One difference: where, what VolSync did, what the compiled objects do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub area: Area,
    pub volsync: String,
    pub kopiaplan: String,
}

fn diff(area: Area, volsync: impl Into<String>, kopiaplan: impl Into<String>) -> Difference {
    Difference {
        area,
        volsync: volsync.into(),
        kopiaplan: kopiaplan.into(),
    }
}

/// The report of every VolSync object of the compiled input, in input order.
pub fn report(sources: &SourceMap, documents: &[Document], compiled: &Compiled) -> String {
    let mut out = String::from(
        "# kopiaplan convert --report: where the compiled objects differ from VolSync\n",
    );
    let starts = document_starts(documents);
    for input in &compiled.inputs.volsync {
        let document = &documents[input.doc.0];
        let within = |span: crate::diagnostics::Span| {
            span.file == document.file
                && span.line >= document.root.position.line
                && starts
                    .iter()
                    .find(|(file, line)| {
                        *file == document.file && *line > document.root.position.line
                    })
                    .is_none_or(|(_, next)| span.line < *next)
        };
        let metadata = input.object.metadata();
        let _ = writeln!(
            out,
            "\n## {} {}/{} ({}:{})",
            input.object.kind(),
            metadata.namespace.as_deref().unwrap_or("default"),
            metadata.name,
            sources.file(document.file).relative_name,
            document.root.position.line
        );
        let mut differences = match &input.object {
            VolSyncObject::Source(source) => {
                match compiled.model.backups.iter().find(|b| within(b.entry.span)) {
                    Some(backup) => {
                        let _ = writeln!(out, "identity: {} (VolSync's)", backup.entry.identity);
                        let writable =
                            data_mount_writable(&compiled.objects, &backup.entry.name, "backup");
                        source_differences(source, backup, writable)
                    }
                    None => Vec::new(),
                }
            }
            VolSyncObject::Destination(destination) => {
                match compiled
                    .model
                    .restores
                    .iter()
                    .find(|r| within(r.entry.span))
                {
                    Some(restore) => {
                        let _ = writeln!(out, "identity: {} (VolSync's)", restore.entry.identity);
                        destination_differences(destination, restore)
                    }
                    None => Vec::new(),
                }
            }
            VolSyncObject::Maintenance(_) => vec![diff(
                Area::Defaults,
                "a CronJob (or manual Job) running `kopia maintenance run` for the repository, owned by the KopiaMaintenance's identity",
                "one maintenance CronJob per repository, claiming the owner `maintenance@volsync` explicitly, full maintenance",
            )],
        };
        differences.sort_by_key(|d| d.area);
        for difference in &differences {
            let _ = writeln!(
                out,
                "- [{}] VolSync: {}\n  kopiaplan: {}",
                difference.area.name(),
                difference.volsync,
                difference.kopiaplan
            );
        }
        for diagnostic in compiled
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning && d.span.is_some_and(&within))
        {
            let _ = writeln!(out, "- [{}] {}", diagnostic.code, diagnostic.message);
        }
        if differences.is_empty()
            && !compiled
                .diagnostics
                .iter()
                .any(|d| d.span.is_some_and(&within))
        {
            out.push_str("- no difference\n");
        }
    }
    out
}

/// Where each document starts (file, line), to tell which document a
/// position is in.
fn document_starts(documents: &[Document]) -> Vec<(crate::diagnostics::FileId, u32)> {
    let mut starts: Vec<_> = documents
        .iter()
        .map(|d| (d.file, d.root.position.line))
        .collect();
    starts.sort();
    starts
}

fn repository_differences(repository: &Repository, restore: bool) -> Vec<Difference> {
    let mut found = Vec::new();
    let location = match &repository.location {
        RepositoryLocation::FromSecret => format!(
            "the URL in `KOPIA_REPOSITORY` of the Secret `{}`, read when the mover runs",
            repository.secret_name
        ),
        RepositoryLocation::Url(url) => format!("`{url}`"),
        RepositoryLocation::Claim { claim_name, path } => {
            format!("the PVC `{claim_name}`, directory `{path}`")
        }
    };
    // With VolSync's layout the mover connects where VolSync's did, decided
    // the same way at run time: no difference to report.
    if repository.layout != crate::model::RepositoryLayout::VolSync {
        found.push(diff(
            Area::Layout,
            "connected to the repository its mover script derived from the Secret's keys",
            format!("connects to {location}"),
        ));
    }
    if restore {
        found.push(diff(
            Area::Layout,
            "any failure to connect created a new, empty repository",
            "a restore never creates a repository: it fails and says why",
        ));
    } else {
        found.push(diff(
            Area::Layout,
            "any failure to connect created a new, empty repository",
            format!(
                "creates one only when Kopia reports the storage holds none (create: {})",
                repository.create.as_str()
            ),
        ));
    }
    found
}

/// The identity VolSync's code gave an object (its explicit `username` and
/// `hostname`, else its name and namespace, sanitised), when the compiled
/// one is another.
fn identity_difference(
    identity: &Identity,
    explicit: (Option<&str>, Option<&str>),
    name: &str,
    namespace: &str,
) -> Option<Difference> {
    let volsync = (
        explicit
            .0
            .filter(|u| !u.is_empty())
            .map_or_else(|| username_for(name), str::to_owned),
        explicit
            .1
            .filter(|h| !h.is_empty())
            .map_or_else(|| hostname_for(namespace), str::to_owned),
    );
    (identity.username != volsync.0 || identity.hostname != volsync.1).then(|| {
        diff(
            Area::Identities,
            format!("`{}@{}`", volsync.0, volsync.1),
            format!("`{}@{}`", identity.username, identity.hostname),
        )
    })
}

/// Whether the mover of an entry mounts its data volume read-write, read
/// from the compiled objects of the entry (a Snapshot copy's mover pod is
/// inside its launcher's manifests, as text).
fn data_mount_writable(
    objects: &[crate::output::Object],
    entry: &str,
    component: &str,
) -> Option<bool> {
    objects
        .iter()
        .filter(|o| {
            let value = o.value();
            let labels = value.pointer("/metadata/labels");
            labels.and_then(|l| l.get("app.kubernetes.io/instance"))
                == Some(&serde_json::json!(entry))
                && labels.and_then(|l| l.get("app.kubernetes.io/component"))
                    == Some(&serde_json::json!(component))
        })
        .find_map(|o| find_data_mount(&o.value()))
}

fn find_data_mount(value: &serde_json::Value) -> Option<bool> {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(mounts)) = map.get("volumeMounts")
                && let Some(mount) = mounts.iter().find(|m| m["name"] == "data")
            {
                return Some(mount["readOnly"] != Value::Bool(true));
            }
            map.values().find_map(find_data_mount)
        }
        Value::Array(items) => items.iter().find_map(find_data_mount),
        Value::String(text) if text.contains("volumeMounts") => text
            .split("\n---")
            .filter_map(|doc| serde_saphyr::from_str::<Value>(doc).ok())
            .find_map(|doc| find_data_mount(&doc)),
        _ => None,
    }
}

fn source_differences(
    source: &ReplicationSource,
    backup: &Backup,
    writable: Option<bool>,
) -> Vec<Difference> {
    let mut found = repository_differences(&backup.entry.repository, false);
    let kopia = source.spec.kopia.as_ref();
    let namespace = source
        .metadata
        .namespace
        .as_deref()
        .unwrap_or(&backup.entry.namespace);
    found.extend(identity_difference(
        &backup.entry.identity,
        (
            kopia.and_then(|k| k.common.username.as_deref()),
            kopia.and_then(|k| k.common.hostname.as_deref()),
        ),
        &source.metadata.name,
        namespace,
    ));
    if source
        .spec
        .trigger
        .as_ref()
        .and_then(|t| t.schedule.as_ref())
        .is_some()
    {
        found.push(diff(
            Area::Defaults,
            "the schedule in the operator's time zone; a new object synced at once",
            "a CronJob in UTC; the first run is the first scheduled time",
        ));
    }
    found.push(diff(
        Area::Defaults,
        "maintenance by the creating ReplicationSource (seed) or only by a KopiaMaintenance (later)",
        "one maintenance CronJob per repository (daily unless `maintenanceIntervalDays` or a KopiaMaintenance says otherwise)",
    ));
    if kopia.is_some_and(|k| k.source_path_override.is_some() && k.retain.is_some()) {
        found.push(diff(
            Area::Defaults,
            "retention set on `/data`, so it never applied to the overridden path",
            "retention is part of the policy of the snapshotted path",
        ));
    }
    if !backup.additional_args.is_empty() {
        found.push(diff(
            Area::Defaults,
            "`additionalArgs` appended to `repository connect/create` too",
            "`additionalArgs` go to `snapshot create` only, each checked against Kopia's grammar",
        ));
    }
    // VolSync input always backs up a volume.
    let (copy, pit) = match backup.source.volume().map(|volume| &volume.copy) {
        Some(Copy::Direct { .. }) | None => ("the PVC itself", false),
        Some(Copy::Clone { .. }) => ("a clone of the PVC", true),
        Some(Copy::Snapshot { .. }) => ("a volume restored from a VolumeSnapshot of the PVC", true),
    };
    // VolSync mounted the data read-only only for a PVC whose one access
    // mode is ReadOnlyMany.
    if writable == Some(false) {
        found.push(diff(
            Area::Mounts,
            format!("{copy} mounted read-write at `{}`", paths::DATA),
            format!(
                "{copy} mounted read-only at `{}`: a `beforeSnapshot` action cannot write into it",
                paths::DATA
            ),
        ));
    }
    if pit {
        found.push(diff(
            Area::Deletions,
            "the temporary PVC (and VolumeSnapshot) deleted by the operator after each sync",
            "a generic ephemeral volume, deleted with the mover pod by Kubernetes (a Snapshot copy's VolumeSnapshot is deleted by the launcher)",
        ));
    }
    found.push(diff(
        Area::Deletions,
        "the mover Job deleted after each successful sync",
        format!(
            "Jobs kept by the CronJob's history ({} successful, {} failed)",
            backup.entry.jobs.successful_jobs_history_limit,
            backup.entry.jobs.failed_jobs_history_limit
        ),
    ));
    found
}

fn destination_differences(
    destination: &ReplicationDestination,
    restore: &Restore,
) -> Vec<Difference> {
    let mut found = repository_differences(&restore.entry.repository, true);
    let kopia = destination.spec.kopia.as_ref();
    let explicit =
        kopia.is_some_and(|k| k.common.username.is_some() || k.source_identity.is_some());
    if !explicit {
        let namespace = destination
            .metadata
            .namespace
            .as_deref()
            .unwrap_or(&restore.entry.namespace);
        found.extend(identity_difference(
            &restore.entry.identity,
            (None, None),
            &destination.metadata.name,
            namespace,
        ));
    }
    found.push(diff(
        Area::Defaults,
        "a restore that finds no snapshot succeeds, possibly after wiping the volume",
        "a restore that finds no snapshot succeeds with nothing restored and nothing deleted",
    ));
    if restore.policy_files.is_some() {
        found.push(diff(
            Area::Defaults,
            "the global policy file applied during the restore, changing the repository's policy",
            "a restore never applies a global policy",
        ));
    }
    found.push(diff(
        Area::Mounts,
        "the destination mounted read-write at `/restore/data`",
        format!(
            "the destination `{}` mounted read-write at `{}`",
            restore
                .destination
                .volume()
                .map_or("", |d| d.claim_name.as_str()),
            paths::DATA
        ),
    ));
    if restore.delete_extra {
        found.push(diff(
            Area::Deletions,
            "`enableFileDeletion` deleted files not in the snapshot, even when no snapshot was found",
            "files not in the snapshot are deleted only when a snapshot was chosen",
        ));
    }
    if restore
        .destination
        .volume()
        .is_some_and(|d| d.create.is_some())
    {
        found.push(diff(
            Area::Deletions,
            "the provisioned destination PVC deleted after the restore when `cleanupTempPVC` is set",
            "the provisioned destination PVC is kept",
        ));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_other_than_volsyncs_is_a_difference() {
        let identity = |user: &str, host: &str| Identity {
            username: user.into(),
            hostname: host.into(),
            path: "/data".into(),
        };
        assert_eq!(
            identity_difference(&identity("web", "apps"), (None, None), "web", "apps"),
            None
        );
        assert_eq!(
            identity_difference(
                &identity("team", "apps"),
                (Some("team"), None),
                "web",
                "apps"
            ),
            None
        );
        let found = identity_difference(&identity("web-x", "apps"), (None, None), "web", "apps")
            .expect("a difference");
        assert_eq!(found.area, Area::Identities);
        assert_eq!(found.volsync, "`web@apps`");
        assert_eq!(found.kopiaplan, "`web-x@apps`");
    }
}
