//! kopiaplan inside other tools, run for real: Helm's post-renderer calling
//! conventions (Helm 3's bare executable, Helm 4's plugin), kpt and
//! kustomize running the KRM function, `kubectl kustomize` running the
//! legacy exec plugin, and the Argo CD plugin's commands. Each test names
//! its tool with `requires!`: missing, it fails under CI and is reported as
//! skipped elsewhere.

use crate::support;
use crate::support::requires::requires;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::{path_with_kopiaplan, require_kpt, require_tool, root, run, scratch};

fn plan(name: &str, entry: &str) -> String {
    format!(
        "apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: {name}
  namespace: apps
spec:
  repositories:
    - name: main
      secretName: kopia-config
  defaults:
    copyMethod: Direct
  backups:
    - name: {entry}
      pvc: {entry}
"
    )
}

const SECRET: &str = "apiVersion: v1
kind: Secret
metadata:
  name: kopia-config
  namespace: apps
stringData:
  KOPIA_PASSWORD: not-a-real-password
  KOPIA_REPOSITORY: s3://bucket/prefix
";

/// A ConfigMap written the way kpt and kustomize write YAML, so that
/// "unchanged" can be checked byte for byte after they rewrite a package.
const SETTINGS: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: settings # read by the web app
  namespace: apps
data:
  mode: fast
";

fn kopiaplan() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kopiaplan"));
    command.current_dir(root());
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn documents(yaml: &str) -> Vec<Value> {
    serde_saphyr::from_str_multiple::<Value, Vec<_>>(yaml)
        .unwrap_or_else(|e| panic!("the output is not YAML: {e}\n{yaml}"))
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

fn find<'a>(documents: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    documents
        .iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
}

fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({:?}):\n{}\n{}",
        output.status,
        text(&output.stderr),
        text(&output.stdout)
    );
}

fn write(path: &Path, content: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("dirs");
    }
    std::fs::write(path, content).expect("write");
}

// ---------------------------------------------------------------- Helm --

/// One chart template's output as Helm 3 writes it into the stream.
struct Piece {
    text: String,
    is_plan: bool,
}

/// A Helm 3 stream of some hundreds of documents: `# Source:` lines, hooks,
/// CRLF templates, odd separators, an empty template, YAML 1.1 scalars in
/// documents kopiaplan does not read, a `...` followed by a bare document,
/// two plans (one written with CRLF), and a last document without a line
/// break.
fn helm3_stream() -> Vec<Piece> {
    let mut pieces = vec![Piece {
        // The first document, without `---`, as a chart's first template may be.
        text: "# Source: web/templates/namespace.yaml\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n".into(),
        is_plan: false,
    }];
    for i in 0..300 {
        let text = match i % 7 {
            0 => format!(
                "---\n# Source: web/templates/service-{i}.yaml\napiVersion: v1\nkind: Service\n\
                 metadata:\n  name: web-{i}\n  labels: {{enabled: yes, mode: 0755}}\n\
                 spec:\n  ports: [{{port: 80}}]\n"
            ),
            1 => format!(
                "---\n# Source: web/templates/hooks/migrate-{i}.yaml\napiVersion: batch/v1\nkind: Job\n\
                 metadata:\n  name: migrate-{i}\n  annotations:\n    \"helm.sh/hook\": pre-install,pre-upgrade\n    \
                 \"helm.sh/hook-weight\": \"-5\"\n    helm.sh/hook-delete-policy: before-hook-creation\n\
                 spec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{{name: m, image: busybox}}]\n"
            ),
            2 => format!(
                "---\r\n# Source: web/templates/windows-{i}.yaml\r\napiVersion: v1\r\nkind: Service\r\n\
                 metadata:\r\n  name: crlf-{i}\r\nspec:\r\n  ports:\r\n    - port: 443 # https\r\n"
            ),
            3 => format!(
                "--- # a comment after the marker   \n# Source: web/templates/deploy-{i}.yaml\n\
                 apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\nspec:\n  template:\n    \
                 metadata:\n      annotations:\n        script: |\n          ---\n          echo on\n"
            ),
            4 => format!("---   \n# Source: web/templates/empty-{i}.yaml\n"),
            5 => format!(
                "---\n# Source: web/templates/config-{i}.yaml\napiVersion: v1\nkind: ConfigMap\n\
                 metadata:\n  name: config-{i}\n  namespace: apps\ndata:\n  greeting: \"hello\"\n...\n\
                 apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: after-end-marker-{i}\n"
            ),
            _ => format!(
                "---\n# Source: web/templates/odd-{i}.yaml\n--- {{apiVersion: v1, kind: ServiceAccount, \
                 metadata: {{name: flow-{i}}}}}\n"
            ),
        };
        pieces.push(Piece {
            text,
            is_plan: false,
        });
        if i == 60 {
            pieces.push(Piece {
                text: format!("---\n# Source: web/templates/kopia-secret.yaml\n{SECRET}"),
                is_plan: false,
            });
        }
        if i == 100 || i == 250 {
            let (name, entry) = if i == 100 {
                ("nightly", "web-data")
            } else {
                ("weekly", "db-data")
            };
            let text = format!(
                "---\n# Source: web/templates/backup-{name}.yaml\n{}",
                plan(name, entry)
            );
            // The second plan comes from a template with Windows line breaks.
            let text = if i == 250 {
                text.replace('\n', "\r\n")
            } else {
                text
            };
            pieces.push(Piece {
                text,
                is_plan: true,
            });
        }
    }
    pieces.push(Piece {
        text: "---\n# Source: web/templates/last.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: last".into(),
        is_plan: false,
    });
    pieces
}

