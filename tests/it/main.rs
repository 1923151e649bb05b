//! kopiaplan's integration tests: one test binary, one module per area, so
//! the crate and its dependencies link once. `cargo test --test it cli::`
//! runs one area; `support` holds what the areas share.

mod support;
mod test;

// The fuzz targets' checks, shared with fuzz/ (fuzz_corpus replays them).
#[path = "../../fuzz/src/checks.rs"]
mod fuzz_checks;

mod apiserver;
mod cache;
mod ci;
mod cli;
mod compile;
mod context;
mod contract;
mod diff;
mod explain;
mod findings;
mod fuzz_corpus;
mod golden;
mod hooks;
mod inference;
mod integrations;
mod issued;
mod maintenance;
mod monitoring;
mod mover_volumes;
mod output_dir;
mod policy_config;
mod properties;
mod real_kopia;
mod real_storage;
mod replica_credentials;
mod repository_life;
mod restore;
mod security;
mod selection;
mod standin;
mod status;
mod stream;
mod validity;
mod volsync;
mod volsync_corpus;
mod volsync_corpus_schema;
mod volsync_docs;
mod volsync_layout;
