//! Syntax checks of Kubernetes names, labels, paths and quantities, with
//! messages that say what the rule is.

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
        dns_label(part).map_err(|e| format!("`{part}` {e}"))?;
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
