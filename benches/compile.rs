//! Compile benchmark (issue 17, points 6 and 7): where a compile spends its
//! time and memory, as ratios measured in one run.
//!
//! Run with `cargo bench --bench compile` (release profile). For 1,000 and
//! 10,000 backups across 50 and 500 namespaces it times, in this process,
//! each stage on the previous stage's result (`load+parse`, `resolve`,
//! `emit`, which writes each object as YAML as it builds it, and
//! `serialize`: writing the objects' fields as YAML once, the floor) and the
//! whole compile (all four), and prints the whole compile as a multiple of
//! `serialize`, the floor. Each figure is the median of `RUNS` runs.
//!
//! Then it runs the `kopiaplan` binary as a user would (`compile`, `krm`
//! on a ResourceList of the same plan, `post-render` on a stream of 100,000
//! small pass-through documents and the plan) and prints each run's peak
//! resident memory (from `getrusage` of the child) as a multiple of the
//! output's size.
//!
//! Then post-render's cost on a 5,000-document Helm stream without a plan,
//! against reading and writing the same bytes (`cat`): through pipes, as
//! Helm runs a post-renderer, from a file to `/dev/null`, and the scan that
//! decides it against the fastest read; and the cost of
//! diagnostics: plans with 5,000 and 20,000 entries that all share one
//! name, compiled and every diagnostic rendered. The ratio of the two times
//! is about 4 while the cost stays linear (it was about 10 when each
//! rendered line was found by scanning the file).
//!
//! The figures are for reading, not asserting: nothing here fails on a
//! slow machine.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use kopiaplan::diagnostics::{self, SourceMap};

const RUNS: usize = 5;
/// Pass-through documents in front of the plan in the post-render stream:
/// about 19 MB, under the 32 MiB limit of one input.
const STREAM_DOCUMENTS: usize = 100_000;
const SIZES: [(usize, usize); 4] = [(1_000, 50), (1_000, 500), (10_000, 50), (10_000, 500)];

