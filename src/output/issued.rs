//! Manual Jobs already issued: the lock-file rule. A manual trigger's Job
//! runs once, for its token. When the previous output is at hand (the
//! `--output-dir` being replaced, or `compile --previous`), a Job it issued
//! for a token is written again exactly as it was, whatever changed in the
//! plan since: a kopia image bump, new defaults, an edit to the entry. So a
//! restore never runs again unless its token changes, and `kubectl apply`
//! never meets a changed template under an immutable Job's name.

use std::collections::BTreeMap;
use std::fmt;

use super::Object;
use crate::diagnostics::{Code, Diagnostic, DiagnosticKind, Diagnostics, Severity};
use crate::emit::labels;

/// A manual Job kept as the previous output issued it, though the plan
/// would now compile it differently (a warning: the change waits for a new
/// token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedJobKept {
    pub namespace: String,
    pub name: String,
    pub token: String,
}

impl fmt::Display for IssuedJobKept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the Job `{}/{}` was issued for the token `{}` by the previous output and is kept as it was; what changed in its entry applies with a new token",
            self.namespace, self.name, self.token
        )
    }
}

impl DiagnosticKind for IssuedJobKept {
    fn code(&self) -> Code {
        Code::IssuedJobKept
    }

    fn severity(&self) -> Severity {
        Severity::Warning
    }
}

/// Whether `object` is a manual Job kopiaplan generated: its token.
fn token(object: &Object) -> Option<String> {
    if object.kind != "Job" || !object.generated {
        return None;
    }
    let value = object.value();
    let metadata = &value["metadata"];
    (metadata["labels"][labels::MANAGED_BY] == "kopiaplan")
        .then(|| metadata["annotations"][labels::TRIGGER].as_str())
        .flatten()
        .map(str::to_owned)
}

/// Replaces each manual Job of `compiled` that `previous` already issued
/// (same namespace, name and token) by the previous one, verbatim. A
/// warning names each one whose content the plan would have changed.
pub fn keep_issued_jobs(compiled: &mut [Object], previous: &[Object]) -> Diagnostics {
    let issued: BTreeMap<(&str, &str), &Object> = previous
        .iter()
        .filter(|object| object.kind == "Job")
        .map(|object| ((object.namespace.as_str(), object.name.as_str()), object))
        .collect();
    let mut diagnostics = Diagnostics::default();
    for object in compiled.iter_mut() {
        let Some(token) = token(object) else {
            continue;
        };
        let Some(before) = issued.get(&(object.namespace.as_str(), object.name.as_str())) else {
            continue;
        };
        let before = before.value();
        if before["metadata"]["annotations"][labels::TRIGGER] != token.as_str() {
            continue;
        }
        if *before != *object.value() {
            diagnostics.push(
                Diagnostic::new(&IssuedJobKept {
                    namespace: object.namespace.clone(),
                    name: object.name.clone(),
                    token,
                })
                .help("to run the entry again with its new settings, give its trigger a new token"),
            );
            object.set_value(before.into_owned());
        }
    }
    diagnostics
}