#[test]
fn helm3_runs_the_bare_binary_and_every_other_document_passes_byte_for_byte() {
    requires!(ControlPlane, Tool("kubectl"), Tool("openssl"));
    let pieces = helm3_stream();
    assert!(pieces.len() > 300);
    let stream: String = pieces.iter().map(|p| p.text.as_str()).collect();
    // Exactly as Helm 3 runs `--post-renderer kopiaplan`: no arguments,
    // the stream on stdin.
    let output = run(&mut kopiaplan(), Some(stream.as_bytes()));
    assert_success(&output, "kopiaplan");
    let out = text(&output.stdout);
    let mut cursor = 0;
    let mut generated = Vec::new();
    for (index, piece) in pieces.iter().enumerate() {
        if piece.is_plan {
            let next = &pieces[index + 1].text;
            let length = out[cursor..]
                .find(next.as_str())
                .expect("the document after the plan is there");
            generated.push(&out[cursor..cursor + length]);
            cursor += length;
        } else {
            assert!(
                out[cursor..].starts_with(&piece.text),
                "document {index} did not pass through byte for byte:\nexpected {:?}\nfound    {:?}",
                piece.text,
                &out[cursor..(cursor + piece.text.len()).min(out.len())]
            );
            cursor += piece.text.len();
        }
    }
    assert_eq!(
        cursor,
        out.len(),
        "something was added after the last document"
    );

    for (block, (name, entry)) in generated
        .iter()
        .zip([("nightly", "web-data"), ("weekly", "db-data")])
    {
        let source_line = format!("# Source: web/templates/backup-{name}.yaml\n");
        assert!(
            block
                .split_inclusive('\n')
                .filter(|l| *l == "---\n")
                .count()
                >= 4,
            "{block}"
        );
        assert_eq!(
            block.matches("---\n").count(),
            block.matches(&source_line).count(),
            "every generated document keeps the plan's `# Source:` line"
        );
        let objects = documents(block);
        assert!(objects.iter().all(|o| o["kind"] != "BackupPlan"));
        let cron_job = find(&objects, "CronJob", &format!("{name}-{entry}-backup"))
            .unwrap_or_else(|| panic!("no CronJob for {name} in\n{block}"));
        assert_eq!(cron_job["metadata"]["namespace"], "apps");
        assert_eq!(
            cron_job["metadata"]["annotations"]["kopiaplan.dev/source"],
            format!("web/templates/backup-{name}.yaml:13"),
            "the line of the entry in its template"
        );
    }
    let generated: Vec<Value> = generated
        .iter()
        .flat_map(|block| documents(block))
        .collect();
    crate::apiserver::the_server_accepts(&generated, "Helm 3's post-render output");
}

#[test]
fn helm4_runs_the_plugin_command_and_the_template_file_annotation_is_carried() {
    requires!(ControlPlane, Tool("kubectl"), Tool("openssl"));
    // Run the command of helm-plugin/plugin.yaml the way Helm 4's
    // subprocess runtime does: platformCommand's command and args,
    // HELM_PLUGIN_NAME and HELM_PLUGIN_DIR set, the stream on stdin.
    let manifest =
        std::fs::read_to_string(root().join("helm-plugin/plugin.yaml")).expect("plugin.yaml");
    let plugin: Value = serde_saphyr::from_str(&manifest).expect("plugin.yaml is YAML");
    assert_eq!(plugin["apiVersion"], "v1");
    assert_eq!(plugin["type"], "postrenderer/v1");
    assert_eq!(plugin["runtime"], "subprocess");
    assert_eq!(
        plugin["version"],
        env!("CARGO_PKG_VERSION"),
        "the plugin's version follows the crate's"
    );
    let known = [
        "apiVersion",
        "name",
        "type",
        "runtime",
        "version",
        "sourceURL",
        "config",
        "runtimeConfig",
    ];
    for key in plugin.as_object().expect("a mapping").keys() {
        assert!(
            known.contains(&key.as_str()),
            "Helm 4.1 refuses the field `{key}`"
        );
    }
    let command = &plugin["runtimeConfig"]["platformCommand"][0];
    let program = command["command"].as_str().expect("command");
    let args: Vec<&str> = command["args"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();

    // What Helm 4 hands over: documents re-written by kyaml, no comments,
    // each annotated with the template it came from.
    let service = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  annotations:\n    \
                   postrenderer.helm.sh/postrender-filename: web/templates/service.yaml\n";
    let plan_document = plan("nightly", "web-data").replace(
        "  namespace: apps\n",
        "  namespace: apps\n  annotations:\n    postrenderer.helm.sh/postrender-filename: web/templates/backup.yaml\n",
    );
    let secret = SECRET.replace(
        "  namespace: apps\n",
        "  namespace: apps\n  annotations:\n    postrenderer.helm.sh/postrender-filename: web/templates/secret.yaml\n",
    );
    let stream = format!("{service}---\n{plan_document}---\n{secret}");
    let plugin_dir = root().join("helm-plugin");
    let output = run(
        Command::new(program)
            .args(&args)
            .env("PATH", path_with_kopiaplan())
            .env("HELM_PLUGIN_NAME", "kopiaplan")
            .env("HELM_PLUGIN_DIR", &plugin_dir),
        Some(stream.as_bytes()),
    );
    assert_success(&output, "the Helm 4 plugin command");
    let out = text(&output.stdout);
    assert!(out.starts_with(&format!("{service}---\n")), "{out}");
    assert!(out.ends_with(&format!("---\n{secret}")), "{out}");
    let objects = documents(&out);
    let generated: Vec<&Value> = objects
        .iter()
        .filter(|o| o["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kopiaplan")
        .collect();
    // The backup's four objects, its repository's quick and full
    // maintenance CronJobs and ServiceAccounts.
    assert_eq!(generated.len(), 8);
    for object in &generated {
        assert_eq!(
            object["metadata"]["annotations"]["postrenderer.helm.sh/postrender-filename"],
            "web/templates/backup.yaml",
            "Helm 4 files generated objects under the plan's template"
        );
        assert_eq!(
            object["metadata"]["annotations"]["kopiaplan.dev/source"],
            "web/templates/backup.yaml"
        );
    }
    let cron_job = find(&objects, "CronJob", "nightly-web-data-backup").expect("a CronJob");
    let pod_annotations =
        &cron_job["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["annotations"];
    assert!(pod_annotations.is_object());
    assert!(
        pod_annotations
            .get("postrenderer.helm.sh/postrender-filename")
            .is_none(),
        "Helm's bookkeeping stays off the pod template: {pod_annotations}"
    );
    let generated: Vec<Value> = generated.into_iter().cloned().collect();
    crate::apiserver::the_server_accepts(&generated, "Helm 4's post-render output");
}

#[test]
fn a_post_render_error_writes_nothing_and_points_at_the_line_of_the_stream() {
    let before = "---\n# Source: web/templates/a.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: a\n";
    let bad = plan("nightly", "web-data")
        .replace("pvc: web-data", "pvc: web-data\n      schedul: \"@daily\"");
    let stream = format!("{before}---\n# Source: web/templates/backup.yaml\n{bad}");
    let line = stream
        .lines()
        .position(|l| l.contains("schedul:"))
        .expect("the line")
        + 1;
    for args in [&[][..], &["post-render"][..]] {
        let output = run(kopiaplan().args(args), Some(stream.as_bytes()));
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(
            output.stdout.is_empty(),
            "nothing on stdout: {}",
            text(&output.stdout)
        );
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains(&format!("--> <stdin>:{line}:7")),
            "{stderr}"
        );
        assert!(stderr.contains("error[unknown-field]"), "{stderr}");
        assert!(stderr.contains("did you mean `schedule`?"), "{stderr}");
    }
}

/// The post-renderer builds no object for the documents it passes
/// through, context documents (ConfigMaps, Secrets) included: it checks
/// their names against the generated objects' itself.
#[test]
fn a_config_map_of_the_stream_named_like_a_generated_one_stops_the_post_render() {
    let clash = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: nightly-web-data-backup-policy\n  namespace: apps\ndata: {a: b}\n";
    let stream = format!("{clash}---\n{}", plan("nightly", "web-data"));
    let output = run(kopiaplan().arg("post-render"), Some(stream.as_bytes()));
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "{}", text(&output.stdout));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("error[pass-through-name-clash]"),
        "{stderr}"
    );
    assert!(stderr.contains("--> <stdin>:1:1"), "{stderr}");
}