/// The plan document: one BackupPlan with `backups` entries spread
/// round-robin over `namespaces` namespaces.
fn generate_plan(backups: usize, namespaces: usize) -> String {
    let mut yaml = String::with_capacity(backups * 64 + 1024);
    yaml.push_str(
        "apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: bench
  namespace: default
spec:
  repositories:
    - name: main
      secretName: kopia-s3
      url: s3://bench-bucket/kopia
  defaults:
    repository: main
    schedule: \"H H * * *\"
    timeZone: Europe/Berlin
    copyMethod: Direct
    retain: {daily: 7, weekly: 4}
  backups:
",
    );
    for i in 0..backups {
        let ns = i % namespaces;
        let _ = write!(
            yaml,
            "    - name: app-{i:05}\n      pvc: data-{i:05}\n      namespace: ns-{ns:03}\n"
        );
    }
    yaml
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// The stage times of one compile, and the output's size.
struct Stages {
    load_parse: Duration,
    resolve: Duration,
    emit: Duration,
    serialize: Duration,
    output_bytes: usize,
    objects: usize,
}

fn stages(sources: &SourceMap) -> Result<Stages, String> {
    let options = kopiaplan::volsync::Options::default();
    let start = Instant::now();
    let (documents, load_diagnostics) = kopiaplan::load::parse(sources);
    let (inputs, parse_diagnostics) = kopiaplan::read_plans(&documents, &options);
    let load_parse = start.elapsed();
    if load_diagnostics.has_errors() || parse_diagnostics.has_errors() {
        return Err("the generated plan does not parse".to_owned());
    }

    let start = Instant::now();
    let (model, resolve_diagnostics) = kopiaplan::resolve::resolve(&inputs, &documents, sources);
    let resolve = start.elapsed();
    if resolve_diagnostics.has_errors() {
        let shown: String = resolve_diagnostics
            .iter()
            .take(3)
            .map(|d| diagnostics::render(d, sources))
            .collect();
        return Err(format!("the generated plan does not resolve:\n{shown}"));
    }

    let start = Instant::now();
    let mut objects =
        kopiaplan::emit::emit(&model).map_err(|_| "the model does not emit".to_owned())?;
    kopiaplan::output::sort(&mut objects);
    let emit = start.elapsed();

    // The floor: writing the objects as YAML from their fields, as one
    // serialiser pass. (A generated object is written as soon as it is
    // built, inside `emit`: its fields are read back for this, untimed.)
    let fields: Vec<serde_json::Value> = objects
        .iter()
        .map(|object| object.value().into_owned())
        .collect();
    let start = Instant::now();
    let mut text = String::new();
    for value in &fields {
        text.push_str("---\n");
        text.push_str(&kopiaplan::output::document_yaml(value)?);
    }
    let serialize = start.elapsed();
    drop(fields);
    Ok(Stages {
        load_parse,
        resolve,
        emit,
        serialize,
        output_bytes: text.len(),
        objects: objects.len(),
    })
}

/// The whole library compile as `compile` runs it: sources → YAML text.
fn whole_compile(sources: &SourceMap) -> Result<(Duration, usize), String> {
    let start = Instant::now();
    let compiled = kopiaplan::compile_sources(sources).map_err(|errors| {
        errors
            .iter()
            .take(5)
            .map(|d| diagnostics::render(d, sources))
            .collect::<String>()
    })?;
    let text = kopiaplan::output::to_yaml(&compiled.objects)?;
    Ok((start.elapsed(), text.len()))
}

fn stage_ratios(backups: usize, namespaces: usize) -> Result<Duration, String> {
    let mut sources = SourceMap::default();
    sources.add(
        "generated.yaml".to_owned(),
        generate_plan(backups, namespaces),
    );
    let mut runs = Vec::with_capacity(RUNS);
    let mut wholes = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        runs.push(stages(&sources)?);
        wholes.push(whole_compile(&sources)?.0);
    }
    let pick = |f: fn(&Stages) -> Duration| median(runs.iter().map(f).collect());
    let (load_parse, resolve, emit, serialize) = (
        pick(|s| s.load_parse),
        pick(|s| s.resolve),
        pick(|s| s.emit),
        pick(|s| s.serialize),
    );
    let whole = median(wholes);
    let floor = serialize.as_secs_f64();
    println!(
        "{backups:>6} backups, {namespaces:>3} namespaces: {} objects, {:.1} MB output",
        runs[0].objects,
        runs[0].output_bytes as f64 / 1e6
    );
    println!(
        "    load+parse {:>8.1} ms ({:.2}x serialize)\n    resolve    {:>8.1} ms ({:.2}x)\n    emit       {:>8.1} ms ({:.2}x)\n    serialize  {:>8.1} ms (1.00x, the floor)\n    compile    {:>8.1} ms ({:.2}x serialize; goal at most 1.5x)",
        millis(load_parse),
        load_parse.as_secs_f64() / floor,
        millis(resolve),
        resolve.as_secs_f64() / floor,
        millis(emit),
        emit.as_secs_f64() / floor,
        millis(serialize),
        millis(whole),
        whole.as_secs_f64() / floor,
    );
    Ok(whole)
}

/// Peak resident memory, in bytes, of the children waited for so far
/// (`getrusage(RUSAGE_CHILDREN)`): the largest child's. Each measurement
/// runs in a fresh copy of this benchmark (see `measure_child`), whose one
/// child is the run measured.
fn children_peak_rss() -> Option<u64> {
    #[repr(C)]
    struct Rusage {
        user_time: [i64; 2],
        system_time: [i64; 2],
        max_rss_kib: i64,
        rest: [i64; 13],
    }
    unsafe extern "C" {
        fn getrusage(who: i32, usage: *mut Rusage) -> i32;
    }
    const RUSAGE_CHILDREN: i32 = -1;
    let mut usage = Rusage {
        user_time: [0; 2],
        system_time: [0; 2],
        max_rss_kib: 0,
        rest: [0; 13],
    };
    // SAFETY: `usage` is a live, writable struct with the layout of Linux's
    // `struct rusage` on 64-bit targets.
    let status = unsafe { getrusage(RUSAGE_CHILDREN, &mut usage) };
    (status == 0 && cfg!(target_os = "linux"))
        .then(|| u64::try_from(usage.max_rss_kib).unwrap_or(0) * 1024)
}

