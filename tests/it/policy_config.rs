//! `policyConfig`, VolSync's way to hand Kopia a global policy and
//! repository settings: how the files reach the mover, and what is checked
//! at compile time (the inline settings always, the files when their
//! ConfigMap or Secret is part of the input).

use crate::support;

use kopiaplan::diagnostics::{Code, Diagnostic, SourceMap};
use serde_json::Value;
use support::{env_value, pod_spec};

fn plan(entries: &str) -> String {
    format!(
        "apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata: {{name: p, namespace: apps}}
spec:
  repositories:
    - {{name: main, secretName: kopia, url: \"s3://bucket/prefix\"}}
  defaults: {{copyMethod: Direct}}
{entries}"
    )
}

/// The objects, or panics with the diagnostics.
fn compile(text: &str) -> Vec<Value> {
    support::compile_text(text).unwrap_or_else(|e| panic!("does not compile:\n{e}"))
}

/// Every diagnostic (errors and warnings) of a text.
fn diagnostics(text: &str) -> Vec<Diagnostic> {
    let mut sources = SourceMap::default();
    sources.add("plan.yaml".into(), text.into());
    match kopiaplan::compile_sources(&sources) {
        Ok(compiled) => compiled.diagnostics.iter().cloned().collect(),
        Err(diagnostics) => diagnostics.iter().cloned().collect(),
    }
}

/// The one diagnostic of kind `code` that names `detail` (a key, a
/// file): several of one kind tell each other apart by what they name.
fn the<'a>(diagnostics: &'a [Diagnostic], code: Code, detail: &str) -> &'a Diagnostic {
    let found: Vec<&Diagnostic> = diagnostics
        .iter()
        .filter(|d| d.code == code && d.message.contains(detail))
        .collect();
    assert_eq!(found.len(), 1, "{code} {detail:?} in {diagnostics:#?}");
    found[0]
}

/// The 1-based line and column of the first occurrence of `needle`.
fn position_of(text: &str, needle: &str) -> (u32, u32) {
    text.lines()
        .enumerate()
        .find_map(|(i, l)| l.find(needle).map(|c| (i as u32 + 1, c as u32 + 1)))
        .unwrap_or_else(|| panic!("{needle:?} is not in the text"))
}

fn line_column(diagnostic: &Diagnostic) -> (u32, u32) {
    let span = diagnostic.span.expect("a position");
    (span.line, span.column)
}

fn cron_job<'a>(objects: &'a [Value], name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == "CronJob" && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no CronJob {name}"))
}

fn volume<'a>(pod: &'a Value, name: &str) -> Option<&'a Value> {
    pod["volumes"]
        .as_array()?
        .iter()
        .find(|v| v["name"] == name)
}