/// Two context documents of one name: a plan would read one of them only.
#[test]
fn two_secrets_of_one_name_in_the_stream_stop_the_post_render() {
    let stream = format!("{SECRET}---\n{SECRET}---\n{}", plan("nightly", "web-data"));
    let output = run(kopiaplan().arg("post-render"), Some(stream.as_bytes()));
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "{}", text(&output.stdout));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("error[input-name-clash]"), "{stderr}");
    let second = SECRET.lines().count() + 1;
    assert!(
        stderr.contains(&format!("--> <stdin>:{second}:1")),
        "{stderr}"
    );
}

/// A plan reads a Secret or ConfigMap of the stream by a name it spells:
/// the one it names is read (and checked), the chart's others are passed
/// through unread, as any other document is, whatever they hold.
#[test]
fn a_plan_reads_the_secret_it_names_from_the_stream_and_no_other() {
    // Duplicate keys: kopiaplan refuses them in anything it reads.
    let others = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: apps\ndata: {a: '1', a: '2'}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: tls\n  namespace: apps\nstringData: {k: x, k: y}\n";
    let stream = format!("{others}---\n{SECRET}---\n{}", plan("nightly", "web-data"));
    let output = run(kopiaplan().arg("post-render"), Some(stream.as_bytes()));
    assert_success(&output, "post-render");
    let written = text(&output.stdout);
    assert!(
        written.starts_with(&format!("{others}---\n{SECRET}---\n")),
        "{written}"
    );
    assert!(output.stderr.is_empty(), "{}", text(&output.stderr));

    // The Secret the plan names is read: it lacks the password.
    let broken = SECRET.replace("KOPIA_PASSWORD", "OTHER_KEY");
    let stream = format!("{others}---\n{broken}---\n{}", plan("nightly", "web-data"));
    let output = run(kopiaplan().arg("post-render"), Some(stream.as_bytes()));
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "{}", text(&output.stdout));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("error[repository-secret-missing-key]")
            && stderr.contains("KOPIA_PASSWORD"),
        "{stderr}"
    );
    // Named as an entry's policy files, the ConfigMap is read too, and
    // refused; the Secret the plan does not name is still not read.
    let plan = plan("nightly", "web-data").replace(
        "pvc: web-data",
        "pvc: web-data\n      policyConfig: {configMapName: settings}",
    );
    let stream = format!("{others}---\n{SECRET}---\n{plan}");
    let output = run(kopiaplan().arg("post-render"), Some(stream.as_bytes()));
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stdout));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("the key `a` appears twice") && !stderr.contains("the key `k`"),
        "{stderr}"
    );
}

#[test]
fn empty_input_and_input_without_plans_come_back_unchanged() {
    let without_plans = "\u{feff}# Source: x\r\napiVersion: v1\r\nkind: ConfigMap\r\ndata: {on: yes}\r\n---\n--- |\n  text\n...\n";
    for input in ["", "\n\n", "---\n", without_plans] {
        for args in [&[][..], &["post-render"][..]] {
            let output = run(kopiaplan().args(args), Some(input.as_bytes()));
            assert_success(&output, "post-render");
            assert_eq!(text(&output.stdout), input, "{args:?}");
            assert!(output.stderr.is_empty(), "{}", text(&output.stderr));
        }
    }
}

/// A chart's stream without plans is ASCII and passes through both
/// commands unread, but not unchecked: one byte that is not UTF-8, in a
/// stream that cannot hold a plan, is refused at its line and column, and
/// nothing is written.
#[test]
fn a_stream_that_is_not_utf8_is_refused_at_its_first_bad_byte() {
    let chart = "---\n# Source: app/templates/settings.yaml\napiVersion: v1\nkind: ConfigMap\n\
                 metadata:\n  name: settings\ndata:\n  motd: \"caf\"\n";
    // `café` in Latin-1.
    let at = chart.find("caf\"").expect("the value") + 3;
    let mut latin1 = chart.as_bytes().to_vec();
    latin1.insert(at, 0xe9);
    for args in [&[][..], &["post-render"][..]] {
        let output = run(kopiaplan().args(args), Some(chart.as_bytes()));
        assert_success(&output, "post-render");
        assert_eq!(text(&output.stdout), chart, "{args:?}");
        let output = run(kopiaplan().args(args), Some(&latin1));
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains("<stdin>:8:13"), "{args:?}: {stderr}");
        assert!(stderr.contains("not UTF-8"), "{args:?}: {stderr}");
    }
}