/// In a child copy of the benchmark: runs `kopiaplan` with `args`, stdin
/// from `stdin`, stdout to `stdout`, and prints its peak memory in bytes.
fn measure_child(args: &[String]) -> ExitCode {
    let [stdin, stdout, rest @ ..] = args else {
        return ExitCode::FAILURE;
    };
    let status = Command::new(env!("CARGO_BIN_EXE_kopiaplan"))
        .args(rest)
        .stdin(std::fs::File::open(stdin).map_or(Stdio::null(), Stdio::from))
        .stdout(std::fs::File::create(stdout).map_or(Stdio::null(), Stdio::from))
        .stderr(Stdio::null())
        .status();
    match (status, children_peak_rss()) {
        (Ok(status), Some(peak)) if status.success() => {
            println!("{peak}");
            ExitCode::SUCCESS
        }
        _ => ExitCode::FAILURE,
    }
}

/// Runs `kopiaplan args` (stdin from `stdin`, stdout into `stdout`) in a
/// fresh copy of this benchmark; the child's peak memory and the output's
/// size.
fn peak_of_cli_run(stdin: &Path, stdout: &Path, args: &[&str]) -> Result<(u64, u64), String> {
    let current = std::env::current_exe().map_err(|e| e.to_string())?;
    let output = Command::new(current)
        .arg("--measure-child")
        .arg(stdin)
        .arg(stdout)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!("kopiaplan {} failed", args.join(" ")));
    }
    let peak = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .map_err(|_| "no peak memory reported".to_owned())?;
    let size = std::fs::metadata(stdout).map_err(|e| e.to_string())?.len();
    Ok((peak, size))
}

fn scratch() -> Result<PathBuf, String> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("compile-bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    Ok(dir)
}

/// The plan as a KRM ResourceList, as kustomize hands it to `krm`.
fn resource_list(plan: &str) -> String {
    let mut list =
        String::from("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n");
    let mut first = true;
    for line in plan.lines() {
        list.push_str(if first { "  - " } else { "    " });
        list.push_str(line);
        list.push('\n');
        first = false;
    }
    list
}

/// A Helm-like stream: `documents` small ConfigMaps, each after `---` and
/// a `# Source:` line, then (when given) the plan.
fn helm_stream(documents: usize, plan: Option<&str>) -> String {
    let mut stream = String::with_capacity(documents * 220);
    for i in 0..documents {
        let _ = write!(
            stream,
            "---\n# Source: app/templates/settings-{i}.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings-{i}\n  labels:\n    app.kubernetes.io/name: app\ndata:\n  mode: \"0644\"\n  level: info\n"
        );
    }
    if let Some(plan) = plan {
        stream.push_str("---\n# Source: app/templates/plan.yaml\n");
        stream.push_str(plan);
    }
    stream
}

fn memory_ratios() -> Result<(), String> {
    let dir = scratch()?;
    let null = Path::new("/dev/null");
    for (backups, namespaces) in SIZES {
        let plan = generate_plan(backups, namespaces);
        let plan_path = dir.join(format!("plan-{backups}-{namespaces}.yaml"));
        let list_path = dir.join(format!("list-{backups}-{namespaces}.yaml"));
        let stream_path = dir.join(format!("stream-{backups}-{namespaces}.yaml"));
        let out = dir.join("out.yaml");
        std::fs::write(&plan_path, &plan).map_err(|e| e.to_string())?;
        std::fs::write(&list_path, resource_list(&plan)).map_err(|e| e.to_string())?;
        std::fs::write(&stream_path, helm_stream(STREAM_DOCUMENTS, Some(&plan)))
            .map_err(|e| e.to_string())?;
        let plan_arg = plan_path.to_string_lossy().into_owned();
        let runs: [(&str, &Path, Vec<&str>); 3] = [
            ("compile", null, vec!["compile", &plan_arg]),
            ("krm", &list_path, vec!["krm"]),
            ("post-render", &stream_path, vec!["post-render"]),
        ];
        println!("{backups:>6} backups, {namespaces:>3} namespaces, peak memory of the CLI run:");
        for (name, stdin, args) in runs {
            let (peak, size) = peak_of_cli_run(stdin, &out, &args)?;
            println!(
                "    {name:<12} {:>7.1} MB for {:>6.1} MB of output: {:.1}x (goal at most 4x)",
                peak as f64 / 1e6,
                size as f64 / 1e6,
                peak as f64 / size.max(1) as f64
            );
        }
    }
    Ok(())
}

