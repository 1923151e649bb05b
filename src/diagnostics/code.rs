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
    /// A mapping key that is a list or a mapping (`? [a, b]`).
    ComplexKey,
    /// A plain scalar that YAML 1.1 tools such as kubectl read as a boolean,
    /// number or null, but YAML 1.2 reads as text.
    AmbiguousScalar,

    // output: writing the output, reading a previous output back
    /// The output file is an input, or the output directory holds one.
    OutputReplacesInput,
    /// An output file or directory cannot be written.
    OutputNotWritten,
    /// `--output-dir` names something kopiaplan did not write (it never
    /// replaces a directory it does not own).
    OutputDirectoryRefused,
    /// The previous output given to `diff` or a guard cannot be read.
    PreviousOutputUnreadable,
    /// A manual Job the previous output issued, kept as it was although
    /// the plan now compiles it differently (warning).
    IssuedJobKept,
    /// A `List` document without `items`.
    ListWithoutItems,
    /// A document in a previous output without `kind` or `metadata.name`.
    ObjectWithoutName,
    /// An object appears twice in a previous output.
    DuplicateObject,

    // integrations: Helm post-renderer, kustomize plugin, KRM function
    /// A generated object lost the annotation that names its input document
    /// (a kopiaplan bug: please report it).
    MissingSourceAnnotation,
    /// The rendered stream cannot be serialised.
    UnserialisableOutput,
    /// The kustomize plugin configuration is empty.
    EmptyPluginConfig,
    /// The kustomize plugin configuration is not a BackupPlan or VolSync object.
    PluginConfigNotAPlan,
    /// An object passing through the post-renderer or function has the name
    /// of an object compiled from a plan.
    PassThroughNameClash,
    /// Two plans of a ResourceList start on the same line (flow YAML).
    PlansOnOneLine,
    /// `kopiaplan krm` got an empty standard input.
    EmptyResourceList,
    /// `kopiaplan krm` got something other than a ResourceList.
    NotAResourceList,
    /// A ResourceList's `items` is not a list.
    ResourceListItemsNotAList,

    // parse: documents → input types (BackupPlans and VolSync objects)
    /// A `kopiaplan.dev` document whose `apiVersion` or `kind` kopiaplan
    /// does not know.
    UnknownDocument,
    /// A field the schema does not know (for VolSync objects a warning:
    /// VolSync's API server drops it).
    UnknownField,
    /// A value of the wrong type: text where a number belongs, a list where
    /// a mapping belongs.
    WrongType,
    /// A value that is not one of the values the field allows (also an
    /// access mode Kubernetes does not have).
    ValueNotAllowed,
    /// A required field is missing.
    MissingField,
    /// A value of the right type that the schema still refuses: a pattern,
    /// a minimum or maximum, a length, an item count or a format.
    InvalidValue,
    /// A BackupPlan that passes the schema but still cannot be read.
    UnreadablePlan,
    /// A VolSync kind kopiaplan does not compile.
    VolsyncKindNotCompiled,
    /// A VolSync object that uses a mover other than Kopia.
    VolsyncOtherMover,
    /// A ReplicationSource or ReplicationDestination with no `spec.kopia`.
    VolsyncNoKopia,
    /// A VolSync object that passes the schema but still cannot be read.
    VolsyncUnreadable,
    /// A document of the input that is neither a BackupPlan nor a VolSync
    /// object, left out of the output (warning).
    DocumentNotCompiled,
    /// A `kind: List` input holds BackupPlans or VolSync objects, which are
    /// read as cluster context and not compiled (warning).
    ListItemsNotCompiled,

    // lower: VolSync objects → plans
    /// A VolSync field or annotation that kopiaplan does not use (warning).
    VolsyncFieldIgnored,
    /// A VolSync setting kopiaplan carries out differently (warning).
    VolsyncFieldTranslated,
    /// A VolSync object lacks a setting it needs to be compiled.
    VolsyncMissingSetting,
    /// A VolSync setting with a value VolSync would fail on.
    VolsyncInvalidSetting,
    /// A ReplicationDestination whose repository VolSync would read from a
    /// ReplicationSource that is not in the input.
    VolsyncSourceNotInInput,

    // convert: VolSync objects → BackupPlans
    /// A converted plan or a kept document could not be written as YAML.
    ConvertWriteFailed,

    // resolve: input types → the resolved model
    /// A retention that keeps no snapshot (every period explicitly 0).
    KeepsNothing,
    /// A name, namespace, label key or label value that Kubernetes would
    /// refuse, or a file name that cannot be a ConfigMap or Secret key.
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
    /// An entry (or a repository's maintenance) has no namespace, and
    /// neither has its plan.
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
    /// An `acknowledge` item that does not name an entry as `<component>/<name>`.
    InvalidAcknowledgement,
    /// A restore without a trigger, which would never run.
    NoTrigger,
    /// Fields of one entry that exclude each other, or a choice of which
    /// not exactly one is made.
    ConflictingFields,
    /// A field that has no effect given the entry's other fields.
    FieldNotApplicable,
    /// An entry lacks a setting it needs: a restore's source or
    /// destination, half of an identity, an NFS server.
    MissingSetting,
    /// A workload hook (`hooks.before`, `hooks.after`) with no command.
    EmptyHookCommand,
    /// `hooks.workload.selector` names no label: it would match every pod.
    EmptyHookSelector,
    /// A restore or verify entry names a backup the plan does not declare.
    UnknownBackup,
    /// A Kopia username, hostname or `user@host` owner Kopia would refuse.
    InvalidIdentity,
    /// A `restoreAsOf` that is not an RFC 3339 instant.
    InvalidInstant,
    /// `monitoring.pushgateway.url` is not a plain http(s) URL.
    InvalidPushgatewayUrl,
    /// `kopiaplan status`: kubectl failed, or its output (or `--from`) is
    /// not the JSON of `kubectl get -o json`.
    ClusterStateUnreadable,
    /// A number, size or length outside what kopiaplan or Kopia accepts.
    OutOfRange,
    /// Two mover volumes mounted at one path.
    DuplicateMountPath,
    /// An `nfs` mover volume, which the restricted Pod Security Standard
    /// does not allow (warning).
    NfsOutsideRestrictedProfile,
    /// A volume the mover's non-root user may not be able to write (warning).
    MayNotBeWritable,
    /// A cloned or snapshotted PVC whose size is neither written nor in the input.
    UnknownPvcSize,
    /// An `additionalArgs` entry Kopia's grammar refuses or kopiaplan forbids.
    InvalidAdditionalArgument,
    /// `policy.actions` on an entry whose repository does not enable actions.
    ActionsNotEnabled,
    /// Kopia's cache limits larger than the cache volume (warning).
    CacheLimitsExceedVolume,
    /// One existing cache claim used by two entries.
    SharedCacheClaim,
    /// One repository declared with two maintenance owners.
    MaintenanceOwnerConflict,
    /// A repository with replicas has no full maintenance in the plan to
    /// run them beside.
    ReplicaWithoutMaintenance,
    /// One repository declared with two maintenance schedules or triggers (warning).
    MaintenanceTimingDiffers,
    /// A repository URL whose scheme kopiaplan does not know.
    UnknownRepositoryUrl,
    /// A credential in a repository URL.
    CredentialInUrl,
    /// A GCS, B2 or Azure URL whose path VolSync's layout ignores: the
    /// repository is at the bucket's root (warning).
    UrlPathIgnored,
    /// A field of the plan that kopiaplan does not support yet.
    NotSupportedYet,
    /// A Kopia policy that Kopia would refuse.
    InvalidPolicy,
    /// A `repositoryConfig` setting kopiaplan does not apply, or of the wrong type.
    InvalidRepositorySetting,
    /// A policy or repository-settings JSON text that is not a JSON object
    /// of at most 1 MiB.
    InvalidPolicyJson,
    /// A global policy file on a restore, which never applies it (warning).
    RestoreIgnoresGlobalPolicy,
    /// A key of VolSync's global policy format imported as the Kopia field
    /// it is (`keepYearly` as `keepAnnual`, …) (warning).
    PolicyTranslated,
    /// The ConfigMap or Secret of `policyConfig` is in neither the input
    /// nor the cluster context, so its files are not checked (warning).
    PolicyObjectNotInInput,
    /// A `pvcSelector` or `statefulSet` that matches no claim.
    NothingSelected,
    /// A `pvcSelector` Kubernetes would refuse.
    InvalidSelector,
    /// A `pvcSelector` with no label, which selects every claim of its
    /// namespace (warning).
    EmptySelector,
    /// Two backups expanded from selectors or StatefulSets with one name.
    SelectionCollision,
    /// A `Direct` copy of a ReadWriteOncePod claim.
    DirectOnReadWriteOncePod,

    // emit: the resolved model → Kubernetes objects
    /// A mover script template of kopiaplan does not render: a bug in kopiaplan.
    TemplateDoesNotRender,
    /// An object of the input has the name of a generated object.
    InputNameClash,

    // guard: `diff --guard`, dangerous changes against the previous output
    /// A backup's Kopia source changes.
    IdentityChanges,
    /// A backup moves to another repository.
    RepositoryChanges,
    /// A backup's retention keeps fewer snapshots.
    RetentionDecreases,
    /// A backup entry disappears.
    BackupRemoved,
    /// A manual Job's pod template changes under the same name.
    ManualJobChanges,
    /// A repository's maintenance owner changes.
    MaintenanceOwnerChanges,
    /// A generated claim's spec changes beyond a larger size.
    ClaimChanges,
    /// A repository's creation options change: they apply only when a
    /// backup creates the repository, never to an existing one.
    CreationOptionsChange,
    /// An acknowledged change that matches no change (warning).
    UnmatchedAcknowledgement,
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
        for heading in documented {
            if heading.contains(char::is_whitespace) {
                continue;
            }
            assert!(
                codes.iter().any(|code| code == heading),
                "docs/diagnostics.md documents `{heading}`, which is no code"
            );
        }
    }

    /// Every `yaml` example in docs/diagnostics.md, compiled, reports the
    /// code of the heading it is under.
    #[test]
    fn every_documented_example_reports_its_code() {
        let docs = include_str!("../../docs/diagnostics.md");
        let mut heading = "";
        let mut example: Option<String> = None;
        let mut checked = 0;
        for line in docs.lines() {
            if let Some(code) = line.strip_prefix("### ") {
                heading = code;
            } else if line == "```yaml" {
                example = Some(String::new());
            } else if line == "```" {
                if let Some(text) = example.take() {
                    let mut sources = crate::diagnostics::SourceMap::default();
                    sources.add(format!("{heading}.yaml"), text.clone());
                    let diagnostics = match crate::compile_sources(&sources) {
                        Ok(compiled) => compiled.diagnostics,
                        Err(diagnostics) => diagnostics,
                    };
                    let reported: Vec<String> =
                        diagnostics.iter().map(|d| d.code.as_str()).collect();
                    assert!(
                        reported.iter().any(|code| code == heading),
                        "the example under `{heading}` reports {reported:?}:\n{text}"
                    );
                    checked += 1;
                }
            } else if let Some(text) = example.as_mut() {
                text.push_str(line);
                text.push('\n');
            }
        }
        assert!(checked >= 2, "only {checked} examples found");
    }
}