/// A stream without plans is passed through unread: the post-renderer
/// decides by looking for the API groups' names in the text. A name spelled
/// with an escape is not in the text, and the plan must still be compiled.
#[test]
fn a_plan_whose_api_version_is_spelled_with_escapes_is_still_compiled() {
    let plan = plan("nightly", "web-data").replace(
        "apiVersion: kopiaplan.dev/v1alpha1",
        "apiVersion: \"kopiaplan\\x2edev\\u002Fv1alpha1\"",
    );
    assert!(!plan.contains("kopiaplan.dev/"), "{plan}");
    let stream = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: before\n---\n{plan}");
    let output = run(kopiaplan().arg("post-render"), Some(stream.as_bytes()));
    assert_success(&output, "post-render");
    let out = text(&output.stdout);
    assert!(out.contains("kind: CronJob"), "{out}");
    assert!(!out.contains("kind: BackupPlan"), "{out}");
}

#[test]
fn old_mac_line_endings_pass_through_byte_for_byte_around_a_plan() {
    let before = "apiVersion: v1\rkind: ConfigMap\rmetadata:\r  name: before\r";
    let after = "---\rapiVersion: v1\rkind: ConfigMap\rmetadata:\r  name: after\r";
    let plan = plan("nightly", "web-data").replace('\n', "\r");
    let stream = format!("{before}---\r{plan}{after}");
    let output = run(kopiaplan().arg("post-render"), Some(stream.as_bytes()));
    assert_success(&output, "post-render");
    let out = text(&output.stdout);
    assert!(out.starts_with(before), "{out}");
    assert!(out.ends_with(after), "{out}");
    assert!(out.contains("kind: CronJob"), "{out}");
    let generated = &out[before.len()..out.len() - after.len()];
    assert!(
        !generated.contains("name: before") && !generated.contains("name: after"),
        "{generated}"
    );
}

#[test]
fn comments_before_the_first_marker_are_kept_when_the_plan_after_them_is_replaced() {
    let stream = format!(
        "# rendered by a tool\n\n---\n{}",
        plan("nightly", "web-data")
    );
    let output = run(kopiaplan().arg("post-render"), Some(stream.as_bytes()));
    assert_success(&output, "post-render");
    let out = text(&output.stdout);
    assert!(out.starts_with("# rendered by a tool\n\n---\n"), "{out}");
    assert!(out.contains("kind: CronJob"), "{out}");
}

// -------------------------------------------------------------- kpt --

fn kpt_package(name: &str) -> PathBuf {
    let dir = scratch(name);
    let package = dir.join("package");
    write(&package.join("settings.yaml"), SETTINGS);
    write(&package.join("backups/secret.yaml"), SECRET);
    package
}

fn kpt_eval(package: &Path, extra: &[&str]) -> Output {
    let kpt = require_kpt();
    let exec = format!("{} krm", env!("CARGO_BIN_EXE_kopiaplan"));
    run(
        Command::new(kpt)
            .args(["fn", "eval"])
            .arg(package)
            .args(["--exec", &exec])
            .args(extra),
        None,
    )
}

fn read_package(package: &Path) -> Vec<Value> {
    let mut found = Vec::new();
    let mut stack = vec![package.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                found.extend(documents(&std::fs::read_to_string(&path).expect("read")));
            }
        }
    }
    found
}

#[test]
fn kpt_fn_eval_compiles_a_plan_of_the_package_in_place() {
    requires!(Kpt, ControlPlane, Tool("kubectl"), Tool("openssl"));
    let package = kpt_package("kpt-transformer");
    write(
        &package.join("backups/plan.yaml"),
        &plan("nightly", "web-data"),
    );
    let output = kpt_eval(&package, &[]);
    assert_success(&output, "kpt fn eval");

    let plan_file = std::fs::read_to_string(package.join("backups/plan.yaml")).expect("plan.yaml");
    let objects = documents(&plan_file);
    assert!(
        objects.iter().all(|o| o["kind"] != "BackupPlan"),
        "the plan is replaced:\n{plan_file}"
    );
    let cron_job = find(&objects, "CronJob", "nightly-web-data-backup")
        .expect("the CronJob, in the plan's file");
    assert_eq!(cron_job["metadata"]["namespace"], "apps");
    assert_eq!(
        cron_job["metadata"]["annotations"]["kopiaplan.dev/source"],
        "backups/plan.yaml"
    );
    assert!(
        !plan_file.contains("config.kubernetes.io/"),
        "kpt keeps its bookkeeping to itself:\n{plan_file}"
    );
    assert_eq!(
        std::fs::read_to_string(package.join("settings.yaml")).expect("read"),
        SETTINGS,
        "other resources are unchanged"
    );
    assert_eq!(
        std::fs::read_to_string(package.join("backups/secret.yaml")).expect("read"),
        SECRET
    );
    crate::apiserver::the_server_accepts(&read_package(&package), "the kpt package");
}

#[test]
fn kpt_fn_eval_with_the_plan_as_function_config_adds_its_objects_once() {
    requires!(Kpt);
    let package = kpt_package("kpt-generator");
    let config = package.parent().expect("dir").join("nightly.yaml");
    write(&config, &plan("nightly", "web-data"));
    let config = config.to_str().expect("utf-8").to_owned();
    let output = kpt_eval(&package, &["--fn-config", &config]);
    assert_success(&output, "kpt fn eval --fn-config");
    let generated = std::fs::read_to_string(package.join("kopiaplan-nightly.yaml"))
        .expect("the generated objects are in a file of their own");
    let objects = documents(&generated);
    let cron_job = find(&objects, "CronJob", "nightly-web-data-backup").expect("the CronJob");
    assert_eq!(cron_job["metadata"]["namespace"], "apps");
    assert_eq!(
        std::fs::read_to_string(package.join("settings.yaml")).expect("read"),
        SETTINGS
    );

    // Again: the objects of the first run are compiled anew, not doubled.
    let output = kpt_eval(&package, &["--fn-config", &config]);
    assert_success(&output, "the second kpt fn eval");
    assert_eq!(
        std::fs::read_to_string(package.join("kopiaplan-nightly.yaml")).expect("read"),
        generated
    );
    let all = read_package(&package);
    // The backup's and the repository's quick and full maintenance's, once each.
    let cron_jobs = all.iter().filter(|o| o["kind"] == "CronJob").count();
    assert_eq!(cron_jobs, 3);
}

