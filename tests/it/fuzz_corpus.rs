//! The fuzz targets' corpus, replayed under stable `cargo test`: every seed
//! and every input the fuzzers kept (fuzz/corpus/<target>/), every crash
//! they found (fuzz/regressions/<target>/), and the examples and the
//! VolSync corpus, through the same checks the fuzz targets run
//! (fuzz/src/checks.rs).

use crate::fuzz_checks as checks;
use std::path::{Path, PathBuf};

fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_below(&path));
        } else {
            found.push(path);
        }
    }
    found.sort();
    found
}

fn repository(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Runs `check` on every file of the target's corpus and regressions and
/// of `extra` directories; returns how many inputs ran.
fn replay(target: &str, check: fn(&[u8]), extra: &[&str]) -> usize {
    let mut dirs = vec![
        repository(&format!("fuzz/corpus/{target}")),
        repository(&format!("fuzz/regressions/{target}")),
    ];
    dirs.extend(extra.iter().map(|dir| repository(dir)));
    let mut count = 0;
    for path in dirs.iter().flat_map(|dir| files_below(dir)) {
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // The CLI reads on the main thread (8 MiB of stack); a debug build
        // needs more than a test thread's 2 MiB to reach the depth limit.
        let outcome = std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(move || check(&bytes))
            .map(std::thread::JoinHandle::join);
        assert!(
            matches!(outcome, Ok(Ok(()))),
            "fuzz target {target} fails on {}",
            path.display()
        );
        count += 1;
    }
    count
}

const SEEDS: &[&str] = &["examples", "tests/fixtures/volsync"];

#[test]
fn load_corpus() {
    assert!(replay("load", checks::load, SEEDS) > 100);
}

#[test]
fn compile_corpus() {
    assert!(replay("compile", checks::compile, SEEDS) > 100);
}

#[test]
fn post_render_corpus() {
    assert!(replay("post_render", checks::post_render, SEEDS) > 100);
}

#[test]
fn krm_corpus() {
    assert!(replay("krm", checks::krm, &[]) > 0);
}

#[test]
fn convert_corpus() {
    assert!(replay("convert", checks::convert, &["tests/fixtures/volsync"]) > 100);
}

#[test]
fn schedule_corpus() {
    assert!(replay("schedule", checks::schedule, &[]) > 0);
}

#[test]
fn additional_args_corpus() {
    assert!(replay("additional_args", checks::additional_args, &[]) > 0);
}

#[test]
fn the_cron_oracle_refuses_what_kubernetes_refuses() {
    for good in [
        "0 2 * * *",
        "*/5 1-3 1,15 JAN-mar sun",
        "@daily",
        "0 0 ? * 1/2",
    ] {
        assert!(checks::is_kubernetes_cron(good), "{good}");
    }
    for bad in [
        "60 2 * * *",
        "0 24 * * *",
        "0 0 0 * *",
        "H 2 * * *",
        "0 0 * * 7",
        "*/0 * * * *",
        "0 0 * *",
        "0  0 * * * *",
        "@every 5m",
        "5-1 * * * *",
    ] {
        assert!(!checks::is_kubernetes_cron(bad), "{bad}");
    }
}
