//! What the YAML reader refused, as a diagnostic in the user's words.

use super::error::LoadError;
use crate::diagnostics::{Diagnostic, FileId, Span};

pub(super) fn yaml_error(file: FileId, error: &serde_saphyr::Error) -> Diagnostic {
    let span = error.location().map(|location| Span {
        file,
        line: u32::try_from(location.line()).unwrap_or(u32::MAX),
        column: u32::try_from(location.column()).unwrap_or(u32::MAX),
        len: 0,
    });
    let (reason, help) = yaml_reason(error);
    Diagnostic::new(&LoadError::InvalidYaml { reason })
        .at(span)
        .help(help)
}

/// What the YAML reader refused, in the user's words (not the library's),
/// with the limit where one was reached and how to change the input.
pub(super) fn yaml_reason(error: &serde_saphyr::Error) -> (String, String) {
    use serde_saphyr::budget::BudgetBreach;
    use serde_saphyr::granit_parser::ErrorKind;
    use serde_saphyr::{Error, ExternalMessageSource};
    let mut inner = error;
    while let Error::AliasError { error, .. } | Error::WithSnippet { error, .. } = inner {
        inner = error;
    }
    let limits = serde_saphyr::Budget::default();
    let too_deep = || {
        (
            format!(
                "the document is nested more than {} levels deep",
                limits.max_depth
            ),
            "flatten the document; no Kubernetes object needs that depth".to_owned(),
        )
    };
    let aliases =
        "write the repeated parts out instead of using anchors and aliases (`&a`, `*a`, `<<`)";
    match inner {
        Error::DuplicateMappingKey { key, .. } => (
            match key {
                Some(key) => format!("the key `{key}` appears twice in one mapping"),
                None => "a key appears twice in one mapping".to_owned(),
            },
            "each key may appear once in a mapping; remove or rename the repeated key".to_owned(),
        ),
        Error::RecursiveReferencesRequireWeakTypes { .. } => (
            "an alias refers to a node that contains it (a recursive reference)".to_owned(),
            "write the value out; a Kubernetes object cannot contain itself".to_owned(),
        ),
        // The reader looks ahead: far deeper flow collections (`[[[…`)
        // reach its own cap on them before the depth limit is counted.
        Error::ExternalMessage { source, .. }
            if matches!(
                &**source,
                ExternalMessageSource::Parser(scan)
                    if matches!(scan.kind(), ErrorKind::RecursionLimitExceeded)
            ) =>
        {
            too_deep()
        }
        Error::Budget { breach, .. } => match breach {
            BudgetBreach::Depth { .. } => too_deep(),
            BudgetBreach::Documents { .. } => (
                format!(
                    "the file holds more than {} documents",
                    limits.max_documents
                ),
                "split it into several files and give them all as inputs".to_owned(),
            ),
            BudgetBreach::Nodes { .. } => (
                format!(
                    "the file holds more than {} values once its aliases are expanded",
                    limits.max_nodes
                ),
                "split it into several files and give them all as inputs; if it uses aliases (`*a`), write fewer of them (an alias bomb expands to far more than it shows)".to_owned(),
            ),
            BudgetBreach::ScalarBytes { .. } => (
                format!(
                    "the text of the file's values is larger than {} MiB",
                    limits.max_total_scalar_bytes / 1024 / 1024
                ),
                "split it into several files and give them all as inputs".to_owned(),
            ),
            BudgetBreach::Aliases { .. } => (
                format!("the file uses more than {} aliases", limits.max_aliases),
                aliases.to_owned(),
            ),
            BudgetBreach::Anchors { .. } => (
                format!("the file defines more than {} anchors", limits.max_anchors),
                aliases.to_owned(),
            ),
            BudgetBreach::MergeKeys { .. } => (
                format!(
                    "the file uses more than {} merge keys (`<<`)",
                    limits.max_merge_keys
                ),
                aliases.to_owned(),
            ),
            BudgetBreach::AliasAnchorRatio { .. } | BudgetBreach::Events { .. } => (
                "the file's aliases expand to far more data than it holds (an alias bomb?)"
                    .to_owned(),
                aliases.to_owned(),
            ),
            _ => (
                "the file is larger or more complex than the YAML reader's limits allow".to_owned(),
                "split it into several files and give them all as inputs".to_owned(),
            ),
        },
        _ => {
            let message = inner.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_owned();
            (message, "fix the YAML syntax at this position".to_owned())
        }
    }
}
