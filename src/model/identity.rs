//! Kopia identities. The rules are those of VolSync's Kopia mover code (not
//! its docs), so that snapshots written by VolSync are found: username = the
//! entry name sanitised to `[A-Za-z0-9_-]`, at most 50 characters; hostname =
//! the namespace sanitised to `[A-Za-z0-9.-]`.

const FALLBACK: &str = "volsync-default";
const USERNAME_LIMIT: usize = 50;

pub fn username_for(name: &str) -> String {
    let kept: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let trimmed = kept.trim_matches(['-', '_']);
    if trimmed.is_empty() {
        return FALLBACK.to_owned();
    }
    trimmed.chars().take(USERNAME_LIMIT).collect()
}

pub fn hostname_for(namespace: &str) -> String {
    let kept: String = namespace
        .chars()
        .filter_map(|c| match c {
            '_' => Some('-'),
            c if c.is_ascii_alphanumeric() || c == '-' || c == '.' => Some(c),
            _ => None,
        })
        .collect();
    let trimmed = kept.trim_matches(['-', '.']);
    if trimmed.is_empty() {
        FALLBACK.to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// The default hostname of a backup in `namespace`: VolSync's rule, with
/// `.<cluster>` after it when the plan names its cluster.
pub fn hostname_in(namespace: &str, cluster: Option<&str>) -> String {
    match cluster {
        Some(cluster) => format!("{}.{cluster}", hostname_for(namespace)),
        None => hostname_for(namespace),
    }
}

/// An explicit username or hostname: VolSync's CRD pattern, and also
/// what VolSync's own rule wrote without one. The pattern wants a letter or
/// digit at both ends, but VolSync cuts a long name to 50 characters after
/// trimming, so `aaaa…a-tail` became the username `aaaa…a-`: snapshots
/// exist under it, and a plan (one `convert` wrote) must be able to name it.
/// So only the first character must be a letter or digit.
pub fn is_valid_explicit(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Input → output pairs pinned by VolSync's own tests.
    #[test]
    fn usernames_match_volsync() {
        let cases = [
            ("app-backup", "app-backup"),
            ("app_backup_job", "app_backup_job"),
            ("app@backup.service", "appbackupservice"),
            ("app.backup.service", "appbackupservice"),
            ("-_app-backup_-", "app-backup"),
            ("app backup service", "appbackupservice"),
            ("app-backup-ñ-test", "app-backup--test"),
            ("App-Backup_123", "App-Backup_123"),
            ("@#$%^&*()", "volsync-default"),
            ("-_-_-", "volsync-default"),
            ("", "volsync-default"),
        ];
        for (name, expected) in cases {
            assert_eq!(username_for(name), expected, "{name}");
        }
        assert_eq!(
            username_for(&format!("{}-backup", "a".repeat(100))),
            "a".repeat(50)
        );
        assert_eq!(
            username_for(&format!("{}-tail", "a".repeat(49))),
            format!("{}-", "a".repeat(49))
        );
    }

    #[test]
    fn hostnames_match_volsync() {
        let cases = [
            ("production", "production"),
            ("test_namespace", "test-namespace"),
            ("prod.region.cluster", "prod.region.cluster"),
            ("test@namespace#123", "testnamespace123"),
            ("-_test-ns_-", "test-ns"),
            ("test-ns---", "test-ns"),
            ("MyNamespace", "MyNamespace"),
            ("...hostname...", "hostname"),
            ("host-ñame-test", "host-ame-test"),
        ];
        for (namespace, expected) in cases {
            assert_eq!(hostname_for(namespace), expected, "{namespace}");
        }
    }

    #[test]
    fn explicit_identities_follow_the_crd_pattern() {
        assert!(is_valid_explicit("custom-user"));
        assert!(is_valid_explicit("a"));
        assert!(!is_valid_explicit("user@domain.com"));
        assert!(!is_valid_explicit("-x"));
        assert!(!is_valid_explicit(""));
        // What VolSync's truncation wrote is accepted back.
        let truncated = username_for(&format!("{}-tail", "a".repeat(49)));
        assert!(is_valid_explicit(&truncated), "{truncated}");
        assert!(is_valid_explicit("app_"));
    }
}
