//! Syntax checks of Kubernetes names, labels, paths and quantities, with
//! messages that say what the rule is.

/// Settings of a mover's pod security context that the restricted Pod
/// Security Standard forbids, as (field, what is wrong). Capabilities,
/// privilege escalation and hostPath volumes cannot be written in a plan at
/// all: a pod security context has no such fields, and mover volumes are
/// Secrets, NFS exports and claims only.
pub fn outside_restricted_profile(
    context: &k8s_openapi::api::core::v1::PodSecurityContext,
) -> Vec<(&'static str, String)> {
    /// The sysctls Kubernetes calls safe (allowed by the baseline profile).
    const SAFE_SYSCTLS: &[&str] = &[
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    ];
    const SELINUX_TYPES: &[&str] = &[
        "container_t",
        "container_init_t",
        "container_kvm_t",
        "container_engine_t",
    ];
    let mut problems = Vec::new();
    if let Some(profile) = &context.seccomp_profile
        && profile.type_ == "Unconfined"
    {
        problems.push((
            "seccompProfile",
            "`seccompProfile: Unconfined` turns the system-call filter off".to_owned(),
        ));
    }
    if let Some(profile) = &context.app_armor_profile
        && profile.type_ == "Unconfined"
    {
        problems.push((
            "appArmorProfile",
            "`appArmorProfile: Unconfined` turns AppArmor off".to_owned(),
        ));
    }
    if let Some(options) = &context.se_linux_options {
        if let Some(type_) = options
            .type_
            .as_deref()
            .filter(|t| !SELINUX_TYPES.contains(t))
        {
            problems.push((
                "seLinuxOptions",
                format!(
                    "the SELinux type `{type_}` is not one of {}",
                    SELINUX_TYPES.join(", ")
                ),
            ));
        }
        if options.user.is_some() || options.role.is_some() {
            problems.push((
                "seLinuxOptions",
                "an SELinux user or role is set".to_owned(),
            ));
        }
    }
    for sysctl in context.sysctls.iter().flatten() {
        if !SAFE_SYSCTLS.contains(&sysctl.name.as_str()) {
            problems.push((
                "sysctls",
                format!("the sysctl `{}` is not a safe sysctl", sysctl.name),
            ));
        }
    }
    if context
        .windows_options
        .as_ref()
        .and_then(|w| w.host_process)
        == Some(true)
    {
        problems.push((
            "windowsOptions",
            "`hostProcess: true` runs the pod as a host process".to_owned(),
        ));
    }
    problems
}

/// A credential written into a repository URL: a password in its user part
/// (`sftp://user:pw@host/p`), any user part of an object store's URL (a
/// bucket name has no `@`: `s3://AKIA…:secret@bucket/p`), or a query
/// (`azure://c/p?sig=…`, a SAS token). It would reach the pod spec and
/// Kopia's command line. Returns what is wrong and the Secret keys that
/// hold it instead; never the value itself.
pub fn url_credential(url: &str) -> Option<(&'static str, &'static str)> {
    let (scheme, rest) = url.split_once("://")?;
    let keys = match scheme {
        "s3" => "`AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`",
        "gcs" => "`GOOGLE_APPLICATION_CREDENTIALS`",
        "azure" => "`AZURE_STORAGE_ACCOUNT` with `AZURE_STORAGE_KEY` or `AZURE_STORAGE_SAS_TOKEN`",
        "b2" => "`B2_ACCOUNT_ID` and `B2_APPLICATION_KEY`",
        "webdav" => "`WEBDAV_USERNAME` and `WEBDAV_PASSWORD`",
        "sftp" => "`SFTP_PASSWORD` (or a key in `SFTP_KEY_FILE`)",
        _ => "the backend's credential keys",
    };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    if let Some((user, _)) = authority.rsplit_once('@') {
        if user.contains(':') {
            return Some(("the repository URL holds a password in its user part", keys));
        }
        if matches!(scheme, "s3" | "gcs" | "azure" | "b2") {
            return Some((
                "the repository URL holds a user part, which for an object store is a credential",
                keys,
            ));
        }
    }
    if rest.contains('?') {
        return Some((
            "the repository URL has a query (`?…`), where credentials such as SAS tokens go",
            keys,
        ));
    }
    None
}

/// A DNS-1123 label: at most 63 characters of `a-z`, `0-9` and `-`,
/// starting and ending with a letter or digit.
pub fn dns_label(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if value.len() > 63 {
        return Err(format!(
            "is {} characters long; the limit is 63",
            value.len()
        ));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("may contain only lower-case letters, digits and `-`".into());
    }
    if value.starts_with('-') || value.ends_with('-') {
        return Err("must start and end with a letter or digit".into());
    }
    Ok(())
}

/// A DNS-1123 subdomain (the rule for most object names, such as Secrets
/// and PVCs): dot-separated labels, at most 253 characters.
pub fn dns_subdomain(value: &str) -> Result<(), String> {
    if value.len() > 253 {
        return Err(format!(
            "is {} characters long; the limit is 253",
            value.len()
        ));
    }
    for part in value.split('.') {
        // Name the part only when there are several: `a` `a` is too long.
        dns_label(part).map_err(|e| {
            if part == value {
                e
            } else {
                format!("has a part `{part}` that {e}")
            }
        })?;
    }
    Ok(())
}