#[test]
fn kpt_fn_eval_reports_errors_as_results_and_changes_nothing() {
    requires!(Kpt);
    let package = kpt_package("kpt-error");
    let bad = plan("nightly", "web-data")
        .replace("pvc: web-data", "pvc: web-data\n      compression: zstdd");
    write(&package.join("backups/plan.yaml"), &bad);
    let results = package.parent().expect("dir").join("results");
    let output = kpt_eval(
        &package,
        &["--results-dir", results.to_str().expect("utf-8")],
    );
    assert!(!output.status.success(), "kpt fn eval must fail");
    assert_eq!(
        std::fs::read_to_string(package.join("backups/plan.yaml")).expect("read"),
        bad
    );
    let list: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(results.join("results.yaml")).expect("results.yaml"),
    )
    .expect("YAML");
    let result = &list["items"][0]["results"][0];
    assert_eq!(result["severity"], "error");
    assert_eq!(
        result["message"], "`zstdd` is not a Kopia compression algorithm; did you mean `zstd`?",
        "{list}"
    );
    assert_eq!(result["field"]["path"], "spec.backups[0].compression");
    assert_eq!(result["file"]["path"], "backups/plan.yaml");
    assert_eq!(
        result["resourceRef"],
        serde_json::json!({"apiVersion": "kopiaplan.dev/v1alpha1", "kind": "BackupPlan", "name": "nightly", "namespace": "apps"})
    );
}

