//! Repository maintenance settings: the owner (one per repository across
//! plans), triggers, time zone, mover, cache and job settings, and
//! maintenance of repositories no backup of the input writes to (what a
//! VolSync KopiaMaintenance is).

use crate::support;

use serde_json::Value;
use support::{compile_text as compile, env_value, pod_spec};

fn plan(name: &str, maintenance: &str, rest: &str) -> String {
    format!(
        "apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: {name}
  namespace: apps
spec:
  repositories:
    - name: main
      secretName: kopia-config
      url: s3://bucket/prefix
{maintenance}{rest}"
    )
}

fn maintenance_objects(objects: &[Value]) -> Vec<&Value> {
    objects
        .iter()
        .filter(|o| o["metadata"]["labels"]["app.kubernetes.io/component"] == "maintenance")
        .collect()
}

fn kinds(objects: &[&Value]) -> Vec<String> {
    objects
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap_or(""),
                o["metadata"]["name"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn a_repository_with_a_maintenance_block_is_maintained_without_backups() {
    let objects = compile(&plan(
        "p",
        "      maintenance: {schedule: \"0 3 * * *\"}\n",
        "",
    ))
    .expect("compiles");
    let maintenance = maintenance_objects(&objects);
    assert_eq!(
        kinds(&maintenance),
        [
            "ServiceAccount/p-main-maintenance-full",
            "ServiceAccount/p-main-maintenance-quick",
            "CronJob/p-main-maintenance-full",
            "CronJob/p-main-maintenance-quick"
        ]
    );
    // Quick maintenance hourly at a stable minute; full as written.
    let quick = maintenance[3]["spec"]["schedule"].as_str().expect("quick");
    assert!(quick.ends_with(" * * * *"), "{quick}");
    let cron = maintenance[2];
    assert_eq!(cron["metadata"]["namespace"], "apps");
    assert_eq!(cron["spec"]["schedule"], "0 3 * * *");
    // It serves no backup of the input.
    assert!(
        cron["metadata"]["annotations"]
            .get("kopiaplan.dev/serves")
            .is_none()
    );
    let pod = pod_spec(cron);
    assert_eq!(env_value(pod, "KOPIAPLAN_USERNAME"), Some("maintenance"));
    assert_eq!(env_value(pod, "KOPIAPLAN_HOSTNAME"), Some("kopiaplan"));

    // Without a block, a repository nobody writes to gets nothing; with
    // `enabled: false` neither.
    for maintenance in ["", "      maintenance: {enabled: false}\n"] {
        let objects = compile(&plan("p", maintenance, "")).expect("compiles");
        assert!(maintenance_objects(&objects).is_empty(), "{maintenance:?}");
    }
}

#[test]
fn maintenance_without_backups_needs_the_plan_namespace() {
    let text = plan("p", "      maintenance: {}\n", "").replace("  namespace: apps\n", "");
    let error = compile(&text).expect_err("no namespace");
    assert!(error.contains("error[no-namespace]:"), "{error}");
    assert!(
        error.contains("field: spec.repositories[0].maintenance"),
        "{error}"
    );
    assert!(error.contains("metadata.namespace"), "{error}");
}

#[test]
fn the_owner_is_the_identity_maintenance_runs_as() {
    let objects = compile(&plan(
        "p",
        "      maintenance: {owner: admin@backup-host.example}\n",
        "",
    ))
    .expect("compiles");
    let pod = pod_spec(maintenance_objects(&objects)[2]);
    assert_eq!(env_value(pod, "KOPIAPLAN_USERNAME"), Some("admin"));
    assert_eq!(
        env_value(pod, "KOPIAPLAN_HOSTNAME"),
        Some("backup-host.example")
    );

    for owner in ["admin", "@host", "user@", "a@b@c", "us er@host", "-x@host"] {
        let error = compile(&plan(
            "p",
            &format!("      maintenance: {{owner: \"{owner}\"}}\n"),
            "",
        ))
        .expect_err(owner);
        assert!(
            error.contains("field: spec.repositories[0].maintenance.owner"),
            "{owner}: {error}"
        );
        assert!(
            error.contains("error[invalid-identity]:"),
            "{owner}: {error}"
        );
    }
}

#[test]
fn two_plans_may_not_name_different_owners_for_one_repository() {
    let first = plan(
        "alpha",
        "      maintenance: {owner: one@kopiaplan}\n",
        "  backups:\n    - {name: a, pvc: a, copyMethod: Direct}\n",
    );
    let second = plan(
        "beta",
        "      maintenance: {owner: two@kopiaplan}\n",
        "  backups:\n    - {name: b, pvc: b, copyMethod: Direct}\n",
    );
    let error = compile(&format!("{first}---\n{second}")).expect_err("two owners");
    assert!(
        error.contains("error[maintenance-owner-conflict]:"),
        "{error}"
    );
    assert!(error.contains("`one@kopiaplan`"), "{error}");
    assert!(error.contains("`two@kopiaplan`"), "{error}");
    // Both places are named: the repository in each plan document.
    assert!(error.contains("declaration at plan.yaml:8"), "{error}");
    assert!(error.contains("one at plan.yaml:22"), "{error}");
    assert!(
        error.contains("field: spec.repositories[0].maintenance.owner"),
        "{error}"
    );

    // An explicit owner against the default one is also two owners.
    let second = plan(
        "beta",
        "",
        "  backups:\n    - {name: b, pvc: b, copyMethod: Direct}\n",
    );
    let error = compile(&format!("{first}---\n{second}")).expect_err("two owners");
    assert!(
        error.contains("error[maintenance-owner-conflict]:"),
        "{error}"
    );
    assert!(error.contains("`maintenance@kopiaplan`"), "{error}");

    // The same owner twice is one owner: one job serves both plans.
    let second = plan(
        "beta",
        "      maintenance: {owner: one@kopiaplan}\n",
        "  backups:\n    - {name: b, pvc: b, copyMethod: Direct}\n",
    );
    let objects = compile(&format!("{first}---\n{second}")).expect("compiles");
    let crons: Vec<&Value> = maintenance_objects(&objects)
        .into_iter()
        .filter(|o| o["kind"] == "CronJob")
        .collect();
    // One quick and one full job for the repository.
    assert_eq!(crons.len(), 2);
    assert_eq!(
        crons[0]["metadata"]["annotations"]["kopiaplan.dev/serves"],
        "apps/a,apps/b"
    );
}

#[test]
fn a_manual_trigger_is_a_job_per_token_and_on_demand_a_suspended_cron_job() {
    let objects = compile(&plan(
        "p",
        "      maintenance: {trigger: {manual: \"2026-01-01\"}}\n",
        "",
    ))
    .expect("compiles");
    let maintenance = maintenance_objects(&objects);
    let job = maintenance
        .iter()
        .find(|o| o["kind"] == "Job")
        .expect("a Job");
    let name = job["metadata"]["name"].as_str().expect("name");
    assert!(name.starts_with("p-main-maintenance-"), "{name}");
    assert_eq!(
        job["metadata"]["annotations"]["kopiaplan.dev/trigger"],
        "2026-01-01"
    );
    assert!(!maintenance.iter().any(|o| o["kind"] == "CronJob"));
    let other = compile(&plan(
        "p",
        "      maintenance: {trigger: {manual: \"2026-01-02\"}}\n",
        "",
    ))
    .expect("compiles");
    let other_name = maintenance_objects(&other)
        .iter()
        .find(|o| o["kind"] == "Job")
        .and_then(|o| o["metadata"]["name"].as_str())
        .expect("a Job")
        .to_owned();
    assert_ne!(name, other_name, "a new token runs again");

    let objects = compile(&plan(
        "p",
        "      maintenance: {trigger: {onDemand: true}}\n",
        "",
    ))
    .expect("compiles");
    let cron = maintenance_objects(&objects)
        .into_iter()
        .find(|o| o["kind"] == "CronJob")
        .expect("a CronJob");
    assert_eq!(cron["spec"]["suspend"], true);

    let objects = compile(&plan(
        "p",
        "      maintenance: {trigger: {schedule: \"30 1 * * *\"}, timeZone: Europe/Berlin}\n",
        "",
    ))
    .expect("compiles");
    let cron = maintenance_objects(&objects)
        .into_iter()
        .find(|o| o["kind"] == "CronJob")
        .expect("a CronJob");
    assert_eq!(cron["spec"]["schedule"], "30 1 * * *");
    assert_eq!(cron["spec"]["timeZone"], "Europe/Berlin");

    let error = compile(&plan(
        "p",
        "      maintenance: {schedule: \"0 1 * * *\", trigger: {onDemand: true}}\n",
        "",
    ))
    .expect_err("both");
    assert!(
        error.contains("field: spec.repositories[0].maintenance.schedule"),
        "{error}"
    );
    let error = compile(&plan(
        "p",
        "      maintenance: {timeZone: Mars/Olympus}\n",
        "",
    ))
    .expect_err("bad zone");
    assert!(
        error.contains("field: spec.repositories[0].maintenance.timeZone"),
        "{error}"
    );
}

#[test]
fn mover_cache_and_job_settings_apply_to_the_maintenance_pod() {
    let objects = compile(&plan(
        "p",
        "      maintenance:
        mover:
          nodeSelector: {pool: backup}
          resources: {limits: {memory: 1Gi}}
          volumes:
            - {mountPath: repo-ca, volumeSource: {secret: {secretName: ca}}}
        cache: {capacity: 4Gi, persistent: true, contentSizeLimitMB: 2000}
        jobs: {activeDeadlineSeconds: 10800, failedJobsHistoryLimit: 1}
",
        "  defaults:\n    mover: {nodeSelector: {pool: default}}\n",
    ))
    .expect("compiles");
    let maintenance = maintenance_objects(&objects);
    assert_eq!(
        kinds(&maintenance),
        [
            "ServiceAccount/p-main-maintenance-full",
            "ServiceAccount/p-main-maintenance-quick",
            "PersistentVolumeClaim/p-main-maintenance-full-cache",
            "PersistentVolumeClaim/p-main-maintenance-quick-cache",
            "CronJob/p-main-maintenance-full",
            "CronJob/p-main-maintenance-quick"
        ]
    );
    let cron = maintenance[4];
    assert_eq!(cron["spec"]["failedJobsHistoryLimit"], 1);
    assert_eq!(
        cron["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"],
        10800
    );
    let pod = pod_spec(cron);
    assert_eq!(pod["nodeSelector"]["pool"], "backup");
    assert_eq!(pod["containers"][0]["resources"]["limits"]["memory"], "1Gi");
    assert!(
        pod["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .any(|v| v["name"] == "mnt-repo-ca" && v["secret"]["secretName"] == "ca")
    );
    assert_eq!(env_value(pod, "KOPIAPLAN_CONTENT_CACHE_MB"), Some("2000"));

    let error = compile(&plan(
        "p",
        "      maintenance: {cache: {capacity: 10Mi}}\n",
        "",
    ))
    .expect_err("too small");
    assert!(
        error.contains("field: spec.repositories[0].maintenance.cache.capacity"),
        "{error}"
    );
    let error = compile(&plan(
        "p",
        "      maintenance: {jobs: {activeDeadlineSeconds: 5}}\n",
        "",
    ))
    .expect_err("too short");
    assert!(
        error.contains("field: spec.repositories[0].maintenance.jobs.activeDeadlineSeconds"),
        "{error}"
    );
}

#[test]
fn a_maintenance_only_repository_joins_the_maintenance_of_backups_elsewhere() {
    // Plan `alpha` only maintains the repository; plan `beta` writes to it.
    let first = plan(
        "alpha",
        "      maintenance: {schedule: \"0 4 * * *\"}\n",
        "",
    );
    let second = plan(
        "beta",
        "      maintenance: {schedule: \"0 4 * * *\"}\n",
        "  backups:\n    - {name: b, pvc: b, copyMethod: Direct}\n",
    );
    let objects = compile(&format!("{first}---\n{second}")).expect("compiles");
    let crons: Vec<&Value> = maintenance_objects(&objects)
        .into_iter()
        .filter(|o| o["kind"] == "CronJob")
        .collect();
    assert_eq!(crons.len(), 2);
    assert_eq!(crons[0]["metadata"]["name"], "alpha-main-maintenance-full");
    assert_eq!(crons[1]["metadata"]["name"], "alpha-main-maintenance-quick");
    assert_eq!(
        crons[0]["metadata"]["annotations"]["kopiaplan.dev/serves"],
        "apps/b"
    );
}

/// `s3://bucket/prefix` and `s3://bucket//prefix/` are one repository: one
/// maintenance job serves both plans, two owners for it are a conflict,
/// and two backups writing one Kopia source to it collide.
#[test]
fn urls_that_differ_only_in_slashes_are_one_repository() {
    let first = plan(
        "alpha",
        "",
        "  backups:\n    - {name: a, pvc: a, copyMethod: Direct}\n",
    );
    for spelling in [
        "s3://bucket/prefix/",
        "s3://bucket//prefix",
        "s3://bucket/prefix//",
    ] {
        let second = plan(
            "beta",
            "",
            "  backups:\n    - {name: b, pvc: b, copyMethod: Direct}\n",
        )
        .replace("url: s3://bucket/prefix", &format!("url: {spelling}"));
        let objects = compile(&format!("{first}---\n{second}")).expect("compiles");
        let crons: Vec<&Value> = maintenance_objects(&objects)
            .into_iter()
            .filter(|o| o["kind"] == "CronJob")
            .collect();
        assert_eq!(crons.len(), 2, "{spelling}: one quick and one full job");
        assert_eq!(
            crons[0]["metadata"]["annotations"]["kopiaplan.dev/serves"], "apps/a,apps/b",
            "{spelling}"
        );

        let owner = second.replace(
            "      url: ",
            "      maintenance: {owner: two@kopiaplan}\n      url: ",
        );
        let error = compile(&format!("{first}---\n{owner}")).expect_err("two owners");
        assert!(
            error.contains("error[maintenance-owner-conflict]:"),
            "{spelling}: {error}"
        );

        let same_source = second.replace(
            "{name: b, pvc: b, copyMethod: Direct}",
            "{name: b, pvc: b, copyMethod: Direct, username: a, hostname: apps}",
        );
        let error = compile(&format!("{first}---\n{same_source}")).expect_err("one source");
        assert!(
            error.contains("error[source-collision]:"),
            "{spelling}: {error}"
        );
    }
    // Another prefix is another repository.
    let other = plan(
        "beta",
        "",
        "  backups:\n    - {name: b, pvc: b, copyMethod: Direct}\n",
    )
    .replace("url: s3://bucket/prefix", "url: s3://bucket/prefix-2");
    let objects = compile(&format!("{first}---\n{other}")).expect("compiles");
    let crons = maintenance_objects(&objects)
        .into_iter()
        .filter(|o| o["kind"] == "CronJob")
        .count();
    // Quick and full for each of the two repositories.
    assert_eq!(crons, 4);
}

/// Two plans in one namespace with one backup each on `repository`.
fn two_plans(first: &str, second: &str) -> String {
    let one = |name: &str, repository: &str| {
        format!(
            "apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata: {{name: {name}, namespace: apps}}
spec:
  repositories:
    - {{name: main, secretName: kopia-config, {repository}}}
  backups:
    - {{name: {name}-data, pvc: {name}-data, copyMethod: Direct}}
"
        )
    };
    format!("{}---\n{}", one("one", first), one("two", second))
}

#[test]
fn the_layout_decides_whether_two_declarations_are_one_repository() {
    // Full maintenance jobs: one per repository.
    let maintained = |text: &str| {
        let objects = compile(text).expect("compiles");
        objects
            .iter()
            .filter(|o| {
                o["kind"] == "CronJob"
                    && o["metadata"]["labels"]["app.kubernetes.io/component"] == "maintenance"
                    && o["metadata"]["name"]
                        .as_str()
                        .is_some_and(|n| n.ends_with("-full"))
            })
            .count()
    };
    // VolSync's layout keeps a GCS repository at the bucket's root: the
    // URL's path is not part of where it is.
    assert_eq!(
        maintained(&two_plans(
            "url: gcs://bucket/team-a, layout: VolSync",
            "url: gcs://bucket, layout: VolSync"
        )),
        1
    );
    // The URL's layout makes the path a prefix: two repositories.
    assert_eq!(
        maintained(&two_plans("url: gcs://bucket/team-a", "url: gcs://bucket")),
        2
    );
    // A URL only the Secret holds may land in two places under the two
    // layouts: each is maintained.
    assert_eq!(maintained(&two_plans("layout: VolSync", "layout: Url")), 2);
    assert_eq!(maintained(&two_plans("layout: Url", "layout: Url")), 1);
}