/// How a pass-through run gets its input and where its output goes.
#[derive(Clone, Copy)]
enum Plumbing {
    /// As Helm 3 runs a post-renderer (`pkg/postrender/exec.go`): one
    /// thread writes the stream into standard input's pipe and closes it,
    /// another reads standard output's pipe into a buffer until it closes.
    /// Timed from the first write to the last read.
    Helm,
    /// From a file in the page cache to an open `/dev/null`, where writing
    /// costs nothing: what is left of `cat` is the read.
    FileToNull,
}

/// A pass-through: standard input to standard output, reading the input
/// as the CLI does (`load::read_limited`, a reader without a size hint)
/// and writing through a 64 KiB `BufWriter`.
type Pass<'a> = &'a dyn Fn(&mut dyn std::io::Read, &mut dyn std::io::Write) -> Result<(), String>;

/// Runs `pass` once on `stream` (also at `path`) through `plumbing`.
fn time_pass(
    plumbing: Plumbing,
    stream: &[u8],
    path: &Path,
    pass: Pass,
) -> Result<Duration, String> {
    let fail = |e: std::io::Error| e.to_string();
    match plumbing {
        Plumbing::FileToNull => {
            let mut input = std::fs::File::open(path).map_err(fail)?;
            let mut null = std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/null")
                .map_err(fail)?;
            let start = Instant::now();
            pass(&mut input, &mut null)?;
            Ok(start.elapsed())
        }
        Plumbing::Helm => {
            let (stdin, mut feed) = std::io::pipe().map_err(fail)?;
            let (mut drain, stdout) = std::io::pipe().map_err(fail)?;
            let (go, ready) = std::sync::mpsc::channel::<()>();
            std::thread::scope(|scope| {
                let feeder = scope.spawn(move || {
                    ready.recv().map_err(|e| e.to_string())?;
                    feed.write_all(stream).map_err(fail)
                    // Dropping `feed` closes standard input.
                });
                let reader = scope.spawn(move || {
                    let mut captured = Vec::with_capacity(stream.len());
                    std::io::Read::read_to_end(&mut drain, &mut captured).map(|_| captured)
                });
                let start = Instant::now();
                go.send(()).map_err(|e| e.to_string())?;
                // Both ends are the pass's: a pass that fails closes them,
                // and the threads see it.
                let (mut stdin, mut stdout) = (stdin, stdout);
                pass(&mut stdin, &mut stdout)?;
                drop(stdout);
                let captured = reader
                    .join()
                    .map_err(|_| "the reader panicked")?
                    .map_err(fail)?;
                let elapsed = start.elapsed();
                feeder.join().map_err(|_| "the writer panicked")??;
                if captured != stream {
                    return Err("the pass-through changed the stream".to_owned());
                }
                Ok(elapsed)
            })
        }
    }
}

/// What decides that a stream is passed through as it is.
type Scan = fn(&[u8]) -> bool;

/// Times in memory, medians of alternating runs.
struct InMemory {
    /// Reading the file into a buffer whose memory is already mapped (a
    /// new process's read also faults its pages in, which costs more than
    /// the read itself here).
    read: Duration,
    /// The scan that decides a stream is passed through as it is.
    scan: Duration,
    /// The least a pass that looks at every byte can cost: an or of all.
    touch: Duration,
}