/// A file of two ConfigMaps written with what kpt keeps when a function
/// returns an item's own text: head and end-of-line comments, flow and
/// block collections, single- and double-quoted and plain scalars, a
/// literal block scalar, and a folded one (which kpt itself rewrites).
const STYLED: &str = "# The web app's settings.
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings # read by the web app
  namespace: apps
  labels: {tier: \"web\"}
data:
  mode: 'fast'
  level: \"3\"
  greeting: hello world
  script: |
    #!/bin/sh
    echo \"hello\"
  # the last one
  folded: >-
    one
    two
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: second
data:
  quoted: 'x'
";

#[test]
fn kpt_fn_eval_leaves_every_other_file_as_a_no_op_function_leaves_it() {
    requires!(Kpt);
    let package = kpt_package("kpt-text");
    write(&package.join("settings.yaml"), STYLED);
    write(
        &package.join("backups/plan.yaml"),
        &plan("nightly", "web-data"),
    );
    // The baseline: the same package through a function that returns the
    // ResourceList it is given. kpt rewrites a folded scalar even then.
    let baseline = package.parent().expect("dir").join("baseline");
    std::fs::create_dir_all(&baseline).expect("dir");
    for file in ["settings.yaml", "backups/secret.yaml"] {
        write(
            &baseline.join(file),
            &std::fs::read_to_string(package.join(file)).expect("read"),
        );
    }
    let kpt = require_kpt();
    let no_op = run(
        Command::new(&kpt)
            .args(["fn", "eval"])
            .arg(&baseline)
            .args(["--exec", "cat"]),
        None,
    );
    assert_success(&no_op, "kpt fn eval --exec cat");

    let output = kpt_eval(&package, &[]);
    assert_success(&output, "kpt fn eval");
    for file in ["settings.yaml", "backups/secret.yaml"] {
        assert_eq!(
            std::fs::read_to_string(package.join(file)).expect("read"),
            std::fs::read_to_string(baseline.join(file)).expect("read"),
            "{file} is as a no-op function leaves it"
        );
    }
    assert_eq!(
        std::fs::read_to_string(package.join("backups/secret.yaml")).expect("read"),
        SECRET
    );
    let settings = std::fs::read_to_string(package.join("settings.yaml")).expect("read");
    assert_eq!(
        settings,
        STYLED.replace("folded: >-\n    one\n    two", "folded: \"one two\""),
        "only what kpt itself rewrites changes"
    );
    let plan_file = std::fs::read_to_string(package.join("backups/plan.yaml")).expect("plan.yaml");
    assert!(find(&documents(&plan_file), "CronJob", "nightly-web-data-backup").is_some());
}

// -------------------------------------------------- kustomize (KRM) --

/// A kustomization whose plan runs kopiaplan as an exec KRM function.
fn kustomization(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = scratch(name);
    for (file, content) in files {
        write(&dir.join(file), content);
    }
    dir
}

fn with_function(document: &str) -> String {
    let annotation = format!(
        "  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: {}\n",
        env!("CARGO_BIN_EXE_kopiaplan")
    );
    document.replacen("  name: ", &format!("{annotation}  name: "), 1)
}

fn kustomize_build(dir: &Path) -> Output {
    let kustomize = require_tool("kustomize");
    run(
        Command::new(kustomize)
            .args(["build", "--enable-alpha-plugins", "--enable-exec"])
            .arg(dir),
        None,
    )
}

#[test]
fn kustomize_runs_kopiaplan_as_a_generator() {
    requires!(
        Tool("kustomize"),
        ControlPlane,
        Tool("kubectl"),
        Tool("openssl")
    );
    let dir = kustomization(
        "kustomize-generator",
        &[
            (
                "kustomization.yaml",
                "resources: [settings.yaml, secret.yaml]\ngenerators: [plan.yaml]\n",
            ),
            ("settings.yaml", SETTINGS),
            ("secret.yaml", SECRET),
            ("plan.yaml", &with_function(&plan("nightly", "web-data"))),
        ],
    );
    let output = kustomize_build(&dir);
    assert_success(&output, "kustomize build");
    let objects = documents(&text(&output.stdout));
    let cron_job = find(&objects, "CronJob", "nightly-web-data-backup").expect("the CronJob");
    assert_eq!(cron_job["metadata"]["namespace"], "apps");
    assert!(objects.iter().all(|o| o["kind"] != "BackupPlan"));
    let settings: Value = serde_saphyr::from_str(SETTINGS).expect("YAML");
    assert_eq!(find(&objects, "ConfigMap", "settings"), Some(&settings));
    for object in &objects {
        let annotations = object["metadata"]["annotations"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert!(
            annotations
                .keys()
                .all(|k| !k.starts_with("config.kubernetes.io/") && !k.contains("config.k8s.io/")),
            "no KRM bookkeeping in the build output: {annotations:?}"
        );
    }
    crate::apiserver::the_server_accepts(&objects, "kustomize build with the KRM function");
}

#[test]
fn kustomize_runs_kopiaplan_as_a_transformer() {
    requires!(Tool("kustomize"));
    let config = with_function("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kopiaplan\n");
    let dir = kustomization(
        "kustomize-transformer",
        &[
            (
                "kustomization.yaml",
                "resources: [settings.yaml, secret.yaml, plan.yaml]\ntransformers: [compile.yaml]\n",
            ),
            ("settings.yaml", SETTINGS),
            ("secret.yaml", SECRET),
            ("plan.yaml", &plan("nightly", "web-data")),
            ("compile.yaml", &config),
        ],
    );
    let output = kustomize_build(&dir);
    assert_success(&output, "kustomize build");
    let objects = documents(&text(&output.stdout));
    assert!(
        objects.iter().all(|o| o["kind"] != "BackupPlan"),
        "the plan is replaced"
    );
    let cron_job = find(&objects, "CronJob", "nightly-web-data-backup").expect("the CronJob");
    assert_eq!(cron_job["metadata"]["namespace"], "apps");
    let settings: Value = serde_saphyr::from_str(SETTINGS).expect("YAML");
    assert_eq!(find(&objects, "ConfigMap", "settings"), Some(&settings));
    assert!(find(&objects, "Secret", "kopia-config").is_some());
}

#[test]
fn kustomize_gets_the_values_of_every_other_resource_back() {
    requires!(Tool("kustomize"));
    let config = with_function("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kopiaplan\n");
    let dir = kustomization(
        "kustomize-text",
        &[
            (
                "kustomization.yaml",
                "resources: [settings.yaml, secret.yaml, plan.yaml]\ntransformers: [compile.yaml]\n",
            ),
            ("settings.yaml", STYLED),
            ("secret.yaml", SECRET),
            ("plan.yaml", &plan("nightly", "web-data")),
            ("compile.yaml", &config),
        ],
    );
    let output = kustomize_build(&dir);
    assert_success(&output, "kustomize build");
    // kustomize writes its own YAML: the values are what is kept.
    let objects = documents(&text(&output.stdout));
    for input in documents(STYLED).iter().chain(&documents(SECRET)) {
        let kind = input["kind"].as_str().expect("kind");
        let name = input["metadata"]["name"].as_str().expect("name");
        assert_eq!(find(&objects, kind, name), Some(input), "{kind} {name}");
    }
    assert!(find(&objects, "CronJob", "nightly-web-data-backup").is_some());
}

#[test]
fn kustomize_fails_the_build_when_a_plan_has_errors() {
    requires!(Tool("kustomize"));
    let bad =
        plan("nightly", "web-data").replace("secretName: kopia-config", "secretName: Kopia_Config");
    let dir = kustomization(
        "kustomize-error",
        &[
            (
                "kustomization.yaml",
                "resources: [settings.yaml]\ngenerators: [plan.yaml]\n",
            ),
            ("settings.yaml", SETTINGS),
            ("plan.yaml", &with_function(&bad)),
        ],
    );
    let output = kustomize_build(&dir);
    assert!(!output.status.success(), "kustomize build must fail");
    assert!(output.stdout.is_empty());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("error[invalid-name]"), "{stderr}");
    assert!(
        stderr.contains("the Secret name `Kopia_Config` may contain only"),
        "{stderr}"
    );
}

// --------------------------------------- kubectl kustomize (legacy) --

/// A kustomization and a plugin home with kopiaplan's exec plugin,
/// installed by the shipped script.
fn legacy_kustomization(name: &str, files: &[(&str, &str)]) -> (PathBuf, PathBuf) {
    let dir = scratch(name);
    let config_home = dir.join("config");
    let install = run(
        Command::new(root().join("integrations/kustomize/install.sh"))
            .env("XDG_CONFIG_HOME", &config_home)
            .env_remove("KUSTOMIZE_PLUGIN_HOME"),
        None,
    );
    assert_success(&install, "integrations/kustomize/install.sh");
    let plugin = config_home.join("kustomize/plugin/kopiaplan.dev/v1alpha1/backupplan/BackupPlan");
    assert!(
        plugin.is_file(),
        "install.sh put the plugin where kustomize looks"
    );
    let app = dir.join("app");
    for (file, content) in files {
        write(&app.join(file), content);
    }
    (app, config_home)
}

fn kubectl_kustomize(app: &Path, config_home: &Path) -> Output {
    let kubectl = require_tool("kubectl");
    run(
        Command::new(kubectl)
            .args(["kustomize", "--enable-alpha-plugins"])
            .arg(app)
            .env("XDG_CONFIG_HOME", config_home)
            .env_remove("KUSTOMIZE_PLUGIN_HOME")
            .env("PATH", path_with_kopiaplan()),
        None,
    )
}

#[test]
fn kubectl_kustomize_runs_the_legacy_plugin_as_a_generator() {
    requires!(Tool("kubectl"), ControlPlane, Tool("openssl"));
    let (app, config_home) = legacy_kustomization(
        "legacy-generator",
        &[
            (
                "kustomization.yaml",
                "resources: [settings.yaml, secret.yaml]\ngenerators: [plan.yaml]\n",
            ),
            ("settings.yaml", SETTINGS),
            ("secret.yaml", SECRET),
            ("plan.yaml", &plan("nightly", "web-data")),
        ],
    );
    let output = kubectl_kustomize(&app, &config_home);
    assert_success(&output, "kubectl kustomize");
    let objects = documents(&text(&output.stdout));
    let cron_job = find(&objects, "CronJob", "nightly-web-data-backup").expect("the CronJob");
    assert_eq!(cron_job["metadata"]["namespace"], "apps");
    assert_eq!(
        cron_job["metadata"]["annotations"]["kopiaplan.dev/source"],
        "<plugin config>"
    );
    let settings: Value = serde_saphyr::from_str(SETTINGS).expect("YAML");
    assert_eq!(find(&objects, "ConfigMap", "settings"), Some(&settings));
    assert!(objects.iter().all(|o| o["kind"] != "BackupPlan"));
    crate::apiserver::the_server_accepts(&objects, "kubectl kustomize with the exec plugin");
}

#[test]
fn kubectl_kustomize_runs_the_legacy_plugin_as_a_transformer() {
    requires!(Tool("kubectl"));
    // The configured plan is compiled, and so is the plan among the resources.
    let (app, config_home) = legacy_kustomization(
        "legacy-transformer",
        &[
            (
                "kustomization.yaml",
                "resources: [settings.yaml, secret.yaml, weekly.yaml]\ntransformers: [nightly.yaml]\n",
            ),
            ("settings.yaml", SETTINGS),
            ("secret.yaml", SECRET),
            ("weekly.yaml", &plan("weekly", "db-data")),
            ("nightly.yaml", &plan("nightly", "web-data")),
        ],
    );
    let output = kubectl_kustomize(&app, &config_home);
    assert_success(&output, "kubectl kustomize");
    let objects = documents(&text(&output.stdout));
    for name in ["nightly-web-data-backup", "weekly-db-data-backup"] {
        let cron_job = find(&objects, "CronJob", name).unwrap_or_else(|| panic!("{name}"));
        assert_eq!(cron_job["metadata"]["namespace"], "apps");
    }
    assert!(objects.iter().all(|o| o["kind"] != "BackupPlan"));
    let settings: Value = serde_saphyr::from_str(SETTINGS).expect("YAML");
    assert_eq!(find(&objects, "ConfigMap", "settings"), Some(&settings));
}

#[test]
fn kubectl_kustomize_fails_when_the_legacy_plugin_finds_errors() {
    requires!(Tool("kubectl"));
    let bad = plan("nightly", "web-data").replace("copyMethod: Direct", "copyMethod: Drect");
    let (app, config_home) = legacy_kustomization(
        "legacy-error",
        &[
            ("kustomization.yaml", "generators: [plan.yaml]\n"),
            ("plan.yaml", &bad),
        ],
    );
    let output = kubectl_kustomize(&app, &config_home);
    assert!(!output.status.success(), "kubectl kustomize must fail");
    assert!(output.stdout.is_empty());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("error[value-not-allowed]"), "{stderr}");
    assert!(stderr.contains("did you mean `Direct`?"), "{stderr}");
}

