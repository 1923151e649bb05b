//! The admission policy beside each launcher. A launcher's Role must allow
//! `create` on Jobs and VolumeSnapshots, and RBAC cannot limit `create` by
//! name: its token (or anyone who can edit its manifests ConfigMap) could
//! create any Job in the namespace, mounting any Secret and running as any
//! ServiceAccount. A `ValidatingAdmissionPolicy` (admissionregistration.k8s.io/v1,
//! Kubernetes 1.30+) and its binding close that: requests of the launcher's
//! ServiceAccount may create only the mover Job it was compiled with (name,
//! ServiceAccount, image, command, environment, volumes, security settings)
//! and the one VolumeSnapshot of the one claim.

use k8s_openapi::api::admissionregistration::v1::{
    MatchCondition, MatchResources, NamedRuleWithOperations, ValidatingAdmissionPolicy,
    ValidatingAdmissionPolicyBinding, ValidatingAdmissionPolicyBindingSpec,
    ValidatingAdmissionPolicySpec, Validation, Variable,
};
use k8s_openapi::api::core::v1::{Container, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::volume_snapshot;
use crate::output::Object;

/// What the launcher was compiled to create.
pub struct Allowed<'a> {
    /// The policy's (cluster-wide) name.
    pub policy_name: String,
    pub namespace: &'a str,
    pub launcher_service_account: &'a str,
    pub mover_job: &'a str,
    pub mover_pod: &'a PodSpec,
    pub volume_snapshot: &'a str,
    pub claim_name: &'a str,
    pub volume_snapshot_class_name: Option<&'a str>,
}

