//! The Kopia stand-in (tests/standin/kopia) on its own: it must accept and
//! reject command lines exactly as Kopia v0.23.1's kingpin parser does
//! (checked against every command and flag of the vendored grammar), and
//! keep repository state the way Kopia does for the round trips the
//! contract tests rely on.

use crate::support;
use crate::support::requires::requires;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

fn standin() -> PathBuf {
    support::root().join("tests/standin/kopia")
}

fn grammar() -> Value {
    let text = std::fs::read_to_string(support::root().join("src/kopia/data/kopia-cli.json"))
        .expect("kopia-cli.json");
    serde_json::from_str(&text).expect("grammar JSON")
}

// ---------------------------------------------------------------------------
// Grammar: the stand-in's parser, fed in bulk (KOPIA_STANDIN_CHECK=1 parses
// each line with the same code and executes nothing).

#[derive(Clone)]
struct Case {
    argv: Vec<String>,
    env: BTreeMap<String, String>,
    /// `Ok(command path)` or `Err(message)`.
    expect: Result<String, String>,
}

fn case(argv: &[String], expect: Result<String, String>) -> Case {
    Case {
        argv: argv.to_vec(),
        env: BTreeMap::new(),
        expect,
    }
}

fn check(cases: &[Case]) {
    let python = support::require_tool("python3");
    let mut child = Command::new(python)
        .arg(standin())
        .env_clear()
        .env("KOPIA_STANDIN_CHECK", "1")
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the stand-in");
    let mut input = String::new();
    for c in cases {
        input += &json!({"argv": c.argv, "env": c.env}).to_string();
        input.push('\n');
    }
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("stand-in output");
    writer.join().expect("writer").expect("write stdin");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("result JSON"))
        .collect();
    assert_eq!(results.len(), cases.len());
    let mut failures = Vec::new();
    for (c, r) in cases.iter().zip(&results) {
        let got = if r["ok"] == true {
            Ok(r["path"].as_str().unwrap_or("").to_owned())
        } else {
            Err(r["error"].as_str().unwrap_or("").to_owned())
        };
        if got != c.expect {
            failures.push(format!(
                "kopia {:?} (env {:?})\n   expected {:?}\n   got      {:?}",
                c.argv, c.env, c.expect, got
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} command lines parsed unlike kingpin:\n{}",
        failures.len(),
        cases.len(),
        failures
            .iter()
            .take(25)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn err(message: &str) -> Result<String, String> {
    Err(format!("kopia: error: {message}, try --help"))
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// A value kingpin accepts for a flag or argument of this kind.
fn valid_value(spec: &Value) -> String {
    let existing = support::root().join("Cargo.toml");
    match spec["kind"].as_str().unwrap_or("") {
        "int" | "uint" => "3".into(),
        "float" => "1.5".into(),
        "duration" | "durations" => "90s".into(),
        "bytes" => "1MiB".into(),
        "bool-list" => "true".into(),
        "enum" => spec["enum"][0].as_str().expect("enum value").into(),
        "existing-file" => existing.display().to_string(),
        "existing-dir" | "existing-file-or-dir" => support::root().display().to_string(),
        _ => "v".into(),
    }
}

/// A value kingpin rejects, and the error it gives (None: any string goes).
fn invalid_value(spec: &Value) -> Option<(String, String)> {
    let bad = "x1".to_owned();
    let message = match (
        spec["kind"].as_str().unwrap_or(""),
        spec["go_value"].as_str().unwrap_or(""),
    ) {
        ("int", "Int") | ("float", _) => {
            r#"strconv.ParseFloat: parsing "x1": invalid syntax"#.to_owned()
        }
        ("int", _) => r#"strconv.ParseInt: parsing "x1": invalid syntax"#.to_owned(),
        ("uint", _) => r#"strconv.ParseUint: parsing "x1": invalid syntax"#.to_owned(),
        ("duration" | "durations", _) => r#"time: invalid duration "x1""#.to_owned(),
        ("bytes", _) => "units: invalid x1".to_owned(),
        ("bool-list", _) => r#"strconv.ParseBool: parsing "x1": invalid syntax"#.to_owned(),
        ("enum", _) => format!(
            "enum value must be one of {}, got 'x1'",
            spec["enum"]
                .as_array()
                .expect("enum values")
                .iter()
                .map(|v| v.as_str().unwrap_or(""))
                .collect::<Vec<_>>()
                .join(",")
        ),
        ("existing-file" | "existing-dir" | "existing-file-or-dir", _) => {
            return Some((
                "/no/such/x1".into(),
                "path '/no/such/x1' does not exist".into(),
            ));
        }
        _ => return None,
    };
    Some((bad, message))
}

/// Global flags whose (pre-)action prints something and exits 0.
const EXITING_FLAGS: &[&str] = &[
    "help",
    "help-long",
    "help-man",
    "completion-bash",
    "completion-script-bash",
    "completion-script-zsh",
    "version",
    "help-full",
];

struct Cmd<'a> {
    node: &'a Value,
    /// Flags in scope: global flags, then each command's own, root first.
    scope: Vec<&'a Value>,
}

fn test_only(v: &Value) -> bool {
    v.get("test_only")
        .is_some_and(|t| !t.is_null() && t != false)
}

fn commands(grammar: &Value) -> Vec<Cmd<'_>> {
    fn walk<'a>(node: &'a Value, scope: Vec<&'a Value>, out: &mut Vec<Cmd<'a>>) {
        if test_only(node) || node.get("builtin").is_some() {
            return;
        }
        let mut scope = scope;
        scope.extend(
            node["flags"]
                .as_array()
                .expect("flags")
                .iter()
                .filter(|f| !test_only(f)),
        );
        out.push(Cmd {
            node,
            scope: scope.clone(),
        });
        for child in node["commands"].as_array().expect("commands") {
            walk(child, scope.clone(), out);
        }
    }
    let globals: Vec<&Value> = grammar["global_flags"]
        .as_array()
        .expect("global flags")
        .iter()
        .filter(|f| !test_only(f))
        .collect();
    let mut out = Vec::new();
    for top in grammar["tree"].as_array().expect("tree") {
        walk(top, globals.clone(), &mut out);
    }
    out
}

fn is_leaf(node: &Value) -> bool {
    node["commands"]
        .as_array()
        .is_none_or(|c| c.iter().all(test_only))
}

/// The shortest command line kingpin accepts for a leaf command: its path,
/// every required flag (none set through the environment here) and every
/// required argument.
fn minimal(cmd: &Cmd, skip_flag: Option<&str>) -> Vec<String> {
    let mut argv = words(cmd.node["path"].as_str().expect("path"));
    for flag in &cmd.scope {
        if flag["required"] == true && Some(flag["name"].as_str().unwrap_or("")) != skip_flag {
            if flag["kind"] == "bool" {
                argv.push(format!("--{}", flag["name"].as_str().unwrap()));
            } else {
                argv.push(format!(
                    "--{}={}",
                    flag["name"].as_str().unwrap(),
                    valid_value(flag)
                ));
            }
        }
    }
    for arg in cmd.node["args"].as_array().expect("args") {
        if arg["required"] == true {
            argv.push(valid_value(arg));
        }
    }
    argv
}

#[test]
fn every_command_of_the_grammar_parses_with_its_required_flags_and_arguments() {
    requires!(Tool("python3"));
    let g = grammar();
    let mut cases = Vec::new();
    for cmd in commands(&g) {
        let path = cmd.node["path"].as_str().unwrap().to_owned();
        if is_leaf(cmd.node) {
            cases.push(case(&minimal(&cmd, None), Ok(path.clone())));
            // Each alias spells the same command.
            let mut parts = words(&path);
            for alias in cmd.node["aliases"].as_array().unwrap() {
                *parts.last_mut().unwrap() = alias.as_str().unwrap().to_owned();
                let mut argv = parts.clone();
                argv.extend(minimal(&cmd, None).into_iter().skip(parts.len()));
                cases.push(case(&argv, Ok(path.clone())));
            }
        } else {
            cases.push(case(
                &words(&path),
                err(&format!("must select a subcommand of '{path}'")),
            ));
            cases.push(case(
                &[words(&path), vec!["no-such-command".into()]].concat(),
                err(r#"expected command but got "no-such-command""#),
            ));
        }
    }
    assert!(
        cases.len() > 170,
        "the grammar lists {} command lines",
        cases.len()
    );
    check(&cases);
}

#[test]
fn every_flag_of_every_command_is_typed_required_and_repeatable_as_kingpin_says() {
    requires!(Tool("python3"));
    let g = grammar();
    let mut cases = Vec::new();
    let mut flags_checked = 0;
    let cmds = commands(&g);
    for cmd in &cmds {
        if !is_leaf(cmd.node) {
            continue;
        }
        let path = cmd.node["path"].as_str().unwrap().to_owned();
        let base = minimal(cmd, None);
        // The command's own flags, and its parents' (only once: on the
        // first leaf below them), and the global flags on `repository status`.
        let own: Vec<&Value> = if path == "repository status" {
            cmd.scope.clone()
        } else {
            let depth = words(&path).len();
            cmd.scope
                .iter()
                .filter(|f| {
                    let at = cmds.iter().find(|c| {
                        c.node["flags"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|x| std::ptr::eq(x, **f))
                    });
                    at.is_some_and(|c| {
                        let p = c.node["path"].as_str().unwrap();
                        words(p).len() == depth
                            || cmds
                                .iter()
                                .filter(|l| {
                                    is_leaf(l.node)
                                        && l.node["path"]
                                            .as_str()
                                            .unwrap()
                                            .starts_with(&format!("{p} "))
                                })
                                .map(|l| l.node["path"].as_str().unwrap())
                                .next()
                                == Some(path.as_str())
                    })
                })
                .copied()
                .collect()
        };
        for flag in own {
            flags_checked += 1;
            let name = flag["name"].as_str().unwrap();
            // The command line without this flag (it may be a required one).
            let base = minimal(cmd, Some(name));
            let with = |extra: &[String]| [base.clone(), extra.to_vec()].concat();
            if EXITING_FLAGS.contains(&name) {
                // kingpin's help, version and completion flags print and exit 0
                // as soon as they are seen (even `--no-help`, even repeated).
                for argv in [
                    with(&[format!("--{name}")]),
                    with(&[format!("--no-{name}")]),
                ] {
                    cases.push(case(&argv, Ok(String::new())));
                }
                continue;
            }
            if flag["kind"] == "bool" {
                cases.push(case(&with(&[format!("--{name}")]), Ok(path.clone())));
                cases.push(case(&with(&[format!("--no-{name}")]), Ok(path.clone())));
                cases.push(case(
                    &with(&[format!("--{name}"), format!("--{name}")]),
                    err(&format!("flag '{name}' cannot be repeated")),
                ));
            } else {
                if flag["required"] != true {
                    cases.push(case(
                        &with(&[format!("--{name}={}", valid_value(flag))]),
                        Ok(path.clone()),
                    ));
                    // `--name value` is the same as `--name=value`.
                    cases.push(case(
                        &with(&[format!("--{name}"), valid_value(flag)]),
                        Ok(path.clone()),
                    ));
                }
                cases.push(case(
                    &[base.clone(), vec![format!("--{name}")]].concat(),
                    err(&format!("expected argument for flag '--{name}'")),
                ));
                cases.push(case(
                    &with(&[format!("--no-{name}=1")]),
                    err(&format!("unknown long flag '--no-{name}'")),
                ));
                if let Some((bad, message)) = invalid_value(flag) {
                    cases.push(case(&with(&[format!("--{name}={bad}")]), err(&message)));
                }
                let twice = with(&[
                    format!("--{name}={}", valid_value(flag)),
                    format!("--{name}={}", valid_value(flag)),
                ]);
                if flag["cumulative"] == true {
                    cases.push(case(&twice, Ok(path.clone())));
                } else if flag["required"] != true {
                    cases.push(case(
                        &twice,
                        err(&format!("flag '{name}' cannot be repeated")),
                    ));
                }
            }
            if flag["required"] == true {
                let without = minimal(cmd, Some(name));
                let mut missing = case(
                    &without,
                    err(&format!("required flag --{name} not provided")),
                );
                // A required flag with an environment variable is satisfied by it.
                if let Some(envar) = flag["envar"].as_str() {
                    let mut satisfied = case(&without, Ok(path.clone()));
                    satisfied
                        .env
                        .insert(envar.to_owned(), "from-env".to_owned());
                    cases.push(satisfied);
                    missing.env.insert(envar.to_owned(), String::new());
                }
                cases.push(missing);
            }
            if let Some(short) = flag["short"].as_str() {
                let argv = if flag["kind"] == "bool" {
                    with(&[format!("-{short}")])
                } else {
                    with(&[format!("-{short}"), valid_value(flag)])
                };
                cases.push(case(&argv, Ok(path.clone())));
            }
        }
        cases.push(case(
            &[base.clone(), vec!["--no-such-flag".into()]].concat(),
            err("unknown long flag '--no-such-flag'"),
        ));
    }
    assert!(flags_checked > 1000, "only {flags_checked} flags checked");
    check(&cases);
}

#[test]
fn kingpin_details_the_scripts_depend_on() {
    requires!(Tool("python3"));
    let s = |text: &str| words(text);
    let mut cases = vec![
        // Global flags go anywhere after the program name...
        case(
            &s("--log-level=error snapshot list --json"),
            Ok("snapshot list".into()),
        ),
        case(
            &s("snapshot list --json --log-level=error"),
            Ok("snapshot list".into()),
        ),
        // ...but a command's flags only after its name.
        case(
            &s("--override-username=u repository connect filesystem --path=/r"),
            err("unknown long flag '--override-username'"),
        ),
        case(
            &s("snapshot create --override-username=u /d"),
            err("unknown long flag '--override-username'"),
        ),
        // Bool flags take no value: `=false` is left over as an argument.
        case(
            &s("repository status --json=false"),
            err("unexpected false"),
        ),
        case(&s("maintenance run --full=true"), err("unexpected true")),
        case(&s("snapshot list --json=false"), Ok("snapshot list".into())),
        // Enum values, including the `warn` the VolSync docs use.
        case(
            &s("--log-level=warn snapshot list"),
            err("enum value must be one of debug,info,warning,error, got 'warn'"),
        ),
        case(
            &s("--file-log-level=debug snapshot list"),
            Ok("snapshot list".into()),
        ),
        // Durations as go-str2duration reads them (days are fine).
        case(
            &s("--log-dir-max-age=7d snapshot list"),
            Ok("snapshot list".into()),
        ),
        case(
            &s("--log-dir-max-age=7 snapshot list"),
            err(r#"time: missing unit in duration "7""#),
        ),
        case(
            &s("--log-dir-max-age=7x snapshot list"),
            err(r#"time: unknown unit "x" in duration "7x""#),
        ),
        // Int flags parse as floats and truncate; Int64 flags do not.
        case(
            &s("snapshot create --parallel=1e2 /d"),
            Ok("snapshot create".into()),
        ),
        case(
            &s("repository connect filesystem --path=/r --content-cache-size-limit-mb=1.5"),
            err(r#"strconv.ParseInt: parsing "1.5": invalid syntax"#),
        ),
        case(
            &s("repository connect filesystem --path=/r --content-cache-size-limit-mb=0x10"),
            Ok("repository connect filesystem".into()),
        ),
        // Short flags, combined short bool flags, short flag with its value attached.
        case(&s("snapshot list -lm -n3"), Ok("snapshot list".into())),
        case(&s("snapshot list -q"), err("unknown short flag '-q'")),
        case(
            &s("-pSECRET repository status"),
            Ok("repository status".into()),
        ),
        // `--` ends the flags: what follows is an argument, even `--json`.
        case(
            &s("snapshot create -- --json"),
            Ok("snapshot create".into()),
        ),
        case(&s("repository status -- --json"), err("unexpected --json")),
        // Too many arguments.
        case(&s("snapshot list /a /b"), err("unexpected /b")),
        case(
            &s("restore"),
            err("required argument 'sources' not provided"),
        ),
        // Hidden flags and commands are accepted.
        case(
            &s("snapshot create --json-verbose --flush-per-source /d"),
            Ok("snapshot create".into()),
        ),
        case(&s("blob list"), Ok("blob list".into())),
        // A `@file` argument is not expanded (Kopia disables it).
        case(
            &s("snapshot create @/etc/passwd"),
            Ok("snapshot create".into()),
        ),
        // Test-only commands exist only with KOPIA_TESTONLY_FLAGS.
        case(
            &s("notification profile configure testsender --profile-name=x"),
            err(r#"expected command but got "testsender""#),
        ),
    ];
    let mut testonly = case(
        &s("notification profile configure testsender --profile-name=x"),
        Ok("notification profile configure testsender".into()),
    );
    testonly
        .env
        .insert("KOPIA_TESTONLY_FLAGS".into(), "1".into());
    cases.push(testonly);
    // Flag values from the environment are parsed too: a bad one fails
    // every command, before anything else.
    let mut bad_env = case(
        &s("snapshot list"),
        err(r#"strconv.ParseFloat: parsing "three": invalid syntax"#),
    );
    bad_env
        .env
        .insert("KOPIA_LOG_DIR_MAX_FILES".into(), "three".into());
    cases.push(bad_env);
    let mut bad_bool = case(
        &s("snapshot list"),
        err(r#"strconv.ParseBool: parsing "yes": invalid syntax"#),
    );
    bad_bool
        .env
        .insert("KOPIA_PERSIST_CREDENTIALS_ON_CONNECT".into(), "yes".into());
    cases.push(bad_bool);
    check(&cases);
}

// ---------------------------------------------------------------------------
// State: the stand-in run as a program, on the host.

struct Kopia {
    dir: PathBuf,
    env: BTreeMap<String, String>,
}

impl Kopia {
    fn new(name: &str) -> Kopia {
        let dir = support::scratch(&format!("standin-state-{name}"));
        let mut env = BTreeMap::new();
        env.insert("PATH".into(), "/usr/bin:/bin".into());
        env.insert("HOME".into(), dir.join("home").display().to_string());
        env.insert(
            "KOPIA_CONFIG_PATH".into(),
            dir.join("config/repository.config").display().to_string(),
        );
        env.insert("KOPIA_PASSWORD".into(), "pw".into());
        env.insert(
            "KOPIA_STANDIN_LOG".into(),
            dir.join("log.jsonl").display().to_string(),
        );
        env.insert(
            "KOPIA_STANDIN_STORAGE".into(),
            dir.join("storage").display().to_string(),
        );
        env.insert("KOPIA_STANDIN_NOW".into(), "2026-11-26T02:00:00Z".into());
        Kopia { dir, env }
    }

    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = Command::new(standin());
        command.args(args).env_clear().envs(&self.env);
        for (k, v) in env {
            command.env(k, v);
        }
        command.output().expect("run the stand-in")
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[])
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kopia {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn fails(&self, args: &[&str], code: i32, message: &str) {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "kopia {args:?}: {stderr}");
        assert!(
            stderr.contains(message),
            "kopia {args:?}: expected {message:?} in:\n{stderr}"
        );
    }

    fn path(&self, p: &str) -> String {
        self.dir.join(p).display().to_string()
    }

    fn create_repo(&self) -> String {
        let repo = self.path("repo");
        std::fs::create_dir_all(&repo).expect("repo dir");
        self.ok(&[
            "repository",
            "create",
            "filesystem",
            &format!("--path={repo}"),
            "--override-username=u",
            "--override-hostname=h",
        ]);
        repo
    }

    fn log(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join("log.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("log line"))
            .collect()
    }
}

fn tree(dir: &Path) {
    std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
    std::fs::write(dir.join("a.txt"), "alpha\n").expect("write");
    std::fs::write(dir.join("sub/b.txt"), "bravo\n").expect("write");
    std::fs::write(dir.join("skip.tmp"), "temp").expect("write");
    std::os::unix::fs::symlink("a.txt", dir.join("link")).expect("symlink");
    std::fs::set_permissions(
        dir.join("a.txt"),
        std::os::unix::fs::PermissionsExt::from_mode(0o640),
    )
    .expect("chmod");
}

#[test]
fn connect_and_create_fail_and_succeed_like_kopia() {
    requires!(Tool("python3"));
    let k = Kopia::new("connect");
    let repo = k.path("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let connect = [
        "repository",
        "connect",
        "filesystem",
        &format!("--path={repo}"),
    ];
    k.fails(
        &connect,
        1,
        "ERROR error connecting to repository: repository not initialized in the provided storage",
    );
    k.fails(
        &[
            "repository",
            "connect",
            "filesystem",
            &format!("--path={}", k.path("missing")),
        ],
        1,
        "can't connect to storage: cannot access storage path: stat",
    );
    k.fails(&["snapshot", "list"], 1, "ERROR open repository: repository is not connected. See https://kopia.io/docs/repositories/");
    let created = k.run(&[
        "repository",
        "create",
        "filesystem",
        &format!("--path={repo}"),
        "--override-username=u",
        "--override-hostname=h",
    ]);
    assert!(created.status.success());
    assert!(
        String::from_utf8_lossy(&created.stdout).contains("kopia repository validate-provider")
    );
    assert!(Path::new(&repo).join("kopia.repository.f").is_file());
    k.fails(
        &[
            "repository",
            "create",
            "filesystem",
            &format!("--path={repo}"),
        ],
        1,
        "ERROR unable to get repository storage: found existing data in storage location",
    );
    let wrong = k.run_with(&connect, &[("KOPIA_PASSWORD", "nope")]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("invalid repository password"));
    let status = k.ok(&["repository", "status", "--json"]);
    let status: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["clientOptions"]["username"], "u");
    assert_eq!(status["storage"]["config"]["path"], repo.as_str());
    // No password anywhere: the prompt cannot be answered.
    let out = k.run_with(&connect, &[("KOPIA_PASSWORD", "")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("password prompt error"));
    // S3: a different prefix is a different, empty location.
    let bucket = k.dir.join("storage/s3/s3.amazonaws.com/bkt");
    std::fs::create_dir_all(&bucket).unwrap();
    let s3 = |prefix: &str, verb: &str| {
        k.run_with(
            &[
                "repository",
                verb,
                "s3",
                "--bucket=bkt",
                &format!("--prefix={prefix}"),
            ],
            &[("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")],
        )
    };
    assert!(s3("one/", "create").status.success());
    assert!(s3("one/", "connect").status.success());
    assert!(
        String::from_utf8_lossy(&s3("two/", "connect").stderr)
            .contains("repository not initialized")
    );
    assert!(String::from_utf8_lossy(&s3("", "create").stderr).contains("found existing data"));
    assert!(bucket.join("one/kopia.repository").is_file());
    let missing = k.run_with(
        &["repository", "connect", "s3", "--bucket=nobucket"],
        &[("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")],
    );
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains(r#"bucket "nobucket" does not exist"#)
    );
    // Every call is logged with its exit status.
    let log = k.log();
    assert_eq!(log[0]["argv"], json!(connect));
    assert_eq!(log[0]["exit"], 1);
}

#[test]
fn snapshots_round_trip_through_create_list_restore_and_verify() {
    requires!(Tool("python3"));
    let k = Kopia::new("roundtrip");
    k.create_repo();
    let data = k.dir.join("data");
    tree(&data);
    let policy = k.dir.join("policy.json");
    let target = format!("u@h:{}", data.display());
    std::fs::write(
        &policy,
        json!({ &target: {"files": {"ignore": ["*.tmp"]}}}).to_string(),
    )
    .unwrap();
    k.ok(&[
        "policy",
        "import",
        &format!("--from-file={}", policy.display()),
        &target,
    ]);

    let first = k.ok(&[
        "snapshot",
        "create",
        data.to_str().unwrap(),
        "--json",
        "--tags=env:prod",
    ]);
    assert!(
        first.ends_with("}\n") && first.lines().count() == 1,
        "one compact line: {first}"
    );
    let first: Value = serde_json::from_str(&first).unwrap();
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "source",
            "description",
            "startTime",
            "endTime",
            "rootEntry",
            "tags"
        ]
    );
    assert_eq!(first["startTime"], "2026-11-26T02:00:00Z");
    assert_eq!(first["rootEntry"]["summ"]["files"], 2, "{first}");
    assert_eq!(first["rootEntry"]["summ"]["symlinks"], 1);
    assert_eq!(first["tags"]["tag:env"], "prod");
    let second: Value =
        serde_json::from_str(&k.ok(&["snapshot", "create", data.to_str().unwrap(), "--json"]))
            .unwrap();
    // The clock did not move: the next snapshot is one second later.
    assert_eq!(second["startTime"], "2026-11-26T02:00:01Z");

    let listed = k.ok(&["snapshot", "list", "--json", &target]);
    assert!(
        listed.starts_with("[\n {") && listed.ends_with("}\n]"),
        "{listed}"
    );
    let listed: Value = serde_json::from_str(&listed).unwrap();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            first["id"].as_str().unwrap(),
            second["id"].as_str().unwrap()
        ],
        "oldest first"
    );
    assert_eq!(listed[1]["retentionReason"][0], "latest-1");
    assert!(listed[0]["stats"]["fileCount"].is_number());
    assert_eq!(
        k.ok(&["snapshot", "list", "--json", "nobody@nowhere:/x"]),
        "[\n]"
    );

    // Restore by ID into a new directory: contents, modes, times.
    let out = k.dir.join("out");
    k.ok(&[
        "restore",
        first["id"].as_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(out.join("sub/b.txt")).unwrap(),
        "bravo\n"
    );
    assert_eq!(
        std::fs::read_link(out.join("link")).unwrap(),
        Path::new("a.txt")
    );
    assert!(!out.join("skip.tmp").exists());
    use std::os::unix::fs::MetadataExt;
    let (a, b) = (
        std::fs::metadata(data.join("a.txt")).unwrap(),
        std::fs::metadata(out.join("a.txt")).unwrap(),
    );
    assert_eq!(b.mode() & 0o7777, 0o640);
    assert_eq!(a.mtime(), b.mtime());
    // Restore the latest snapshot of a source over it, deleting extras.
    std::fs::write(out.join("extra"), "x").unwrap();
    std::fs::write(out.join("a.txt"), "changed").unwrap();
    k.ok(&["restore", &target, out.to_str().unwrap(), "--delete-extra"]);
    assert!(!out.join("extra").exists());
    assert_eq!(
        std::fs::read_to_string(out.join("a.txt")).unwrap(),
        "alpha\n"
    );
    // A sub-directory of a snapshot.
    let sub = k.dir.join("sub-out");
    k.ok(&[
        "restore",
        &format!("{}/sub", first["id"].as_str().unwrap()),
        sub.to_str().unwrap(),
    ]);
    assert!(sub.join("b.txt").is_file());

    // --snapshot-time picks the newest snapshot that started before the
    // instant, whatever its offset: 02:00:00Z is 03:00:00+01:00.
    let older = k.dir.join("older");
    let out = k.run(&[
        "restore",
        &target,
        older.to_str().unwrap(),
        "--snapshot-time=2026-11-26T03:00:00+01:00",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!(
        "Object ID: {}",
        first["rootEntry"]["obj"].as_str().unwrap()
    )));
    k.fails(
        &[
            "restore",
            &target,
            older.to_str().unwrap(),
            "--snapshot-time=2026-11-26T01:59:59Z",
        ],
        1,
        "no snapshots contain data for",
    );

    // Verify reads the stored content back; a damaged blob is found.
    k.ok(&["snapshot", "verify", "--verify-files-percent=100"]);
    let repo = k.dir.join("repo");
    let blob = std::fs::read_dir(&repo)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with('q')
                && !name.starts_with("qk")
                && std::fs::read(p).unwrap() == b"bravo\n"
        })
        .expect("the blob of sub/b.txt");
    std::fs::write(&blob, "tampered").unwrap();
    k.fails(
        &["snapshot", "verify", "--verify-files-percent=100"],
        1,
        "encountered 2 errors",
    );
}

#[test]
fn policy_import_checks_fields_and_applies_to_the_named_target_only() {
    requires!(Tool("python3"));
    let k = Kopia::new("policy");
    k.create_repo();
    let file = k.dir.join("p.json");
    std::fs::write(
        &file,
        r#"{"u@h:/data": {"retention": {"keepLatest": 3}, "colour": "blue"}}"#,
    )
    .unwrap();
    let from = format!("--from-file={}", file.display());
    k.fails(
        &["policy", "import", &from],
        1,
        r#"unable to decode policy file as valid json: json: unknown field "colour""#,
    );
    k.ok(&["policy", "import", &from, "--allow-unknown-fields"]);
    std::fs::write(
        &file,
        r#"{"u@h:/data": {"retention": {"keepLatest": "three"}}}"#,
    )
    .unwrap();
    k.fails(
        &["policy", "import", &from],
        1,
        "cannot unmarshal string into Go struct field Policy.retention.keepLatest",
    );
    // Only the targets named on the command line are imported.
    std::fs::write(
        &file,
        r#"{"u@h:/a": {"retention": {"keepDaily": 1}}, "u@h:/b": {"retention": {"keepDaily": 2}}}"#,
    )
    .unwrap();
    k.ok(&["policy", "import", &from, "u@h:/b"]);
    let show = |t: &str| -> Value {
        serde_json::from_str(&k.ok(&["policy", "show", "--json", t])).unwrap()
    };
    assert_eq!(show("u@h:/b")["retention"]["keepDaily"], 2);
    assert_eq!(
        show("u@h:/a")["retention"]["keepDaily"],
        7,
        "the global default"
    );
}

#[test]
fn maintenance_has_one_owner() {
    requires!(Tool("python3"));
    let k = Kopia::new("maintenance");
    let repo = k.create_repo();
    let info: Value = serde_json::from_str(&k.ok(&["maintenance", "info", "--json"])).unwrap();
    assert_eq!(info["owner"], "u@h", "the creator owns maintenance");
    k.ok(&[
        "repository",
        "connect",
        "filesystem",
        &format!("--path={repo}"),
        "--override-username=maint",
        "--override-hostname=ops",
    ]);
    k.fails(
        &["maintenance", "run", "--full"],
        1,
        "ERROR maintenance must be run by designated user: u@h",
    );
    k.ok(&["maintenance", "set", "--owner=me"]);
    k.ok(&["maintenance", "run", "--full", "--safety=none"]);
    let info: Value = serde_json::from_str(&k.ok(&["maintenance", "info", "--json"])).unwrap();
    assert_eq!(info["owner"], "maint@ops");
    assert_eq!(info["schedule"]["runs"]["snapshot-gc"][0]["success"], true);
}

#[test]
fn unmodelled_commands_and_injected_failures_are_visible() {
    requires!(Tool("python3"));
    let k = Kopia::new("unmodelled");
    k.fails(
        &["policy", "set", "--global", "--keep-latest=3"],
        3,
        "kopia-standin: not modelled: policy set",
    );
    k.fails(
        &["blob", "list"],
        3,
        "kopia-standin: not modelled: blob list",
    );
    let out = k.run_with(
        &["repository", "connect", "filesystem", "--path=/r"],
        &[(
            "KOPIA_STANDIN_FAIL",
            "repository connect=error connecting to repository: Access Denied",
        )],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "ERROR error connecting to repository: Access Denied\n"
    );
    let log = k.log();
    assert_eq!(
        log.iter()
            .map(|l| l["exit"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [3, 3, 1]
    );
}
