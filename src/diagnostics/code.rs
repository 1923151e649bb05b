//! Stable diagnostic codes. Each stage reports its problems as a typed kind
//! (an enum whose `Display` reads as a sentence); every kind maps to one of
//! these codes, which `--diagnostics json` prints and `docs/diagnostics.md`
//! documents with an example. A code never changes meaning once released:
//! retire it and add a new one instead.

use schemars::JsonSchema;
use serde::Serialize;

/// Every code kopiaplan reports, kebab-case in its output. Grouped by the
/// stage that finds the problem; the list is closed, and a test checks that
/// `docs/diagnostics.md` documents each one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    /// A problem not yet given a kind of its own. Being retired: every new
    /// diagnostic gets a kind.
    Unclassified,

    // load: bytes → YAML documents
    /// A directory given as input holds no `*.yaml` or `*.yml` file.
    EmptyInputDirectory,
    /// An input file, directory or standard input cannot be read.
    UnreadableInput,
    /// The inputs together are larger than the limit.
    InputTooLarge,
    /// An input file is not UTF-8 text.
    InputNotUtf8,
    /// The YAML parser refused the text (syntax, duplicate keys, alias bombs).
    InvalidYaml,
    /// A plain scalar that YAML 1.1 tools such as kubectl read as a boolean,
    /// number or null, but YAML 1.2 reads as text.
    AmbiguousScalar,

    // resolve: input types → the resolved model
    /// A name, namespace, label key or label value that Kubernetes would refuse.
    InvalidName,
    /// A path that must be absolute, or relative to the volume, and is not.
    InvalidPath,
    /// A size that is not a Kubernetes quantity of bytes.
    InvalidQuantity,
    /// A ConfigMap or Secret of the input lacks the key a `policyConfig` field names.
    ObjectMissingKey,
    /// A value Kopia does not accept: a log level, a duration, a compression algorithm.
    NotAKopiaValue,
    /// The mover would run as root without `privileged: true`.
    RootNeedsPrivileged,
    /// A mover security setting outside the restricted Pod Security Standard
    /// (a warning when the mover is `privileged: true`).
    OutsideRestrictedProfile,
    /// Two repositories, or two entries of one list, of a plan share a name.
    DuplicateName,
    /// An entry names a repository the plan does not declare.
    UnknownRepository,
    /// An entry names no repository, and the plan has more than one.
    NoRepository,
    /// An entry has no namespace, and neither has its plan.
    NoNamespace,
    /// The repository's Secret, part of the input, lacks a key the mover reads.
    RepositorySecretMissingKey,
    /// A schedule that is not a cron expression, or a time zone that is not IANA's.
    InvalidSchedule,
    /// A Job or CronJob setting below its minimum.
    BelowMinimum,
    /// Two backups would write the same Kopia source to one repository.
    SourceCollision,
    /// Two generated objects would have the same kind, namespace and name.
    NameCollision,

    // emit: the resolved model → Kubernetes objects
    /// A mover script template of kopiaplan does not render: a bug in kopiaplan.
    TemplateDoesNotRender,
}

impl Code {
    /// The code as printed: `unknown-field`.
    pub fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|value| value.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Every code, in declaration order.
    pub fn all() -> Vec<String> {
        let schema = schemars::schema_for!(Code);
        let mut codes = Vec::new();
        collect_enum_values(schema.as_value(), &mut codes);
        codes
    }
}

fn collect_enum_values(value: &serde_json::Value, codes: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::String(code)) = map.get("const") {
                codes.push(code.clone());
            }
            if let Some(serde_json::Value::Array(values)) = map.get("enum") {
                codes.extend(values.iter().filter_map(|v| v.as_str().map(str::to_owned)));
            }
            for (key, child) in map {
                if key != "enum" && key != "const" {
                    collect_enum_values(child, codes);
                }
            }
        }
        serde_json::Value::Array(items) => {
            items
                .iter()
                .for_each(|item| collect_enum_values(item, codes));
        }
        _ => {}
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_and_documented() {
        let codes = Code::all();
        assert!(codes.contains(&Code::InvalidYaml.as_str()), "{codes:?}");
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            unique.len(),
            codes.len(),
            "a code is listed twice: {codes:?}"
        );
        let docs = include_str!("../../docs/diagnostics.md");
        let documented: Vec<&str> = docs
            .lines()
            .filter_map(|line| {
                line.strip_prefix("## ")
                    .or_else(|| line.strip_prefix("### "))
            })
            .collect();
        for code in &codes {
            assert!(
                documented.contains(&code.as_str()),
                "docs/diagnostics.md has no heading for `{code}`"
            );
        }
    }
}