/// A CEL string literal: every character that is not printable ASCII, and
/// `"` and `\`, escaped, so that any plan value is a literal and nothing else.
pub fn cel_string(text: &str) -> String {
    let mut literal = String::with_capacity(text.len() + 2);
    literal.push('"');
    for c in text.chars() {
        match c {
            '"' => literal.push_str("\\\""),
            '\\' => literal.push_str("\\\\"),
            ' '..='~' => literal.push(c),
            c if (c as u32) <= 0xFFFF => literal.push_str(&format!("\\u{:04x}", c as u32)),
            c => literal.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    literal.push('"');
    literal
}

fn cel_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.into_iter().map(cel_string).collect();
    format!("[{}]", items.join(", "))
}

fn validation(expression: String, message: String) -> Validation {
    Validation {
        expression,
        message: Some(message),
        reason: Some("Forbidden".into()),
        message_expression: None,
    }
}

/// One environment variable as the policy compares it: `NAME=value`, or
/// `NAME<-secret/key` for a Secret key.
const ENV_ENTRY: &str = "e.name + '=' + (has(e.value) ? e.value : '') + \
     (has(e.valueFrom) ? '<-' + e.valueFrom.secretKeyRef.name + '/' + e.valueFrom.secretKeyRef.key : '')";

fn env_entries(container: &Container) -> Vec<String> {
    container
        .env
        .iter()
        .flatten()
        .map(|var| {
            let from = var
                .value_from
                .as_ref()
                .and_then(|from| from.secret_key_ref.as_ref())
                .map(|secret| format!("<-{}/{}", secret.name, secret.key))
                .unwrap_or_default();
            format!(
                "{}={}{from}",
                var.name,
                var.value.as_deref().unwrap_or_default()
            )
        })
        .collect()
}

/// The Job validations: every one guarded so that it applies to Jobs only.
fn job_validations(allowed: &Allowed<'_>) -> Vec<Validation> {
    let pod = allowed.mover_pod;
    let container = pod.containers.first().cloned().unwrap_or_default();
    let for_jobs =
        |expression: String| format!("request.resource.resource != 'jobs' || ({expression})");
    let mut secrets: Vec<&str> = Vec::new();
    let mut config_maps: Vec<&str> = Vec::new();
    let mut claims: Vec<&str> = Vec::new();
    let mut nfs: Vec<String> = Vec::new();
    let mut data_sources: Vec<&str> = Vec::new();
    for volume in pod.volumes.iter().flatten() {
        if let Some(secret) = volume
            .secret
            .as_ref()
            .and_then(|s| s.secret_name.as_deref())
        {
            secrets.push(secret);
        }
        if let Some(config_map) = &volume.config_map {
            config_maps.push(&config_map.name);
        }
        if let Some(claim) = &volume.persistent_volume_claim {
            claims.push(&claim.claim_name);
        }
        if let Some(share) = &volume.nfs {
            nfs.push(format!("{}:{}", share.server, share.path));
        }
        if let Some(source) = volume
            .ephemeral
            .as_ref()
            .and_then(|e| e.volume_claim_template.as_ref())
            .and_then(|t| t.spec.data_source.as_ref())
        {
            data_sources.push(&source.name);
        }
    }
    let volume_rule = format!(
        "!has(variables.pod.volumes) || variables.pod.volumes.all(v, \
         (has(v.secret) && v.secret.secretName in {secrets}) || \
         (has(v.configMap) && v.configMap.name in {config_maps}) || \
         (has(v.persistentVolumeClaim) && v.persistentVolumeClaim.claimName in {claims}) || \
         (has(v.nfs) && v.nfs.server + ':' + v.nfs.path in {nfs}) || \
         (has(v.ephemeral) && v.ephemeral.volumeClaimTemplate.spec.dataSource.name in {data_sources}) || \
         has(v.emptyDir))",
        secrets = cel_list(secrets.iter().copied()),
        config_maps = cel_list(config_maps.iter().copied()),
        claims = cel_list(claims.iter().copied()),
        nfs = cel_list(nfs.iter().map(String::as_str)),
        data_sources = cel_list(data_sources.iter().copied()),
    );
    let env = env_entries(&container);
    let env_from: Vec<&str> = container
        .env_from
        .iter()
        .flatten()
        .filter_map(|from| from.secret_ref.as_ref().map(|s| s.name.as_str()))
        .collect();
    let capabilities: Vec<&str> = container
        .security_context
        .as_ref()
        .and_then(|s| s.capabilities.as_ref())
        .and_then(|c| c.add.as_ref())
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let run_as_user = pod
        .security_context
        .as_ref()
        .and_then(|s| s.run_as_user)
        .unwrap_or_default();
    let job = allowed.mover_job;
    vec![
        validation(
            for_jobs(format!("object.metadata.name == {}", cel_string(job))),
            format!("this launcher may create only the Job {job}"),
        ),
        validation(
            for_jobs(format!(
                "has(variables.pod.serviceAccountName) && variables.pod.serviceAccountName == {} && \
                 has(variables.pod.automountServiceAccountToken) && !variables.pod.automountServiceAccountToken",
                cel_string(pod.service_account_name.as_deref().unwrap_or_default())
            )),
            format!(
                "the Job {job} runs as the ServiceAccount {} without an API token",
                pod.service_account_name.as_deref().unwrap_or_default()
            ),
        ),
        validation(
            for_jobs(format!(
                "size(variables.pod.containers) == 1 && \
                 (!has(variables.pod.initContainers) || size(variables.pod.initContainers) == 0) && \
                 (!has(variables.pod.ephemeralContainers) || size(variables.pod.ephemeralContainers) == 0) && \
                 variables.container.image == {} && \
                 variables.container.command == {} && \
                 (has(variables.container.args) ? variables.container.args : []) == {}",
                cel_string(container.image.as_deref().unwrap_or_default()),
                cel_list(container.command.iter().flatten().map(String::as_str)),
                cel_list(container.args.iter().flatten().map(String::as_str)),
            )),
            format!(
                "the Job {job} runs one container, the image {} with kopiaplan's script",
                container.image.as_deref().unwrap_or_default()
            ),
        ),
        validation(
            for_jobs(format!(
                "(has(variables.container.env) ? variables.container.env.map(e, {ENV_ENTRY}) : []) == {} && \
                 (has(variables.container.envFrom) ? variables.container.envFrom.map(f, f.secretRef.name) : []) == {}",
                cel_list(env.iter().map(String::as_str)),
                cel_list(env_from.iter().copied()),
            )),
            format!("the Job {job} has exactly the environment kopiaplan compiled"),
        ),
        validation(
            for_jobs(volume_rule),
            format!("the Job {job} mounts only the volumes kopiaplan compiled"),
        ),
        validation(
            for_jobs(format!(
                "!(has(variables.pod.hostNetwork) && variables.pod.hostNetwork) && \
                 !(has(variables.pod.hostPID) && variables.pod.hostPID) && \
                 !(has(variables.pod.hostIPC) && variables.pod.hostIPC) && \
                 has(variables.pod.securityContext) && has(variables.pod.securityContext.runAsUser) && \
                 variables.pod.securityContext.runAsUser == {run_as_user} && \
                 has(variables.container.securityContext) && \
                 !(has(variables.container.securityContext.privileged) && variables.container.securityContext.privileged) && \
                 has(variables.container.securityContext.allowPrivilegeEscalation) && \
                 !variables.container.securityContext.allowPrivilegeEscalation && \
                 (has(variables.container.securityContext.capabilities) && \
                  has(variables.container.securityContext.capabilities.add) ? \
                  variables.container.securityContext.capabilities.add : []) == {}",
                cel_list(capabilities.iter().copied()),
            )),
            format!("the Job {job} keeps the security settings kopiaplan compiled"),
        ),
    ]
}

fn snapshot_validations(allowed: &Allowed<'_>) -> Vec<Validation> {
    let for_snapshots = |expression: String| {
        format!("request.resource.resource != 'volumesnapshots' || ({expression})")
    };
    let class = match allowed.volume_snapshot_class_name {
        Some(class) => format!(
            "has(object.spec.volumeSnapshotClassName) && object.spec.volumeSnapshotClassName == {}",
            cel_string(class)
        ),
        None => "!has(object.spec.volumeSnapshotClassName)".to_owned(),
    };
    vec![validation(
        for_snapshots(format!(
            "object.metadata.name == {} && \
             has(object.spec.source.persistentVolumeClaimName) && \
             object.spec.source.persistentVolumeClaimName == {} && \
             !has(object.spec.source.volumeSnapshotContentName) && {class}",
            cel_string(allowed.volume_snapshot),
            cel_string(allowed.claim_name),
        )),
        format!(
            "this launcher may create only the VolumeSnapshot {} of the claim {}",
            allowed.volume_snapshot, allowed.claim_name
        ),
    )]
}

/// The policy and its binding (both cluster-scoped).
pub fn objects(allowed: &Allowed<'_>, meta: &dyn Fn(&str) -> ObjectMeta) -> Vec<Object> {
    let username = format!(
        "system:serviceaccount:{}:{}",
        allowed.namespace, allowed.launcher_service_account
    );
    let rule = |group: &str, resource: &str| NamedRuleWithOperations {
        api_groups: Some(vec![group.to_owned()]),
        api_versions: Some(vec!["*".into()]),
        operations: Some(vec!["CREATE".into()]),
        resources: Some(vec![resource.to_owned()]),
        scope: Some("Namespaced".into()),
        resource_names: None,
    };
    let mut validations = job_validations(allowed);
    validations.extend(snapshot_validations(allowed));
    let policy = ValidatingAdmissionPolicy {
        metadata: meta(&allowed.policy_name),
        spec: Some(ValidatingAdmissionPolicySpec {
            failure_policy: Some("Fail".into()),
            match_constraints: Some(MatchResources {
                namespace_selector: Some(LabelSelector {
                    match_labels: Some(
                        [(
                            "kubernetes.io/metadata.name".to_owned(),
                            allowed.namespace.to_owned(),
                        )]
                        .into(),
                    ),
                    match_expressions: None,
                }),
                resource_rules: Some(vec![
                    rule("batch", "jobs"),
                    rule(volume_snapshot::GROUP, "volumesnapshots"),
                ]),
                ..MatchResources::default()
            }),
            match_conditions: Some(vec![MatchCondition {
                name: "from-the-launcher".into(),
                expression: format!("request.userInfo.username == {}", cel_string(&username)),
            }]),
            variables: Some(vec![
                // Evaluated lazily: only the Job validations read them.
                Variable {
                    name: "pod".into(),
                    expression: "object.spec.template.spec".into(),
                },
                Variable {
                    name: "container".into(),
                    expression: "object.spec.template.spec.containers[0]".into(),
                },
            ]),
            validations: Some(validations),
            ..ValidatingAdmissionPolicySpec::default()
        }),
        status: None,
    };
    let binding = ValidatingAdmissionPolicyBinding {
        metadata: meta(&allowed.policy_name),
        spec: Some(ValidatingAdmissionPolicyBindingSpec {
            policy_name: Some(allowed.policy_name.clone()),
            validation_actions: Some(vec!["Deny".into()]),
            ..ValidatingAdmissionPolicyBindingSpec::default()
        }),
    };
    vec![
        Object::from_resource(&policy),
        Object::from_resource(&binding),
    ]
}

#[cfg(test)]
mod tests {
    use super::cel_string;

    #[test]
    fn cel_strings_escape_quotes_backslashes_and_control_characters() {
        assert_eq!(cel_string("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(cel_string("x\ny\u{7f}"), r#""x\u000ay\u007f""#);
        assert_eq!(cel_string("é"), r#""\u00e9""#);
        assert_eq!(cel_string("' + 'x"), r#""' + 'x""#);
    }
}
