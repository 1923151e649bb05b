//! Compile benchmark: a generated plan with 10,000 backups across 500
//! namespaces, compiled and serialised three times.
//!
//! Run with `cargo bench --bench compile` (release profile). It prints the
//! min and median wall time of `compile_sources` and of `to_yaml`, the number
//! of objects, the output size and the process's peak resident memory
//! (`VmHWM` from /proc/self/status, "unknown" when unavailable).
//!
//! Then the cost of diagnostics: plans with 5,000 and 20,000 entries that
//! all share one name, compiled and every diagnostic rendered. The ratio of
//! the two times is about 4 while the cost stays linear (it was about 10
//! when each rendered line was found by scanning the file).

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use kopiaplan::diagnostics::{self, SourceMap};

const BACKUPS: usize = 10_000;
const NAMESPACES: usize = 500;
const RUNS: usize = 3;

/// The plan document: one BackupPlan with `BACKUPS` entries spread
/// round-robin over `NAMESPACES` namespaces.
fn generate_plan() -> String {
    let mut yaml = String::with_capacity(BACKUPS * 64 + 1024);
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
    for i in 0..BACKUPS {
        let ns = i % NAMESPACES;
        let _ = write!(
            yaml,
            "    - name: app-{i:05}\n      pvc: data-{i:05}\n      namespace: ns-{ns:03}\n"
        );
    }
    yaml
}

/// Peak resident set size as reported by the kernel, e.g. "123456 kB".
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .map(|value| value.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Min and median of the samples (sorted in place).
fn min_median(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort();
    (samples[0], samples[samples.len() / 2])
}

fn main() -> ExitCode {
    let yaml = generate_plan();
    println!(
        "kopiaplan compile bench: {BACKUPS} backups, {NAMESPACES} namespaces, input {} bytes, {RUNS} runs",
        yaml.len()
    );

    let mut sources = SourceMap::default();
    sources.add("generated.yaml".to_string(), yaml);

    let mut compile_times = Vec::with_capacity(RUNS);
    let mut serialise_times = Vec::with_capacity(RUNS);
    let mut objects = 0;
    let mut output_bytes = 0;

    for run in 1..=RUNS {
        let start = Instant::now();
        let compiled = match kopiaplan::compile_sources(&sources) {
            Ok(compiled) => compiled,
            Err(errors) => {
                eprintln!("the generated plan does not compile:");
                for diagnostic in errors.iter().take(10) {
                    eprint!("{}", diagnostics::render(diagnostic, &sources));
                }
                return ExitCode::FAILURE;
            }
        };
        let compile_time = start.elapsed();

        let start = Instant::now();
        let text = match kopiaplan::output::to_yaml(&compiled.objects) {
            Ok(text) => text,
            Err(error) => {
                eprintln!("serialising failed: {error}");
                return ExitCode::FAILURE;
            }
        };
        let serialise_time = start.elapsed();

        println!(
            "run {run}: compile {:.1} ms, to_yaml {:.1} ms",
            millis(compile_time),
            millis(serialise_time)
        );
        compile_times.push(compile_time);
        serialise_times.push(serialise_time);
        objects = compiled.objects.len();
        output_bytes = text.len();
    }

    let (compile_min, compile_median) = min_median(&mut compile_times);
    let (serialise_min, serialise_median) = min_median(&mut serialise_times);
    println!(
        "compile_sources: min {:.1} ms, median {:.1} ms",
        millis(compile_min),
        millis(compile_median)
    );
    println!(
        "to_yaml:         min {:.1} ms, median {:.1} ms",
        millis(serialise_min),
        millis(serialise_median)
    );
    println!("objects:         {objects}");
    println!("output size:     {output_bytes} bytes");
    println!("peak RSS:        {}", peak_rss());
    diagnostics_scaling();
    ExitCode::SUCCESS
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
