//! kopiaplan compiles Kopia backup plans into plain Kubernetes manifests.
//!
//! The pipeline, one module per stage:
//! `load` (bytes → YAML documents with positions) → `parse` (documents →
//! input types) → `resolve` (input → fully resolved `model`) → `emit`
//! (model → Kubernetes objects) → `output` (objects → YAML).

pub mod diagnostics;
pub mod load;
pub mod kopia;
pub mod model;
pub mod parse;
pub mod plan;
pub mod resolve;
