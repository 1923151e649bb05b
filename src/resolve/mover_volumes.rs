//! `mover.volumes`: extra Secrets, NFS exports and claims mounted into the
//! mover at `/mnt/<mountPath>` (VolSync's `moverVolumes`). Checked here, and
//! given pod volume names that are valid and distinct.

use std::collections::{BTreeMap, BTreeSet};

use super::error::ResolveError;
use super::names::{NAME_LIMIT, short_digest};
use super::{At, PlanResolver, checks};
use crate::model::{MoverVolume, MoverVolumeSource, paths};
use crate::plan;

/// What a mount path may hold: one or more `/`-separated names of letters,
/// digits, `.`, `_` and `-`.
fn check_mount_path(path: &str) -> Result<(), String> {
    checks::relative_path(path)?;
    if path.split('/').any(str::is_empty) {
        return Err("must not have empty components (`//` or a trailing `/`)".into());
    }
    if let Some(c) = path
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/')))
    {
        return Err(format!(
            "contains `{c}`; use letters, digits, `.`, `_`, `-` and `/`"
        ));
    }
    Ok(())
}

/// `mnt-<mountPath with / → ->` when that is a DNS-1123 label no other
/// volume of the mover gets; else a readable prefix and a digest of the path.
fn volume_name(mount_path: &str, shared: bool) -> String {
    let plain = format!("mnt-{}", mount_path.replace('/', "-"));
    if !shared && checks::dns_label(&plain).is_ok() {
        return plain;
    }
    let digest = short_digest(mount_path);
    let sanitized: String = plain
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let keep = sanitized.len().min(NAME_LIMIT - digest.len() - 1);
    let prefix = sanitized[..keep].trim_end_matches('-');
    format!("{prefix}-{digest}")
}

impl PlanResolver<'_, '_> {
    /// The mover volumes written at `at` (a `volumes` list).
    pub(super) fn mover_volumes(
        &mut self,
        written: &[plan::MoverVolume],
        at: &At<'_>,
    ) -> Vec<MoverVolume> {
        let mut plain_names: BTreeMap<String, usize> = BTreeMap::new();
        for volume in written {
            *plain_names
                .entry(volume.mount_path.replace('/', "-"))
                .or_default() += 1;
        }
        let mut seen_paths = BTreeSet::new();
        let mut resolved = Vec::new();
        for (index, volume) in written.iter().enumerate() {
            let at_volume = at.index(index);
            let path = &volume.mount_path;
            if let Err(e) = check_mount_path(path) {
                let d = at_volume.key("mountPath").error(
                    &ResolveError::InvalidPath {
                        what: "mount path".to_owned(),
                        value: path.to_string(),
                        problem: e.to_string(),
                    },
                    format!(
                        "write a path relative to `{}`, such as `nfs-share` or `keys/ssh`",
                        paths::MOVER_VOLUMES
                    ),
                );
                self.report(d);
                continue;
            }
            if !seen_paths.insert(path.as_str()) {
                let d = at_volume.key("mountPath").error(
                    &ResolveError::DuplicateMountPath { path: path.clone() },
                    "give each volume its own `mountPath`",
                );
                self.report(d);
                continue;
            }
            let Some(source) = self.mover_volume_source(&volume.volume_source, &at_volume) else {
                continue;
            };
            let shared = plain_names
                .get(&path.replace('/', "-"))
                .is_some_and(|count| *count > 1);
            resolved.push(MoverVolume {
                name: volume_name(path, shared),
                mount_path: format!("{}/{path}", paths::MOVER_VOLUMES),
                source,
            });
        }
        resolved
    }

    fn mover_volume_source(
        &mut self,
        written: &plan::MoverVolumeSource,
        at_volume: &At<'_>,
    ) -> Option<MoverVolumeSource> {
        let at = at_volume.key("volumeSource");
        let set = [
            written.secret.is_some(),
            written.nfs.is_some(),
            written.persistent_volume_claim.is_some(),
        ];
        if set.iter().filter(|s| **s).count() != 1 {
            let d = at.error(
                &ResolveError::MoverVolumeSource,
                "keep one source per volume; list another volume for the next one",
            );
            self.report(d);
            return None;
        }
        if let Some(secret) = &written.secret {
            let at_name = at.key("secret").key("secretName");
            let name = secret.secret_name.as_deref().unwrap_or_default();
            if let Err(e) = checks::dns_subdomain(name) {
                let d = at_name.invalid_name("Secret name", name, e, "name the Secret to mount");
                self.report(d);
                return None;
            }
            return Some(MoverVolumeSource::Secret(secret.clone()));
        }
        if let Some(nfs) = &written.nfs {
            let at_nfs = at.key("nfs");
            let mut ok = true;
            if nfs.server.trim().is_empty() {
                let d = at_nfs.key("server").error(
                    &ResolveError::EmptyNfsServer,
                    "name the NFS server (a host name or an IP address)",
                );
                self.report(d);
                ok = false;
            }
            if let Err(e) = checks::absolute_path(&nfs.path) {
                let d = at_nfs.key("path").error(
                    &ResolveError::InvalidPath {
                        what: "NFS export".to_owned(),
                        value: nfs.path.to_string(),
                        problem: e.to_string(),
                    },
                    "write the exported path, such as `/exports/backups`",
                );
                self.report(d);
                ok = false;
            }
            self.report(
                at_nfs.error(
                    &ResolveError::NfsOutsideRestrictedProfile,
                    "a namespace that enforces `restricted` rejects this mover; mount the export through a PersistentVolume and claim instead",
                ),
            );
            return ok.then(|| MoverVolumeSource::Nfs(nfs.clone()));
        }
        let claim = written.persistent_volume_claim.as_ref()?;
        if let Err(e) = checks::dns_subdomain(&claim.claim_name) {
            let d = at
                .key("persistentVolumeClaim")
                .key("claimName")
                .invalid_name(
                    "claim name",
                    &claim.claim_name,
                    e,
                    "name an existing PersistentVolumeClaim",
                );
            self.report(d);
            return None;
        }
        Some(MoverVolumeSource::Claim(claim.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_keep_readable_names() {
        assert_eq!(volume_name("nfs-share", false), "mnt-nfs-share");
        assert_eq!(volume_name("keys/ssh", false), "mnt-keys-ssh");
    }

    #[test]
    fn ambiguous_or_invalid_paths_get_a_digest() {
        let slash = volume_name("a/b", true);
        let dash = volume_name("a-b", true);
        assert_ne!(slash, dash);
        assert!(slash.starts_with("mnt-a-b-"), "{slash}");
        let upper = volume_name("Keys_Old", false);
        assert!(checks::dns_label(&upper).is_ok(), "{upper}");
        let long = volume_name(&"x".repeat(100), false);
        assert!(long.len() <= NAME_LIMIT, "{long}");
        assert!(checks::dns_label(&long).is_ok(), "{long}");
    }

    #[test]
    fn mount_paths_are_relative_and_plain() {
        assert!(check_mount_path("nfs").is_ok());
        assert!(check_mount_path("a/b.c_d-e").is_ok());
        for bad in ["/abs", "", "a/../b", "a//b", "a/", "a b", "a:b", ".."] {
            assert!(check_mount_path(bad).is_err(), "{bad}");
        }
    }
}
