//! The plan repositories VolSync objects write to: one per distinct Secret,
//! repository PVC and CA in a namespace, named after the Secret.

use super::*;

impl Lowering<'_> {
    /// The plan repository for a Secret (and repository PVC, and CA): one
    /// per distinct combination in a namespace, named after the Secret.
    pub(super) fn repository(
        &mut self,
        doc: DocId,
        namespace: &str,
        common: &Common,
        repository_pvc: Option<&str>,
        creates: bool,
    ) -> Option<String> {
        let here = self.here(doc);
        let Some(secret) = common.repository.clone().filter(|r| !r.is_empty()) else {
            let d = here.at(&["spec", "kopia"]).report(
                LowerError::NoRepository,
                "set `spec.kopia.repository` to the Secret holding KOPIA_PASSWORD and the backend settings",
            );
            self.diagnostics.push(d);
            return None;
        };
        let custom_ca = match &common.custom_ca {
            Some(ca) if ca.key.as_deref().is_none_or(str::is_empty) => {
                let d = here.at(&["spec", "kopia", "customCA"]).report(
                    LowerError::CustomCaWithoutKey,
                    "set `customCA.key` to the key of the CA bundle",
                );
                self.diagnostics.push(d);
                None
            }
            Some(ca) => Some(plan::CustomCa {
                config_map_name: ca
                    .config_map_name
                    .clone()
                    .filter(|s| !s.is_empty())
                    .filter(|_| ca.secret_name.as_deref().is_none_or(str::is_empty)),
                secret_name: ca.secret_name.clone().filter(|s| !s.is_empty()),
                key: ca.key.clone(),
            }),
            None => None,
        };
        let mut filesystem =
            repository_pvc
                .filter(|p| !p.is_empty())
                .map(|claim| FilesystemRepository {
                    claim_name: claim.to_owned(),
                    path: Some(REPOSITORY_PVC_PATH.to_owned()),
                });
        // Later VolSync: the first PVC of `moverVolumes` is the repository
        // (its root).
        if filesystem.is_none()
            && let Some(claim) = common.mover_volumes.iter().flatten().find_map(|v| {
                v.volume_source
                    .persistent_volume_claim
                    .as_ref()
                    .map(|c| c.claim_name.clone())
            })
        {
            filesystem = Some(FilesystemRepository {
                claim_name: claim,
                path: Some("/".to_owned()),
            });
        }
        let builder = self.plan(namespace, doc);
        let same = |r: &RepositorySpec| {
            r.secret_name == secret
                && r.filesystem.as_ref().map(|f| (&f.claim_name, &f.path))
                    == filesystem.as_ref().map(|f| (&f.claim_name, &f.path))
                && r.custom_ca
                    .as_ref()
                    .map(|c| (&c.config_map_name, &c.secret_name, &c.key))
                    == custom_ca
                        .as_ref()
                        .map(|c| (&c.config_map_name, &c.secret_name, &c.key))
        };
        if let Some(existing) = builder.plan.spec.repositories.iter_mut().find(|r| same(r)) {
            if creates {
                existing.create = Some(CreatePolicy::IfMissing);
                existing
                    .maintenance
                    .get_or_insert_with(MaintenanceSpec::default)
                    .owner
                    .get_or_insert_with(|| MAINTENANCE_OWNER.to_owned());
            }
            return Some(existing.name.clone());
        }
        let taken =
            |name: &str, b: &PlanBuilder| b.plan.spec.repositories.iter().any(|r| r.name == name);
        let mut name = secret.clone();
        let mut n = 2;
        while taken(&name, builder) {
            name = format!("{secret}-{n}");
            n += 1;
        }
        let index = builder.plan.spec.repositories.len();
        builder.plan.spec.repositories.push(RepositorySpec {
            name: name.clone(),
            secret_name: secret,
            url: None,
            filesystem,
            custom_ca,
            // VolSync's sources create a repository that does not exist yet;
            // kopiaplan does so only when Kopia says it is not initialised.
            create: Some(if creates {
                CreatePolicy::IfMissing
            } else {
                CreatePolicy::Never
            }),
            // Where VolSync's mover connected: decided at run time from the
            // Secret's keys, as VolSync did (GCS, B2 and Azure at the root).
            layout: Some(RepositoryLayout::VolSync),
            credentials: None,
            // Sources' repositories are maintained (daily unless a
            // KopiaMaintenance or maintenanceIntervalDays says otherwise)
            // by the owner VolSync's KopiaMaintenance claims.
            maintenance: creates.then(|| MaintenanceSpec {
                owner: Some(MAINTENANCE_OWNER.to_owned()),
                // VolSync runs full maintenance only.
                quick: Some(crate::plan::MaintenanceRunSpec {
                    enabled: Some(false),
                    ..Default::default()
                }),
                ..MaintenanceSpec::default()
            }),
            creation: None,
            throttle: None,
            replicas: Vec::new(),
            password_change: None,
        });
        let mut p = path(&["spec", "repositories"]);
        p.push(PathSegment::Index(index));
        builder.map(p.clone(), doc, path(&["spec", "kopia", "repository"]));
        let mut ca = p.clone();
        ca.push(key("customCA"));
        builder.map(ca, doc, path(&["spec", "kopia", "customCA"]));
        let mut fs = p;
        fs.push(key("filesystem"));
        builder.map(
            fs,
            doc,
            path(&[
                "spec",
                "kopia",
                if repository_pvc.is_some() {
                    "repositoryPVC"
                } else {
                    "moverVolumes"
                },
            ]),
        );
        Some(name)
    }
}
