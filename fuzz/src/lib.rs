//! The fuzz targets' bodies. The targets in `fuzz_targets/` are one line
//! each; the integration tests replay the committed corpus through the same
//! functions under stable `cargo test` (tests/it/fuzz_corpus.rs).

pub mod checks;
