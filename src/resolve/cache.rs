//! Kopia's cache volume: an emptyDir, a generated PersistentVolumeClaim, or
//! the user's own claim (`claimName`), and the hard limits that keep Kopia's
//! content and metadata caches inside it.

use std::collections::BTreeMap;

use super::defaults::{CACHE_ACCESS_MODE, DEFAULT_CACHE_CAPACITY};
use super::error::ResolveError;
use super::{At, PlanResolver, checks};
use crate::diagnostics::{Diagnostic, Diagnostics, Span};
use crate::model::{Cache, Model, Origin, PersistentCache};
use crate::plan::CacheSpec;

/// The fields that describe a volume kopiaplan generates; `claimName`
/// names an existing one instead.
fn describes_generated_volume(spec: &CacheSpec) -> bool {
    spec.capacity.is_some()
        || spec.storage_class_name.is_some()
        || spec.access_modes.is_some()
        || spec.persistent.is_some()
}

impl PlanResolver<'_, '_> {
    /// The cache of an entry whose own settings are `spec` (written at
    /// `at.cache`), over `spec.defaults.cache`. Limits and the generated
    /// volume's fields are inherited one by one; the most specific level
    /// that describes the volume decides whether it is an existing claim.
    pub(super) fn cache(&mut self, spec: Option<&CacheSpec>, at: &At<'_>) -> Cache {
        let defaults = self.input.spec.defaults.cache.clone().unwrap_or_default();
        let own = spec.cloned().unwrap_or_default();
        let at_own = at.key("cache");
        let at_defaults = self.root.key("spec").key("defaults").key("cache");
        self.check_claim_alone(&own, &at_own);
        self.check_claim_alone(&defaults, &at_defaults);
        let at_of = |own_has: bool| {
            if own_has {
                at_own.clone()
            } else {
                at_defaults.clone()
            }
        };
        let content_limit = own.content_size_limit_mb.or(defaults.content_size_limit_mb);
        let metadata_limit = own
            .metadata_size_limit_mb
            .or(defaults.metadata_size_limit_mb);

        let existing = match (&own.claim_name, &defaults.claim_name) {
            (Some(claim), _) => Some((claim.clone(), at_own.key("claimName"))),
            (None, Some(claim)) if !describes_generated_volume(&own) => {
                Some((claim.clone(), at_defaults.key("claimName")))
            }
            _ => None,
        };
        if let Some((claim_name, at_claim)) = existing {
            if let Err(e) = checks::dns_subdomain(&claim_name) {
                let d = at_claim.invalid_name(
                    "cache claim name",
                    &claim_name,
                    e,
                    "use the name of an existing PersistentVolumeClaim",
                );
                self.report(d);
            }
            // The claim's size is not known here: without explicit limits
            // Kopia keeps its own (soft) ones.
            return Cache {
                capacity: String::new(),
                content_cache_mb: content_limit.unwrap_or(0).into(),
                metadata_cache_mb: metadata_limit.unwrap_or(0).into(),
                persistent: Some(PersistentCache {
                    claim_name,
                    storage_class_name: None,
                    access_modes: Vec::new(),
                    existing: true,
                }),
            };
        }

        let capacity_at = at_of(own.capacity.is_some());
        let capacity = own
            .capacity
            .or(defaults.capacity)
            .unwrap_or_else(|| DEFAULT_CACHE_CAPACITY.into());
        let bytes = match checks::quantity_bytes(&capacity) {
            Ok(bytes) => bytes,
            Err(e) => {
                let d = capacity_at.key("capacity").error(
                    &ResolveError::InvalidQuantity {
                        what: "cache capacity".to_owned(),
                        value: capacity.to_string(),
                        problem: e.to_string(),
                    },
                    "write a size such as `2Gi`",
                );
                self.report(d);
                0
            }
        };
        let megabytes = bytes / (1024 * 1024);
        if bytes > 0 && megabytes < 256 {
            let d = capacity_at.key("capacity").error(
                &ResolveError::CacheTooSmall {
                    capacity: capacity.clone(),
                },
                "give the cache at least 256Mi; 2Gi or more is better",
            );
            self.report(d);
        }
        // Kopia's content cache gets most of the volume, its metadata cache
        // a fifth; the rest holds the config and logs.
        let content_cache_mb = content_limit.map_or(megabytes * 6 / 10, u64::from);
        let metadata_cache_mb = metadata_limit.map_or(megabytes * 2 / 10, u64::from);
        let unlimited = content_cache_mb == 0 || metadata_cache_mb == 0;
        if (content_limit.is_some() || metadata_limit.is_some())
            && megabytes > 0
            && (unlimited || content_cache_mb + metadata_cache_mb > megabytes)
        {
            let at_limit = if content_limit.is_some() {
                at_of(own.content_size_limit_mb.is_some()).key("contentSizeLimitMB")
            } else {
                at_of(own.metadata_size_limit_mb.is_some()).key("metadataSizeLimitMB")
            };
            let total = if unlimited {
                "no limit".to_owned()
            } else {
                format!("{} MiB", content_cache_mb + metadata_cache_mb)
            };
            self.report(
                at_limit.error(
                    &ResolveError::CacheLimitsExceedVolume {
                        total,
                        capacity: capacity.clone(),
                        megabytes,
                    },
                    "keep `contentSizeLimitMB` + `metadataSizeLimitMB` below the capacity, leaving room for Kopia's config and logs, or raise `capacity` (an emptyDir that outgrows its size gets the pod evicted)",
                ),
            );
        }
        let persistent = own.persistent.or(defaults.persistent).unwrap_or(false);
        let storage_class_name = own.storage_class_name.or(defaults.storage_class_name);
        let access_modes = own
            .access_modes
            .or(defaults.access_modes)
            .unwrap_or_else(|| vec![CACHE_ACCESS_MODE.into()]);
        Cache {
            capacity,
            content_cache_mb,
            metadata_cache_mb,
            persistent: persistent.then(|| PersistentCache {
                claim_name: String::new(),
                storage_class_name,
                access_modes,
                existing: false,
            }),
        }
    }