/// What the pass-through adds to reading, at its least favourable.
fn in_memory(path: &Path, scan: Scan) -> Result<InMemory, String> {
    let mut buffer = Vec::new();
    let (mut reads, mut scans, mut touches) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS * 20 {
        buffer.clear();
        let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
        let start = Instant::now();
        std::io::Read::read_to_end(&mut file, &mut buffer).map_err(|e| e.to_string())?;
        reads.push(start.elapsed());
        let start = Instant::now();
        let plain = scan(std::hint::black_box(&buffer));
        scans.push(start.elapsed());
        if !plain {
            return Err("a stream without plans taken for one that may hold one".to_owned());
        }
        let start = Instant::now();
        let all = std::hint::black_box(&buffer)
            .iter()
            .fold(0u8, |all, byte| all | byte);
        touches.push(start.elapsed());
        if all >= 0x80 {
            return Err("the stream is not ASCII".to_owned());
        }
    }
    Ok(InMemory {
        read: median(reads),
        scan: median(scans),
        touch: median(touches),
    })
}

/// post-render of a stream without plans against reading and writing it
/// (`cat`), through pipes as Helm runs a post-renderer, and from a file to
/// `/dev/null`. `post-render` and a bare `kopiaplan` (Helm 3's
/// `--post-renderer kopiaplan`) hand what they read to the library call
/// the command makes.
fn post_render_passthrough() -> Result<(), String> {
    use kopiaplan::integrations::bare::{self, Bare};
    use kopiaplan::integrations::post_render::{self, Written};
    const DOCUMENTS: usize = 5_000;
    let dir = scratch()?;
    let path = dir.join("helm-5000.yaml");
    let stream = helm_stream(DOCUMENTS, None);
    std::fs::write(&path, &stream).map_err(|e| e.to_string())?;
    let read = |input: &mut dyn std::io::Read| {
        kopiaplan::load::read_limited(input).map_err(|e| e.to_string())
    };
    let write = |output: &mut dyn std::io::Write, bytes: &[u8]| {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, output);
        out.write_all(bytes)
            .and_then(|()| out.flush())
            .map_err(|e| e.to_string())
    };
    let cat: Pass = &|input, output| write(output, &read(input)?);
    let post_render: Pass =
        &|input, output| match post_render::post_render_bytes(read(input)?, Vec::new(), true) {
            Written::Unchanged(bytes) => write(output, &bytes),
            Written::Rendered(rendered) => write(
                output,
                rendered.output.ok_or("post-render failed")?.as_bytes(),
            ),
        };
    let bare: Pass = &|input, output| match bare::bare(read(input)?) {
        Bare::Unchanged(bytes) => write(output, &bytes),
        Bare::Rendered(rendered) => write(
            output,
            rendered.output.ok_or("post-render failed")?.as_bytes(),
        ),
        Bare::ResourceList(_) => Err("a Helm stream taken for a ResourceList".to_owned()),
    };
    let runs: [(&str, Pass, Scan); 2] = [
        ("post-render", post_render, kopiaplan::parse::plain),
        (
            "a bare kopiaplan",
            bare,
            kopiaplan::parse::plain_and_no_resource_list,
        ),
    ];
    let plumbings = [
        (
            Plumbing::Helm,
            "through pipes, as Helm runs it",
            " (goal at most 1.2x)",
        ),
        (Plumbing::FileToNull, "from a file to /dev/null", ""),
    ];
    for (name, run, scan) in runs {
        println!("{name} on {DOCUMENTS} documents without a plan:");
        for (plumbing, how, goal) in plumbings {
            let (mut cats, mut renders) = (Vec::new(), Vec::new());
            // Alternating, so that both see the same load of a shared
            // machine; one plumbing at a time, so that both find the heap
            // in the same state.
            for _ in 0..RUNS * 20 {
                cats.push(time_pass(plumbing, stream.as_bytes(), &path, cat)?);
                renders.push(time_pass(plumbing, stream.as_bytes(), &path, run)?);
            }
            let (cat, render) = (median(cats), median(renders));
            println!(
                "    {how:<31} {:.3} ms, cat {:.3} ms: {:.2}x{goal}",
                millis(render),
                millis(cat),
                render.as_secs_f64() / cat.as_secs_f64(),
            );
        }
        let InMemory { read, scan, touch } = in_memory(&path, scan)?;
        let over_read = |pass: Duration| (read + pass).as_secs_f64() / read.as_secs_f64();
        println!(
            "    the scan alone, {:.3} ms, over a read into memory in use, {:.3} ms: {:.2}x (an or of every byte, {:.3} ms: {:.2}x)",
            millis(scan),
            millis(read),
            over_read(scan),
            millis(touch),
            over_read(touch),
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(rest) = args.strip_prefix(&["--measure-child".to_owned()]) {
        return measure_child(rest);
    }
    // `cargo bench` passes `--bench`; a filter selects parts.
    let only = args.iter().find(|a| !a.starts_with("--")).cloned();
    let wanted = |part: &str| only.as_deref().is_none_or(|o| part.contains(o));
    println!("kopiaplan compile bench, medians of {RUNS} runs");
    let mut result = Ok(());
    if wanted("stages") {
        let mut wholes = Vec::new();
        for (backups, namespaces) in SIZES {
            match stage_ratios(backups, namespaces) {
                Ok(whole) => wholes.push(((backups, namespaces), whole)),
                Err(error) => result = Err(error),
            }
        }
        for namespaces in [50, 500] {
            let time = |backups| {
                wholes
                    .iter()
                    .find(|(size, _)| *size == (backups, namespaces))
                    .map(|(_, whole)| whole.as_secs_f64())
            };
            if let (Some(small), Some(large)) = (time(1_000), time(10_000)) {
                println!(
                    "scaling, {namespaces} namespaces: 10,000 backups take {:.1}x the time of 1,000 (linear: 10)",
                    large / small
                );
            }
        }
    }
    if wanted("memory") {
        result = result.and_then(|()| memory_ratios());
    }
    if wanted("post-render") {
        result = result.and_then(|()| post_render_passthrough());
    }
    if wanted("diagnostics") {
        diagnostics_scaling();
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("compile bench: {error}");
            ExitCode::FAILURE
        }
    }
}

