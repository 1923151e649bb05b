//! Object names: deterministic, within Kubernetes' length limits, shortened
//! with a stable hash suffix when needed, and checked for collisions by the
//! caller.

use sha2::{Digest, Sha256};

use super::{Component, Names, Run};

/// CronJob names: Kubernetes appends 11 characters for its Jobs.
pub const CRON_JOB_NAME_LIMIT: usize = 52;
/// Every other object name (DNS-1123 label).
pub const NAME_LIMIT: usize = 63;

/// The first 32 bits of SHA-256, for spreading and short suffixes.
pub fn stable_hash(text: &str) -> u32 {
    let digest = Sha256::digest(text.as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// A short hex digest of `text` (10 characters), for name suffixes.
pub fn short_digest(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(5).map(|b| format!("{b:02x}")).collect()
}

/// Joins `parts` with `-`; when longer than `limit`, keeps a readable prefix
/// and appends a digest of the full name, so distinct long names stay distinct.
pub fn object_name(parts: &[&str], limit: usize) -> String {
    let full = parts.join("-");
    if full.len() <= limit {
        return full;
    }
    let digest = short_digest(&full);
    // Names reach here before their characters are judged (an invalid name
    // is reported, not a panic): cut on a character boundary.
    let mut keep = limit.saturating_sub(digest.len() + 1).min(full.len());
    while !full.is_char_boundary(keep) {
        keep -= 1;
    }
    let prefix = full[..keep].trim_end_matches(['-', '.']);
    format!("{prefix}-{digest}")
}

/// The names of one entry's objects: `<plan>-<entry>-<component>` for its
/// CronJob and ServiceAccount, with a suffix for the rest (`-policy`, a
/// digest of a manual run's token), each shortened with a digest of the full
/// name when it is too long. Maintenance is named after its repository.
pub fn entry(
    plan: &str,
    entry: &str,
    component: Component,
    namespace: &str,
    run: &Run,
    has_policy: bool,
    has_launcher: bool,
) -> Names {
    named(
        &[plan, entry, component.as_str()],
        plan,
        namespace,
        run,
        has_policy,
        has_launcher,
    )
}

/// The names of an entry whose CronJob is named `base` joined: what
/// [`entry`] does, for the entries whose names say more than their
/// component (`<plan>-<repository>-maintenance-quick`,
/// `<plan>-<repository>-replica-<name>`).
pub fn named(
    base: &[&str],
    plan: &str,
    namespace: &str,
    run: &Run,
    has_policy: bool,
    has_launcher: bool,
) -> Names {
    let with = |suffix: &str| object_name(&[base, &[suffix]].concat(), NAME_LIMIT);
    Names {
        cron_job: object_name(base, CRON_JOB_NAME_LIMIT),
        job: match run {
            Run::Manual { token } => Some(with(&short_digest(token))),
            _ => None,
        },
        service_account: object_name(base, NAME_LIMIT),
        policy_config_map: if has_policy {
            with("policy")
        } else {
            String::new()
        },
        scripts_prefix: scripts_prefix(plan),
        launcher: has_launcher.then(|| launcher(namespace, base)),
    }
}

/// The PVC of an entry's persistent cache, when kopiaplan creates it.
pub fn persistent_cache(plan: &str, entry: &str, component: Component) -> String {
    object_name(&[plan, entry, component.as_str(), "cache"], NAME_LIMIT)
}

/// The name of a plan's scripts ConfigMap before its content digest (11
/// characters: `-` and the digest).
pub fn scripts_prefix(plan: &str) -> String {
    object_name(&[plan, "scripts"], NAME_LIMIT - 11)
}

/// The objects of a launcher for the entry whose names start with `parts`.
pub fn launcher(namespace: &str, parts: &[&str]) -> crate::model::LauncherNames {
    let with = |suffix: &str| {
        let mut all = parts.to_vec();
        all.push(suffix);
        object_name(&all, NAME_LIMIT)
    };
    crate::model::LauncherNames {
        service_account: with("launcher"),
        role: with("launcher"),
        role_binding: with("launcher"),
        manifests_config_map: with("launcher"),
        mover_job: with("mover"),
        volume_snapshot: with("snapshot"),
        // Cluster-scoped: the namespace is part of the name.
        admission_policy: object_name(
            &[&["kopiaplan", namespace], parts, &["launcher"]].concat(),
            NAME_LIMIT,
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn shortening_never_cuts_inside_a_character() {
        let name = format!("{}é{}", "a".repeat(39), "b".repeat(40));
        for limit in [40, 41, 52, 63] {
            let short = super::object_name(&[&name, "backup"], limit);
            assert!(short.len() <= limit, "{short}");
        }
    }

    use super::*;

    #[test]
    fn short_names_are_kept() {
        assert_eq!(
            object_name(&["nightly", "web", "backup"], 52),
            "nightly-web-backup"
        );
    }

    #[test]
    fn long_names_are_shortened_stably_and_distinctly() {
        let long = "a".repeat(60);
        let a = object_name(&["plan", &long, "one", "backup"], CRON_JOB_NAME_LIMIT);
        let b = object_name(&["plan", &long, "two", "backup"], CRON_JOB_NAME_LIMIT);
        assert_eq!(a.len(), CRON_JOB_NAME_LIMIT);
        assert_eq!(b.len(), CRON_JOB_NAME_LIMIT);
        assert_ne!(a, b);
        assert_eq!(
            a,
            object_name(&["plan", &long, "one", "backup"], CRON_JOB_NAME_LIMIT)
        );
        assert!(a.starts_with("plan-aaaa"));
    }

    #[test]
    fn shortened_names_do_not_end_in_a_dash_before_the_suffix() {
        let name = object_name(&["p", &"b-".repeat(40)], NAME_LIMIT);
        assert!(!name.contains("--"), "{name}");
        assert!(name.len() <= NAME_LIMIT);
    }
}
