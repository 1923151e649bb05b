//! Plan types for backing up what a chart deploys: the access modes of a
//! copy's staging volume. (`pvcSelector` is Kubernetes' own LabelSelector,
//! `statefulSet` a name.)

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A PersistentVolumeClaim access mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum AccessMode {
    ReadWriteOnce,
    ReadOnlyMany,
    ReadWriteMany,
    ReadWriteOncePod,
}

impl AccessMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadWriteOnce => "ReadWriteOnce",
            Self::ReadOnlyMany => "ReadOnlyMany",
            Self::ReadWriteMany => "ReadWriteMany",
            Self::ReadWriteOncePod => "ReadWriteOncePod",
        }
    }
}
