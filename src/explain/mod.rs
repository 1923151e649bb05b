//! `explain`: the resolved plan as a person reads it. One list of entries
//! is taken from the model ([`entries`]); the report adds next run times
//! ([`runs`], with Kubernetes' daylight-saving behaviour) and, per
//! repository, the starts in each hour of the week; [`text`] and [`svg`]
//! render it, and the report serialises as JSON.

pub mod entries;
mod replica_overlap;
pub mod report;
pub mod runs;
pub mod steps;
pub mod svg;
pub mod text;

pub use report::{Options, Report, explain};