/// A label value: at most 63 characters of alphanumerics, `-`, `_`, `.`,
/// starting and ending alphanumeric (or empty).
pub fn label_value(value: &str) -> Result<(), String> {
    if value.len() > 63 {
        return Err(format!(
            "is {} characters long; the limit is 63",
            value.len()
        ));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err("may contain only letters, digits, `-`, `_` and `.`".into());
    }
    let bytes = value.as_bytes();
    let edges_alphanumeric = match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric(),
        _ => true,
    };
    if !edges_alphanumeric {
        return Err("must start and end with a letter or digit".into());
    }
    Ok(())
}

/// A ConfigMap or Secret key (a file name in its volume): at most 253
/// characters of alphanumerics, `-`, `_` and `.`, and not `.` or `..`.
pub fn config_map_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("must not be empty".into());
    }
    if key.len() > 253 {
        return Err(format!(
            "is {} characters long; the limit is 253",
            key.len()
        ));
    }
    if !key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err("may contain only letters, digits, `-`, `_` and `.`".into());
    }
    if key == "." || key == ".." {
        return Err("must not be `.` or `..`".into());
    }
    Ok(())
}

/// A label key: an optional DNS-subdomain prefix and `/`, then a name that
/// follows the label-value rule (non-empty).
pub fn label_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        dns_subdomain(prefix).map_err(|e| format!("its prefix {e}"))?;
    }
    if name.is_empty() {
        return Err("needs a name".into());
    }
    label_value(name)
}

/// An absolute path without `.` or `..` components.
pub fn absolute_path(value: &str) -> Result<(), String> {
    if !value.starts_with('/') {
        return Err("must be an absolute path (start with `/`)".into());
    }
    relative_components(value.trim_start_matches('/'))
}

/// A relative path without `.` or `..` components (a sub-directory).
pub fn relative_path(value: &str) -> Result<(), String> {
    if value.starts_with('/') {
        return Err("must be relative to the volume (no leading `/`)".into());
    }
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    relative_components(value)
}

fn relative_components(value: &str) -> Result<(), String> {
    if value.contains('\0') || value.contains('\n') {
        return Err("must not contain NUL or line breaks".into());
    }
    if value.split('/').any(|c| c == ".." || c == ".") {
        return Err("must not contain `.` or `..` components".into());
    }
    Ok(())
}

/// A Kubernetes quantity such as `2Gi`, `500M` or `1.5Gi`, as bytes.
pub fn quantity_bytes(value: &str) -> Result<u64, String> {
    let split = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (number, suffix) = value.split_at(split);
    let multiplier: f64 = match suffix {
        "" => 1.0,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        _ => {
            return Err(format!(
                "has an unknown unit `{suffix}` (use Ki, Mi, Gi, Ti or k, M, G, T)"
            ));
        }
    };
    let number: f64 = number
        .parse()
        .map_err(|_| "must be a number with an optional unit, such as `2Gi`".to_string())?;
    let bytes = number * multiplier;
    if !(1.0..1e19).contains(&bytes) {
        return Err("must be a positive size".into());
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_subdomain_names_the_bad_part_only_when_there_are_several() {
        assert_eq!(
            super::dns_subdomain("Kopia_Config").unwrap_err(),
            "may contain only lower-case letters, digits and `-`"
        );
        assert_eq!(
            super::dns_subdomain("kopia.Config").unwrap_err(),
            "has a part `Config` that may contain only lower-case letters, digits and `-`"
        );
    }

    use super::*;

    #[test]
    fn names() {
        assert!(dns_label("web-data").is_ok());
        assert!(dns_label("Web").is_err());
        assert!(dns_label("-web").is_err());
        assert!(dns_label(&"a".repeat(64)).is_err());
        assert!(dns_subdomain("kopia.config-1").is_ok());
        assert!(dns_subdomain("kopia_config").is_err());
    }

    #[test]
    fn labels() {
        assert!(label_key("app.kubernetes.io/name").is_ok());
        assert!(label_key("app").is_ok());
        assert!(label_key("Bad Key").is_err());
        assert!(label_value("").is_ok());
        assert!(label_value("web_1.x").is_ok());
        assert!(label_value("-x").is_err());
    }

    #[test]
    fn paths() {
        assert!(absolute_path("/var/lib/web").is_ok());
        assert!(absolute_path("var").is_err());
        assert!(absolute_path("/a/../b").is_err());
        assert!(relative_path("uploads/2024").is_ok());
        assert!(relative_path("/uploads").is_err());
        assert!(relative_path("../etc").is_err());
    }

    #[test]
    fn quantities() {
        assert_eq!(quantity_bytes("2Gi"), Ok(2 * 1024 * 1024 * 1024));
        assert_eq!(quantity_bytes("500M"), Ok(500_000_000));
        assert_eq!(quantity_bytes("1.5Gi"), Ok(1_610_612_736));
        assert!(quantity_bytes("2GB").is_err());
        assert!(quantity_bytes("lots").is_err());
        assert!(quantity_bytes("0").is_err());
    }
}