/// A plan whose `entries` backups all have the same name: one diagnostic
/// per entry after the first.
fn duplicate_names(entries: usize) -> String {
    let mut yaml = String::from(
        "apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: dup
  namespace: apps
spec:
  repositories:
    - name: main
      secretName: kopia-config
  defaults:
    copyMethod: Direct
  backups:
",
    );
    for _ in 0..entries {
        yaml.push_str("    - name: same\n      pvc: same\n");
    }
    yaml
}

/// Compiles a plan with `entries` duplicate names and renders every
/// diagnostic; the time and the number of diagnostics.
fn time_diagnostics(entries: usize) -> (Duration, usize) {
    let mut sources = SourceMap::default();
    sources.add("duplicates.yaml".to_string(), duplicate_names(entries));
    let start = Instant::now();
    let diagnostics = match kopiaplan::compile_sources(&sources) {
        Ok(compiled) => compiled.diagnostics,
        Err(diagnostics) => diagnostics,
    };
    let rendered: usize = diagnostics
        .iter()
        .map(|d| diagnostics::render(d, &sources).len())
        .sum();
    std::hint::black_box(rendered);
    (start.elapsed(), diagnostics.iter().count())
}

fn diagnostics_scaling() {
    let (small, small_count) = time_diagnostics(5_000);
    let (large, large_count) = time_diagnostics(20_000);
    println!(
        "diagnostics:     {small_count} in {:.1} ms, {large_count} in {:.1} ms: ratio {:.1} for 4x the input (linear: about 4)",
        millis(small),
        millis(large),
        large.as_secs_f64() / small.as_secs_f64()
    );
}
