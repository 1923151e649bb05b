//! Access-mode rules of a backup's copy: a `Direct` copy cannot mount a
//! ReadWriteOncePod claim (only the application's pod may), and a `Clone`
//! or `Snapshot` copy may stage the volume with its own access modes
//! (`stagingAccessModes`, such as ReadOnlyMany for a ReadWriteMany claim),
//! and a copy that may only be read is mounted read-only.

use super::error::ResolveError;
use super::selection_error::SelectionError;
use super::{At, PlanResolver};
use crate::model::Copy;
use crate::parse::ContextContent;
use crate::plan::BackupSpec;

impl PlanResolver<'_, '_> {
    /// The claim's access modes, when the input or the context has it.
    fn claim_access_modes(&self, spec: &BackupSpec, namespace: &str) -> Vec<String> {
        let Some(pvc) = spec.pvc.as_deref() else {
            return Vec::new();
        };
        match self
            .context
            .get("PersistentVolumeClaim", namespace, pvc)
            .map(|pvc| &pvc.content)
        {
            Some(ContextContent::PersistentVolumeClaim { access_modes, .. }) => {
                access_modes.clone()
            }
            _ => Vec::new(),
        }
    }

    /// A `Direct` copy: refused for a ReadWriteOncePod claim; staging
    /// access modes do not apply.
    pub(super) fn check_direct_access(&mut self, spec: &BackupSpec, at: &At<'_>, namespace: &str) {
        if spec.staging_access_modes.is_some() {
            let d = at.key("stagingAccessModes").key_error(
                &ResolveError::Selection(SelectionError::StagingWithDirect),
                "remove `stagingAccessModes`, or set `copyMethod: Clone` or `Snapshot`",
            );
            self.report(d);
        }
        let modes = self.claim_access_modes(spec, namespace);
        if modes.iter().any(|m| m == "ReadWriteOncePod") {
            let at_method = if spec.copy_method.is_some() {
                at.key("copyMethod")
            } else {
                self.root.key("spec").key("defaults").key("copyMethod")
            };
            let d = at_method.error(
                &ResolveError::Selection(SelectionError::DirectOnReadWriteOncePod {
                    pvc: spec.pvc.clone().unwrap_or_default(),
                }),
                "use `copyMethod: Clone` or `copyMethod: Snapshot`: the mover then reads a copy of the volume",
            );
            self.report(d);
        }
    }

    /// Whether the mover mounts `/data` read-only: as the plan's
    /// `readOnly` says, else for a `Direct` copy (the application's live
    /// volume); and always for a copy whose volume may only be read
    /// (ReadOnlyMany), where `readOnly: false` is refused.
    pub(super) fn data_read_only(&mut self, spec: &BackupSpec, copy: &Copy, at: &At<'_>) -> bool {
        let only_read = copy.stages_read_only();
        if only_read && spec.read_only == Some(false) {
            let d = at.key("readOnly").error(
                &ResolveError::Selection(SelectionError::WritableReadOnlyCopy {
                    method: copy.method(),
                }),
                "remove `readOnly: false`, or give the copy a mode that allows writing (`stagingAccessModes: [ReadWriteOnce]`)",
            );
            self.report(d);
        }
        only_read
            || spec
                .read_only
                .unwrap_or(matches!(copy, Copy::Direct { .. }))
    }

    /// The access modes of a `Clone` or `Snapshot` copy's volume: the
    /// plan's `stagingAccessModes`, else the source claim's (`source`).
    pub(super) fn staging_access_modes(
        &self,
        spec: &BackupSpec,
        source: Vec<String>,
    ) -> Vec<String> {
        match &spec.staging_access_modes {
            Some(modes) if !modes.is_empty() => {
                modes.iter().map(|m| m.as_str().to_owned()).collect()
            }
            _ => source,
        }
    }
}
