//! Golden files: each example's compiled output, reviewed like code.
//! `KOPIAPLAN_UPDATE_GOLDEN=1 cargo test --test it golden::` rewrites them.

use crate::support;

use support::{examples, golden_of, kopiaplan, stderr, stdout};

#[test]
fn every_example_compiles_to_its_golden_file() {
    let update = std::env::var_os("KOPIAPLAN_UPDATE_GOLDEN").is_some();
    let examples = examples();
    assert!(examples.len() >= 6, "the examples are missing");
    let mut stale = Vec::new();
    for example in &examples {
        let relative = format!(
            "examples/{}",
            example.file_name().and_then(|n| n.to_str()).expect("name")
        );
        let output = kopiaplan(&["compile", &relative]);
        assert!(
            output.status.success(),
            "{relative} does not compile:\n{}",
            stderr(&output)
        );
        let compiled = stdout(&output);
        let golden = golden_of(example);
        if update {
            std::fs::write(&golden, &compiled).expect("write golden file");
            continue;
        }
        let expected = std::fs::read_to_string(&golden).unwrap_or_default();
        if compiled != expected {
            stale.push(golden.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "compiled output differs from {stale:?}; review the change and run \
         `KOPIAPLAN_UPDATE_GOLDEN=1 cargo test --test it golden::` to accept it"
    );
}

#[test]
fn every_golden_file_has_an_example() {
    let examples: Vec<_> = examples().iter().map(|p| golden_of(p)).collect();
    for entry in std::fs::read_dir(support::root().join("golden")).expect("golden/") {
        let path = entry.expect("entry").path();
        assert!(
            examples.contains(&path),
            "{} has no example",
            path.display()
        );
    }
}

#[test]
fn input_order_does_not_change_the_output() {
    let names: Vec<String> = examples()
        .iter()
        .map(|p| {
            format!(
                "examples/{}",
                p.file_name().and_then(|n| n.to_str()).expect("name")
            )
        })
        .collect();
    let forward: Vec<&str> = std::iter::once("compile")
        .chain(names.iter().map(String::as_str))
        .collect();
    let backward: Vec<&str> = std::iter::once("compile")
        .chain(names.iter().rev().map(String::as_str))
        .collect();
    let a = kopiaplan(&forward);
    let b = kopiaplan(&backward);
    assert!(a.status.success(), "{}", stderr(&a));
    assert_eq!(stdout(&a), stdout(&b));
    // The directory form reads the same files.
    let c = kopiaplan(&["compile", "examples"]);
    assert_eq!(stdout(&a), stdout(&c));
    assert!(stdout(&a).matches("\n---\n").count() > 20);
}
