//! Field-by-field translation of VolSync's shared Kopia fields (cache,
//! mover, policy config, retention numbers) into plan types, and where each
//! plan field of an entry was written.

use super::*;

pub(super) fn policy_config(common: &Common) -> Option<plan::PolicyConfig> {
    let config = common.policy_config.as_ref()?;
    let text = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    Some(plan::PolicyConfig {
        config_map_name: text(&config.config_map_name),
        secret_name: text(&config.secret_name),
        global_policy_filename: text(&config.global_policy_filename),
        repository_config_filename: text(&config.repository_config_filename),
        repository_config: text(&config.repository_config),
    })
    .filter(|c| {
        c.config_map_name.is_some() || c.secret_name.is_some() || c.repository_config.is_some()
    })
}

pub(super) fn non_negative(value: Option<i64>) -> Option<u32> {
    value.and_then(|v| u32::try_from(v).ok())
}

/// VolSync's cache: an 8 GiB emptyDir unless a class or access modes ask
/// for a PVC (1 GiB unless `cacheCapacity` says), whose class falls back to
/// `storageClassName` and access modes to `accessModes`.
pub(super) fn cache(common: &Common) -> Option<CacheSpec> {
    Some(volsync_cache(
        common.cache_capacity.as_ref(),
        common.cache_storage_class_name.as_ref(),
        common.cache_access_modes.as_ref(),
        common.metadata_cache_size_limit_mb,
        common.content_cache_size_limit_mb,
        common.storage_class_name.as_ref(),
        common.access_modes.as_ref(),
    ))
}

/// The cache rules VolSync applies to every mover (KopiaMaintenance too).
pub(super) fn volsync_cache(
    capacity: Option<&types::Quantity>,
    storage_class_name: Option<&String>,
    access_modes: Option<&Vec<String>>,
    metadata_limit: Option<i64>,
    content_limit: Option<i64>,
    fallback_class: Option<&String>,
    fallback_modes: Option<&Vec<String>>,
) -> CacheSpec {
    let persistent = storage_class_name.is_some() || access_modes.is_some();
    let capacity = capacity.map(types::Quantity::as_string);
    let limits = CacheSpec {
        metadata_size_limit_mb: non_negative(metadata_limit),
        content_size_limit_mb: non_negative(content_limit),
        ..CacheSpec::default()
    };
    if !persistent {
        return CacheSpec { capacity, ..limits };
    }
    CacheSpec {
        capacity: Some(capacity.unwrap_or_else(|| DEFAULT_CACHE_PVC_CAPACITY.to_owned())),
        storage_class_name: storage_class_name.or(fallback_class).cloned(),
        persistent: Some(true),
        access_modes: access_modes
            .filter(|m| !m.is_empty())
            .or(fallback_modes)
            .cloned(),
        ..limits
    }
}

pub(super) fn mover(common: &Common, privileged: bool) -> MoverSpec {
    // The first PVC of `moverVolumes` is the repository (see `repository`).
    let repository_claim = common
        .mover_volumes
        .iter()
        .flatten()
        .position(|v| v.volume_source.persistent_volume_claim.is_some());
    let volumes: Vec<plan::MoverVolume> = common
        .mover_volumes
        .iter()
        .flatten()
        .enumerate()
        .filter(|(index, _)| Some(*index) != repository_claim)
        .map(|(_, v)| plan::MoverVolume {
            mount_path: v.mount_path.clone(),
            volume_source: plan::MoverVolumeSource {
                secret: v.volume_source.secret.clone(),
                nfs: v.volume_source.nfs.clone(),
                persistent_volume_claim: v.volume_source.persistent_volume_claim.clone(),
            },
        })
        .collect();
    MoverSpec {
        resources: common.mover_resources.clone(),
        pod_labels: common.mover_pod_labels.clone(),
        node_selector: None,
        tolerations: None,
        affinity: common.mover_affinity.clone(),
        security_context: common.mover_security_context.clone(),
        service_account_name: common
            .mover_service_account
            .clone()
            .filter(|s| !s.is_empty()),
        privileged: privileged.then_some(true),
        priority_class_name: None,
        volumes: (!volumes.is_empty()).then_some(volumes),
    }
}

/// Where the fields of the entry `spec.<list>[index]` were written: its
/// own fields (`own`: plan keys → VolSync path), and those every entry has.
pub(super) fn map_entry(
    builder: &mut PlanBuilder,
    (list, index): (&str, usize),
    doc: DocId,
    own: &[(&[&str], &[&str])],
) {
    let entry = |keys: &[&str]| {
        let mut p = path(&["spec", list]);
        p.push(PathSegment::Index(index));
        p.extend(keys.iter().map(|k| key(k)));
        p
    };
    let kopia = |field: &str| path(&["spec", "kopia", field]);
    let shared: [(&[&str], Vec<PathSegment>); 5] = [
        (&[], path(&["spec", "kopia"])),
        (&["name"], path(&["metadata", "name"])),
        (&["trigger"], path(&["spec", "trigger"])),
        (&["paused"], path(&["spec", "paused"])),
        (&["repository"], kopia("repository")),
    ];
    for (plan, source) in shared {
        builder.map(entry(plan), doc, source);
    }
    for (plan, source) in own {
        builder.map(entry(plan), doc, path(source));
    }
    for (plan, source) in [
        (&["cache", "capacity"][..], "cacheCapacity"),
        (&["cache", "storageClassName"][..], "cacheStorageClassName"),
        (&["cache", "accessModes"][..], "cacheAccessModes"),
        (
            &["cache", "metadataSizeLimitMB"][..],
            "metadataCacheSizeLimitMB",
        ),
        (
            &["cache", "contentSizeLimitMB"][..],
            "contentCacheSizeLimitMB",
        ),
        (&["mover", "resources"][..], "moverResources"),
        (&["mover", "podLabels"][..], "moverPodLabels"),
        (&["mover", "affinity"][..], "moverAffinity"),
        (&["mover", "securityContext"][..], "moverSecurityContext"),
        (&["mover", "serviceAccountName"][..], "moverServiceAccount"),
        (&["mover", "volumes"][..], "moverVolumes"),
        (&["create", "capacity"][..], "capacity"),
        (&["create", "accessModes"][..], "accessModes"),
        (&["create", "storageClassName"][..], "storageClassName"),
    ] {
        builder.map(entry(plan), doc, kopia(source));
    }
}