// ------------------------------------------------- the KRM protocol --

#[test]
fn krm_results_name_severity_resource_field_and_file() {
    let list = "apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata:
      name: settings
      annotations:
        internal.config.kubernetes.io/path: settings.yaml
        internal.config.kubernetes.io/index: '0'
  - apiVersion: kopiaplan.dev/v1alpha1
    kind: BackupPlan
    metadata:
      name: nightly
      namespace: apps
      annotations:
        internal.config.kubernetes.io/path: plans/nightly.yaml
        internal.config.kubernetes.io/index: '2'
    spec:
      repositories: [{name: main, secretName: kopia-config}]
      backups:
        - name: web-data
          pvc: web-data
          copyMethod: Direct
          schedule: \"H 2 * * *\"
          timeZone: Europe/Berln
functionConfig:
  apiVersion: v1
  kind: ConfigMap
  metadata: {name: function-input}
";
    for args in [&["krm"][..], &[][..]] {
        let output = run(kopiaplan().args(args), Some(list.as_bytes()));
        assert_eq!(
            output.status.code(),
            Some(1),
            "{args:?}: {}",
            text(&output.stderr)
        );
        let out: Value =
            serde_saphyr::from_str(&text(&output.stdout)).expect("a ResourceList on stdout");
        assert_eq!(out["kind"], "ResourceList");
        assert_eq!(
            out["items"].as_array().map(Vec::len),
            Some(2),
            "the items come back unchanged"
        );
        let result = &out["results"][0];
        assert_eq!(result["severity"], "error");
        assert_eq!(result["tags"]["kopiaplan.dev/code"], "invalid-schedule");
        assert!(
            result["message"]
                .as_str()
                .is_some_and(|m| m.contains("did you mean `Europe/Berlin`?")),
            "{result}"
        );
        assert_eq!(result["field"]["path"], "spec.backups[0].timeZone");
        assert_eq!(
            result["file"],
            serde_json::json!({"path": "plans/nightly.yaml", "index": 2})
        );
        assert_eq!(result["resourceRef"]["kind"], "BackupPlan");
        assert_eq!(result["resourceRef"]["name"], "nightly");
        assert!(
            text(&output.stderr).contains("<stdin>:"),
            "human diagnostics on stderr"
        );
    }
}