#[test]
fn the_files_are_mounted_read_only_and_named_to_the_scripts() {
    let objects = compile(&plan(
        "  backups:
    - name: web
      pvc: web
      policyConfig:
        configMapName: kopia-policies
        globalPolicyFilename: global.json
        repositoryConfig: '{\"uploadSpeed\": 1048576, \"enableActions\": false}'
    - {name: db, pvc: db, policyConfig: {secretName: kopia-policy-secret}}
  restores:
    - {name: back, from: web, pvc: web-copy, trigger: {onDemand: true}, policyConfig: {configMapName: kopia-policies}}
",
    ));
    let web = pod_spec(cron_job(&objects, "p-web-backup"));
    let files = volume(web, "policy-config").expect("a policy-config volume");
    assert_eq!(files["configMap"]["name"], "kopia-policies");
    assert_eq!(files["configMap"]["optional"], false);
    let mount = web["containers"][0]["volumeMounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .find(|m| m["name"] == "policy-config")
        .expect("mounted");
    assert_eq!(mount["mountPath"], "/kopiaplan/policy-config");
    assert_eq!(mount["readOnly"], true);
    assert_eq!(
        env_value(web, "KOPIAPLAN_GLOBAL_POLICY_FILE"),
        Some("/kopiaplan/policy-config/global.json")
    );
    assert_eq!(
        env_value(web, "KOPIAPLAN_REPOSITORY_CONFIG_FILE"),
        Some("/kopiaplan/policy-config/repository.config")
    );
    assert_eq!(env_value(web, "KOPIAPLAN_UPLOAD_SPEED"), Some("1048576"));
    assert_eq!(env_value(web, "KOPIAPLAN_ENABLE_ACTIONS"), Some("false"));
    assert_eq!(env_value(web, "KOPIAPLAN_DOWNLOAD_SPEED"), Some(""));

    let db = pod_spec(cron_job(&objects, "p-db-backup"));
    let files = volume(db, "policy-config").expect("a policy-config volume");
    assert_eq!(files["secret"]["secretName"], "kopia-policy-secret");

    // A restore reads the repository settings, never the global policy.
    let back = pod_spec(cron_job(&objects, "p-back-restore"));
    assert!(volume(back, "policy-config").is_some());
    assert_eq!(env_value(back, "KOPIAPLAN_GLOBAL_POLICY_FILE"), Some(""));
    assert_eq!(
        env_value(back, "KOPIAPLAN_REPOSITORY_CONFIG_FILE"),
        Some("/kopiaplan/policy-config/repository.config")
    );

    // Entries without policyConfig get none of it (set empty, so that the
    // repository Secret cannot set it either).
    let objects = compile(&plan("  backups:\n    - {name: web, pvc: web}\n"));
    let web = pod_spec(cron_job(&objects, "p-web-backup"));
    assert!(volume(web, "policy-config").is_none());
    assert_eq!(env_value(web, "KOPIAPLAN_REPOSITORY_CONFIG_FILE"), Some(""));
}

const WITH_CONFIG_MAP: &str = "  backups:
    - {name: web, pvc: web, policyConfig: {configMapName: kopia-policies}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: kopia-policies, namespace: apps}
data:
  global-policy.json: |
    {
      \"retention\": {\"keepDayly\": 7, \"keepLatest\": \"ten\"},
      \"files\": {\"ignore\": [\"*.tmp\"]}
    }
  repository.config: |
    {\"enableActions\": true, \"storage\": {\"type\": \"s3\"}}
";

#[test]
fn mistakes_in_the_files_are_reported_at_their_line_in_the_config_map() {
    let text = plan(WITH_CONFIG_MAP);
    let diagnostics = diagnostics(&text);
    assert_eq!(diagnostics.len(), 3, "{diagnostics:#?}");
    let line_of = |needle: &str| {
        text.lines()
            .position(|l| l.contains(needle))
            .map(|i| i as u32 + 1)
            .expect("the line")
    };
    let column_of = |needle: &str| {
        text.lines()
            .find_map(|l| l.find(needle))
            .map(|i| i as u32 + 1)
            .expect("the column")
    };

    let unknown = the(&diagnostics, Code::InvalidPolicy, "`keepDayly`");
    assert!(unknown.is_error());
    assert_eq!(
        line_column(unknown),
        (line_of("keepDayly"), column_of("\"keepDayly\""))
    );
    assert_eq!(
        unknown.field_path.as_deref(),
        Some("data.global-policy.json → retention.keepDayly")
    );
    assert_eq!(unknown.help.as_deref(), Some("did you mean `keepDaily`?"));
    assert!(
        unknown
            .message
            .starts_with("`global-policy.json` of ConfigMap `apps/kopia-policies`")
    );

    let wrong_type = the(&diagnostics, Code::InvalidPolicy, "expected a whole number");
    assert_eq!(
        line_column(wrong_type),
        (line_of("keepDayly"), column_of("\"ten\""))
    );

    let setting = the(&diagnostics, Code::InvalidRepositorySetting, "`storage`");
    assert_eq!(
        line_column(setting),
        (line_of("\"storage\""), column_of("\"storage\""))
    );
    assert!(
        setting
            .help
            .as_deref()
            .unwrap_or("")
            .contains("`enableActions`, `uploadSpeed` and `downloadSpeed`")
    );
}

#[test]
fn a_config_map_several_entries_use_is_reported_once() {
    let text = plan(&WITH_CONFIG_MAP.replace(
        "  backups:\n",
        "  backups:\n    - {name: other, pvc: other, policyConfig: {configMapName: kopia-policies}}\n",
    ));
    assert_eq!(diagnostics(&text).len(), 3);
}

#[test]
fn the_inline_repository_config_is_always_checked() {
    let text = plan(
        "  backups:
    - name: web
      pvc: web
      policyConfig:
        repositoryConfig: |
          {
            \"uploadSped\": 100,
            \"downloadSpeed\": \"fast\"
          }
    - {name: db, pvc: db, policyConfig: {repositoryConfig: '{\"enableActions\": true,}'}}
    - {name: list, pvc: list, policyConfig: {repositoryConfig: '[1]'}}
",
    );
    let diagnostics = diagnostics(&text);
    assert_eq!(diagnostics.len(), 4, "{diagnostics:#?}");
    let unknown = the(&diagnostics, Code::InvalidRepositorySetting, "`uploadSped`");
    assert_eq!(line_column(unknown), position_of(&text, "\"uploadSped\""));
    assert_eq!(unknown.help.as_deref(), Some("did you mean `uploadSpeed`?"));
    assert_eq!(
        unknown.field_path.as_deref(),
        Some("spec.backups[0].policyConfig.repositoryConfig → uploadSped")
    );
    let speed = the(
        &diagnostics,
        Code::InvalidRepositorySetting,
        "a number of bytes per second",
    );
    assert_eq!(line_column(speed), position_of(&text, "\"fast\""));
    let syntax = the(&diagnostics, Code::InvalidPolicyJson, "trailing comma");
    let (line, comma) = position_of(&text, ",}");
    assert_eq!(line_column(syntax), (line, comma + 1), "at the `}}`");
    the(&diagnostics, Code::InvalidPolicyJson, "object");

    let huge = format!("{{\"enableActions\": true{}}}", " ".repeat(1024 * 1024));
    let text = plan(&format!(
        "  backups:\n    - {{name: web, pvc: web, policyConfig: {{repositoryConfig: '{huge}'}}}}\n"
    ));
    let diagnostics = self::diagnostics(&text);
    the(&diagnostics, Code::InvalidPolicyJson, "1 MiB");
}

#[test]
fn a_secrets_files_are_decoded_and_checked() {
    // VolSync's own policy schema (`compressor`) is translated to Kopia's.
    let encoded = "eyJjb21wcmVzc2lvbiI6IHsiY29tcHJlc3NvciI6ICJ6c3RkIn19";
    let text = plan(&format!(
        "  backups:
    - {{name: web, pvc: web, policyConfig: {{secretName: kopia-policy}}}}
---
apiVersion: v1
kind: Secret
metadata: {{name: kopia-policy, namespace: apps}}
data:
  global-policy.json: {encoded}
"
    ));
    let diagnostics = diagnostics(&text);
    let translated = the(
        &diagnostics,
        Code::PolicyTranslated,
        "`compression.compressor`",
    );
    assert!(translated.message.contains("`compression.compressorName`"));
    // Inside base64, the value itself is the best position there is.
    assert_eq!(line_column(translated), position_of(&text, encoded));
}

#[test]
fn the_names_and_keys_policy_config_gives_are_checked() {
    let diagnostics = diagnostics(&format!(
        "{}---
apiVersion: v1
kind: ConfigMap
metadata: {{name: kopia-policies, namespace: apps}}
data: {{global-policy.json: '{{}}'}}
",
        plan(
            "  backups:
    - {name: a, pvc: a, policyConfig: {configMapName: x, secretName: y}}
    - {name: b, pvc: b, policyConfig: {}}
    - {name: c, pvc: c, policyConfig: {globalPolicyFilename: g.json, repositoryConfig: '{}'}}
    - {name: d, pvc: d, policyConfig: {configMapName: kopia-policies, repositoryConfigFilename: repo.json}}
    - {name: e, pvc: e, policyConfig: {configMapName: kopia-policies, globalPolicyFilename: ../x}}
  restores:
    - {name: r, from: a, pvc: r, trigger: {onDemand: true}, policyConfig: {configMapName: kopia-policies, globalPolicyFilename: global-policy.json}}
"
        )
    ));
    let both = the(&diagnostics, Code::ConflictingFields, "");
    assert_eq!(
        both.field_path.as_deref(),
        Some("spec.backups[0].policyConfig.secretName")
    );
    the(&diagnostics, Code::MissingSetting, "");
    let file = the(
        &diagnostics,
        Code::FieldNotApplicable,
        "`globalPolicyFilename`",
    );
    assert_eq!(
        file.field_path.as_deref(),
        Some("spec.backups[2].policyConfig.globalPolicyFilename")
    );
    let missing = the(&diagnostics, Code::ObjectMissingKey, "`repo.json`");
    assert_eq!(
        missing.field_path.as_deref(),
        Some("spec.backups[3].policyConfig.repositoryConfigFilename")
    );
    assert_eq!(
        missing.help.as_deref(),
        Some("its keys: global-policy.json")
    );
    the(&diagnostics, Code::InvalidName, "`../x`");
    let restore = the(&diagnostics, Code::RestoreIgnoresGlobalPolicy, "");
    assert!(!restore.is_error());
}

#[test]
fn a_misspelt_policy_config_field_is_refused_with_a_suggestion() {
    let diagnostics = diagnostics(&plan(
        "  backups:\n    - {name: a, pvc: a, policyConfig: {configMapName: x, globalPolicyFile: g}}\n",
    ));
    let unknown = the(&diagnostics, Code::UnknownField, "`globalPolicyFile`");
    assert_eq!(
        unknown.help.as_deref(),
        Some("did you mean `globalPolicyFilename`?")
    );
}

/// A global policy file written in VolSync's format (the keys its mover
/// passed to `kopia policy set --global`), in a ConfigMap of the input.
const VOLSYNC_FORMAT: &str = "  backups:
    - {name: web, pvc: web, policyConfig: {configMapName: volsync-policies}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: volsync-policies, namespace: apps}
data:
  global-policy.json: |
    {
      \"retention\": {\"keepDaily\": 7, \"keepYearly\": 2},
      \"compression\": {\"compressor\": \"zstd\"},
      \"scheduling\": {\"interval\": \"24h\"},
      \"files\": {\"ignore\": [\"*.tmp\"], \"dotIgnoreFiles\": [\".nobackup\"]}
    }
";

#[test]
fn a_global_policy_in_volsyncs_format_is_translated_to_kopias_at_compile_time() {
    let text = plan(VOLSYNC_FORMAT);
    let diagnostics = diagnostics(&text);
    for (from, to) in [
        ("retention.keepYearly", "retention.keepAnnual"),
        ("compression.compressor", "compression.compressorName"),
        ("scheduling.interval", "scheduling.intervalSeconds"),
        ("files.dotIgnoreFiles", "files.ignoreDotFiles"),
    ] {
        let d = the(&diagnostics, Code::PolicyTranslated, from);
        assert!(d.message.contains(to), "{d:#?}");
    }
    assert_eq!(
        line_column(the(&diagnostics, Code::PolicyTranslated, "keepYearly")),
        position_of(&text, "\"keepYearly\"")
    );
    assert!(
        diagnostics.iter().all(|d| d.code == Code::PolicyTranslated),
        "{diagnostics:#?}"
    );
    // The mover imports the translated policy, from the backup's own
    // policy ConfigMap; the user's ConfigMap is still mounted for the
    // repository settings.
    let objects = compile(&text);
    let web = pod_spec(cron_job(&objects, "p-web-backup"));
    assert_eq!(
        env_value(web, "KOPIAPLAN_GLOBAL_POLICY_FILE"),
        Some("/kopiaplan/policy/global-policy.json")
    );
    let policy = objects
        .iter()
        .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == "p-web-backup-policy")
        .expect("the backup's policy ConfigMap");
    let global: Value = serde_json::from_str(
        policy["data"]["global-policy.json"]
            .as_str()
            .expect("the translated global policy"),
    )
    .expect("JSON");
    assert_eq!(
        global,
        serde_json::json!({
            "retention": {"keepDaily": 7, "keepAnnual": 2},
            "compression": {"compressorName": "zstd"},
            "scheduling": {"intervalSeconds": 86400},
            "files": {"ignore": ["*.tmp"], "ignoreDotFiles": [".nobackup"]}
        })
    );
    // A file in Kopia's format is imported as it is, from the mount.
    let kopia_format = plan(
        "  backups:
    - {name: web, pvc: web, policyConfig: {configMapName: kopia-policies}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: kopia-policies, namespace: apps}
data:
  global-policy.json: '{\"retention\": {\"keepAnnual\": 2}}'
",
    );
    let objects = compile(&kopia_format);
    let web = pod_spec(cron_job(&objects, "p-web-backup"));
    assert_eq!(
        env_value(web, "KOPIAPLAN_GLOBAL_POLICY_FILE"),
        Some("/kopiaplan/policy-config/global-policy.json")
    );
}

#[test]
fn a_volsync_key_with_no_kopia_field_is_an_error_naming_the_equivalent() {
    let text = plan(&VOLSYNC_FORMAT.replace(
        "\"compressor\": \"zstd\"",
        "\"compressor\": \"zstd\", \"compressionLevel\": 3",
    ));
    let found = diagnostics(&text);
    let d = the(&found, Code::InvalidPolicy, "compressionLevel");
    assert_eq!(d.severity, kopiaplan::diagnostics::Severity::Error);
    assert!(d.message.contains("VolSync's documented format"), "{d:#?}");
    let help = d.help.as_deref().unwrap_or_default();
    assert!(help.contains("compression.compressorName"), "{help}");
    assert!(help.contains("zstd-better-compression"), "{help}");

    // Repository settings as VolSync's docs nest them: the speeds are
    // read (with a warning), the rest names Kopia's equivalent.
    let text = plan(
        "  restores:
    - name: back
      from: web
      pvc: web-copy
      trigger: {onDemand: true}
      policyConfig:
        repositoryConfig: |
          {
            \"performance\": {\"downloadSpeed\": 2097152, \"downloadParallelism\": 8},
            \"caching\": {\"maxCacheSize\": 5368709120}
          }
  backups:
    - {name: web, pvc: web}
",
    );
    let found = diagnostics(&text);
    the(&found, Code::PolicyTranslated, "performance.downloadSpeed");
    let parallel = the(
        &found,
        Code::InvalidRepositorySetting,
        "downloadParallelism",
    );
    assert!(
        parallel
            .help
            .as_deref()
            .unwrap_or_default()
            .contains("--parallel"),
        "{parallel:#?}"
    );
    let cache = the(&found, Code::InvalidRepositorySetting, "maxCacheSize");
    assert!(
        cache
            .help
            .as_deref()
            .unwrap_or_default()
            .contains("contentCacheSizeLimitMB"),
        "{cache:#?}"
    );
    let without_errors = text.replace(", \"downloadParallelism\": 8", "").replace(
        ",\n            \"caching\": {\"maxCacheSize\": 5368709120}",
        "",
    );
    assert_ne!(without_errors, text);
    let objects = compile(&without_errors);
    let back = pod_spec(cron_job(&objects, "p-back-restore"));
    assert_eq!(env_value(back, "KOPIAPLAN_DOWNLOAD_SPEED"), Some("2097152"));
}

#[test]
fn a_policy_object_in_neither_input_nor_context_is_a_warning_and_the_context_checks_it() {
    let text = plan(
        "  backups:\n    - {name: web, pvc: web, policyConfig: {configMapName: volsync-policies}}\n",
    );
    let found = diagnostics(&text);
    let d = the(&found, Code::PolicyObjectNotInInput, "volsync-policies");
    assert_eq!(d.severity, kopiaplan::diagnostics::Severity::Warning);
    assert!(d.help.as_deref().unwrap_or_default().contains("--context"));
    // Given in a context file, the ConfigMap is checked and translated
    // (and not written).
    let config_map = VOLSYNC_FORMAT.split_once("---\n").expect("the ConfigMap").1;
    let ran = crate::test::Test::new()
        .file("plan.yaml", text)
        .file(
            "cluster.yaml",
            format!(
                "apiVersion: v1\nkind: List\nitems:\n- {}",
                config_map.replace('\n', "\n  ")
            ),
        )
        .args([
            "compile",
            "{dir}/plan.yaml",
            "--context",
            "{dir}/cluster.yaml",
        ])
        .stderr_has("warning[policy-translated]")
        .stdout_has("global-policy.json: |-")
        .run();
    assert!(
        !ran.stderr.contains("policy-object-not-in-input"),
        "{}",
        ran.stderr
    );
    assert!(
        !ran.stdout.contains("name: volsync-policies\n  namespace"),
        "{}",
        ran.stdout
    );
}