    /// `claimName` names an existing volume: the fields of a generated one
    /// cannot go with it on the same level.
    fn check_claim_alone(&mut self, spec: &CacheSpec, at: &At<'_>) {
        if spec.claim_name.is_none() {
            return;
        }
        let fields = [
            ("capacity", spec.capacity.is_some()),
            ("storageClassName", spec.storage_class_name.is_some()),
            ("accessModes", spec.access_modes.is_some()),
            ("persistent", spec.persistent.is_some()),
        ];
        for (field, set) in fields {
            if set {
                let d = at.key(field).key_error(
                    &ResolveError::CacheSettingWithClaim {
                        field: field.to_owned(),
                    },
                    format!(
                        "remove `{field}`, or remove `claimName` to let kopiaplan create the volume"
                    ),
                );
                self.report(d);
            }
        }
    }
}

/// An existing cache claim holds Kopia's config as well as its cache: two
/// entries sharing one would overwrite each other's config when they run
/// at the same time. The quick and full maintenance and the replicas of
/// one repository are one user: they share its maintenance settings, run
/// as one owner on one repository, and Kopia's maintenance lease keeps
/// them apart.
pub fn check_shared_claims(model: &Model, diagnostics: &mut Diagnostics) {
    type User<'m> = (&'static str, &'m str, &'m Origin, Span);
    let mut users: BTreeMap<(&str, &str), Vec<User<'_>>> = BTreeMap::new();
    let mut repository_users: Vec<(&str, &str, String)> = Vec::new();
    for entry in model.entries() {
        if let Some(claim) = entry.cache.persistent.as_ref().filter(|p| p.existing) {
            if matches!(
                entry.component,
                crate::model::Component::Maintenance | crate::model::Component::Replica
            ) {
                let user = (
                    entry.namespace.as_str(),
                    claim.claim_name.as_str(),
                    entry.repository.described(),
                );
                if repository_users.contains(&user) {
                    continue;
                }
                repository_users.push(user);
            }
            users
                .entry((entry.namespace.as_str(), claim.claim_name.as_str()))
                .or_default()
                .push((
                    entry.component.noun(),
                    entry.name.as_str(),
                    &entry.origin,
                    entry.span,
                ));
        }
    }
    for ((namespace, claim), users) in users {
        let [(first_kind, first_name, first_origin, _), rest @ ..] = users.as_slice() else {
            continue;
        };
        for (kind, name, origin, span) in rest {
            diagnostics.push(
                Diagnostic::new(&ResolveError::SharedCacheClaim {
                    namespace: namespace.to_owned(),
                    claim: claim.to_owned(),
                    first: (
                        first_kind.to_string(),
                        first_name.to_string(),
                        first_origin.to_string(),
                    ),
                    second: (kind.to_string(), name.to_string(), origin.to_string()),
                })
                .at(Some(*span))
                .help(
                    "Kopia keeps its config on the cache volume, and runs at the same time would overwrite each other's: give each entry its own `cache.claimName`",
                ),
            );
        }
    }
}