/// Kept items of a ResourceList as kpt writes it (its annotations, a
/// document's head comment on the `- ` line), with comments, quoting styles
/// and a block scalar; a flow item and an item using an anchor defined in
/// another item, which cannot be spliced.
const KEPT_SETTINGS: &str = "- # The web app's settings.
  apiVersion: v1
  kind: ConfigMap
  metadata:
    name: settings # read by the web app
    namespace: apps
    annotations:
      config.kubernetes.io/index: '0'
      config.kubernetes.io/path: 'settings.yaml'
      internal.config.kubernetes.io/index: '0'
      internal.config.kubernetes.io/path: 'settings.yaml'
      internal.config.kubernetes.io/seqindent: 'compact'
      config.k8s.io/id: '1'
    labels: &labels {tier: \"web\"}
  data:
    mode: 'fast'
    greeting: hello world
    script: |
      #!/bin/sh
      echo \"hello\"

    # the last one
    level: \"3\"
";
const KEPT_SECRET: &str = "# The repository's Secret.
- apiVersion: v1
  kind: Secret
  metadata:
    name: kopia-config
    namespace: apps
    annotations:
      internal.config.kubernetes.io/path: 'backups/secret.yaml'
  stringData: {KOPIA_PASSWORD: 'not-a-real-password', KOPIA_REPOSITORY: \"s3://bucket/prefix\"}
";

#[test]
fn krm_writes_kept_items_as_their_own_text() {
    let list = format!(
        "apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
{KEPT_SETTINGS}- {{apiVersion: v1, kind: ConfigMap, metadata: {{name: flow}}}}
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: alias
    labels: *labels
{}{KEPT_SECRET}functionConfig:
  apiVersion: v1
  kind: ConfigMap
  metadata: {{name: function-input}}
",
        plan("nightly", "web-data")
            .lines()
            .enumerate()
            .map(|(n, line)| format!("{}{line}\n", if n == 0 { "- " } else { "  " }))
            .collect::<String>()
    );
    let output = run(kopiaplan().arg("krm"), Some(list.as_bytes()));
    assert_success(&output, "kopiaplan krm");
    let out = text(&output.stdout);
    assert!(out.contains(KEPT_SETTINGS), "{out}");
    assert!(out.contains(KEPT_SECRET), "{out}");
    // Items that cannot be spliced come back as their values.
    let read: Value = serde_saphyr::from_str(&out).expect("a ResourceList");
    let input: Value = serde_saphyr::from_str(&list).expect("the input");
    let items = read["items"].as_array().expect("items");
    let kept: Vec<&Value> = items
        .iter()
        .filter(|item| item["metadata"]["labels"]["app.kubernetes.io/managed-by"] != "kopiaplan")
        .collect();
    let expected: Vec<&Value> = input["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|item| item["kind"] != "BackupPlan")
        .collect();
    assert_eq!(kept, expected, "the kept items, in order, as values");
    assert!(find(items, "CronJob", "nightly-web-data-backup").is_some());
}

#[test]
fn krm_keeps_local_config_plans_and_numbers_new_objects_in_the_plans_file() {
    let list = "apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
  - apiVersion: kopiaplan.dev/v1alpha1
    kind: BackupPlan
    metadata:
      name: nightly
      namespace: apps
      annotations:
        config.kubernetes.io/local-config: \"true\"
        internal.config.kubernetes.io/path: plans/nightly.yaml
        internal.config.kubernetes.io/index: '0'
        internal.config.kubernetes.io/id: '7'
        team: web
    spec:
      repositories: [{name: main, secretName: kopia-config, url: \"s3://bucket/kopia\"}]
      backups: [{name: web-data, pvc: web-data, copyMethod: Direct}]
  - apiVersion: v1
    kind: Secret
    metadata:
      name: kopia-config
      namespace: apps
      annotations:
        internal.config.kubernetes.io/path: plans/nightly.yaml
        internal.config.kubernetes.io/index: '1'
    stringData: {KOPIA_PASSWORD: x}
";
    let output = run(kopiaplan().arg("krm"), Some(list.as_bytes()));
    assert_success(&output, "kopiaplan krm");
    let out: Value = serde_saphyr::from_str(&text(&output.stdout)).expect("ResourceList");
    let items = out["items"].as_array().expect("items");
    // Plan, Secret, and eight generated objects (quick and full
    // maintenance included).
    assert_eq!(items.len(), 10);
    assert_eq!(items[0]["kind"], "BackupPlan", "a local-config plan stays");
    assert_eq!(items[9]["kind"], "Secret");
    // The generated objects follow their plan, numbered after the last
    // index of the plan's file.
    let generated = &items[1..9];
    for (offset, object) in generated.iter().enumerate() {
        let annotations = &object["metadata"]["annotations"];
        assert_eq!(
            annotations["internal.config.kubernetes.io/path"],
            "plans/nightly.yaml"
        );
        assert_eq!(
            annotations["config.kubernetes.io/path"],
            "plans/nightly.yaml"
        );
        let index = (2 + offset).to_string();
        assert_eq!(
            annotations["internal.config.kubernetes.io/index"],
            index.as_str()
        );
        assert_eq!(annotations["config.kubernetes.io/index"], index.as_str());
        assert_eq!(
            annotations["team"], "web",
            "the plan's own annotations are inherited"
        );
        assert!(
            annotations
                .get("config.kubernetes.io/local-config")
                .is_none(),
            "{annotations}"
        );
        assert!(
            annotations
                .get("internal.config.kubernetes.io/id")
                .is_none(),
            "{annotations}"
        );
    }
}

// ---------------------------------------------------------- Argo CD --

#[test]
fn the_argocd_plugin_discovers_and_generates_as_the_sidecar_runs_it() {
    requires!(ControlPlane, Tool("kubectl"), Tool("openssl"));
    let manifest = std::fs::read_to_string(root().join("integrations/argocd/plugin.yaml"))
        .expect("plugin.yaml");
    let plugin: Value = serde_saphyr::from_str(&manifest).expect("YAML");
    assert_eq!(plugin["apiVersion"], "argoproj.io/v1alpha1");
    assert_eq!(plugin["kind"], "ConfigManagementPlugin");
    let argv = |section: &Value| -> Vec<String> {
        section["command"]
            .as_array()
            .into_iter()
            .chain(section["args"].as_array())
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let discover = argv(&plugin["spec"]["discover"]["find"]);
    let generate = argv(&plugin["spec"]["generate"]);

    // The sidecar runs both in the application's directory.
    let app = scratch("argocd-app");
    write(
        &app.join("backups/nightly.yaml"),
        &plan("nightly", "web-data"),
    );
    write(&app.join("backups/secret.yaml"), SECRET);
    let other = scratch("argocd-other");
    write(
        &other.join("deployment.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n",
    );
    let in_dir = |dir: &Path, argv: &[String]| {
        run(
            Command::new(&argv[0])
                .args(&argv[1..])
                .current_dir(dir)
                .env("PATH", path_with_kopiaplan())
                .env("ARGOCD_APP_NAME", "backups"),
            None,
        )
    };
    let found = in_dir(&app, &discover);
    assert!(
        found.status.success() && !found.stdout.is_empty(),
        "the app is discovered"
    );
    let not_found = in_dir(&other, &discover);
    assert!(
        not_found.stdout.is_empty(),
        "an app without plans is not: {}",
        text(&not_found.stdout)
    );

    let output = in_dir(&app, &generate);
    assert_success(&output, "the generate command");
    let objects = documents(&text(&output.stdout));
    assert!(find(&objects, "CronJob", "nightly-web-data-backup").is_some());
    assert!(
        find(&objects, "Secret", "kopia-config").is_some(),
        "the Secret passes through"
    );
    let empty = in_dir(&other, &generate);
    assert!(!empty.status.success(), "empty output is refused");
    assert!(empty.stdout.is_empty());
    crate::apiserver::the_server_accepts(&objects, "the Argo CD plugin's generate output");
}

#[test]
fn the_shipped_scripts_pass_shellcheck() {
    requires!(Tool("shellcheck"));
    let shellcheck = require_tool("shellcheck");
    let output = run(
        Command::new(shellcheck)
            .arg("integrations/kustomize/BackupPlan")
            .arg("integrations/kustomize/install.sh")
            .current_dir(root()),
        None,
    );
    assert_success(&output, "shellcheck");
}
