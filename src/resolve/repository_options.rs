//! A repository's creation options and throttle, checked against Kopia
//! 0.23.1 and turned into the flags the movers pass: `repository create`
//! and `repository set-parameters` when a backup creates the repository,
//! `repository throttle set` on every run.

use super::error::ResolveError;
use super::{At, PlanResolver};
use crate::diagnostics::nearest;
use crate::model::RepositoryOptions;
use crate::plan::{CreationSpec, ThrottleSpec};

impl PlanResolver<'_, '_> {
    /// The flags of `creation` and `throttle` of the repository at `at`.
    pub(super) fn repository_options(
        &mut self,
        creation: Option<&CreationSpec>,
        throttle: Option<&ThrottleSpec>,
        at: &At<'_>,
    ) -> RepositoryOptions {
        let mut options = RepositoryOptions::default();
        if let Some(creation) = creation {
            let at = at.key("creation");
            let enums = [
                ("hash", "block-hash", &creation.hash, "a Kopia block hash"),
                (
                    "encryption",
                    "encryption",
                    &creation.encryption,
                    "a Kopia encryption",
                ),
                (
                    "splitter",
                    "object-splitter",
                    &creation.splitter,
                    "a Kopia object splitter",
                ),
                ("ecc", "ecc", &creation.ecc, "a Kopia error correction"),
                (
                    "retentionMode",
                    "retention-mode",
                    &creation.retention_mode,
                    "a Kopia retention mode",
                ),
            ];
            for (field, flag, value, expected) in enums {
                let Some(value) = value else { continue };
                if self.kopia_enum("repository create", flag, value, expected, &at.key(field)) {
                    options.create_flags.push(format!("--{flag}={value}"));
                }
            }
            if let Some(percent) = creation.ecc_overhead_percent {
                options
                    .create_flags
                    .push(format!("--ecc-overhead-percent={percent}"));
            }
            if let Some(period) = &creation.retention_period
                && self.kopia_duration(period, &at.key("retentionPeriod"))
            {
                options
                    .create_flags
                    .push(format!("--retention-period={period}"));
            }
            let durations = [
                (
                    "epochMinDuration",
                    "epoch-min-duration",
                    &creation.epoch_min_duration,
                ),
                (
                    "epochRefreshFrequency",
                    "epoch-refresh-frequency",
                    &creation.epoch_refresh_frequency,
                ),
                (
                    "epochCleanupSafetyMargin",
                    "epoch-cleanup-safety-margin",
                    &creation.epoch_cleanup_safety_margin,
                ),
            ];
            for (field, flag, value) in durations {
                if let Some(value) = value
                    && self.kopia_duration(value, &at.key(field))
                {
                    options.parameter_flags.push(format!("--{flag}={value}"));
                }
            }
            for (flag, value) in [
                ("epoch-advance-on-count", creation.epoch_advance_on_count),
                (
                    "epoch-advance-on-size-mb",
                    creation.epoch_advance_on_size_mb,
                ),
            ] {
                if let Some(value) = value {
                    options.parameter_flags.push(format!("--{flag}={value}"));
                }
            }
        }
        if let Some(throttle) = throttle {
            for (flag, value) in [
                ("upload-bytes-per-second", throttle.upload_bytes_per_second),
                (
                    "download-bytes-per-second",
                    throttle.download_bytes_per_second,
                ),
                ("read-requests-per-second", throttle.reads_per_second),
                ("write-requests-per-second", throttle.writes_per_second),
            ] {
                if let Some(value) = value {
                    options.throttle_flags.push(format!("--{flag}={value}"));
                }
            }
        }
        options
    }

    /// Whether `value` is one of the names Kopia's `flag` of `command`
    /// accepts; reports it, with the nearest name, when it is not.
    fn kopia_enum(
        &mut self,
        command: &str,
        flag: &str,
        value: &str,
        expected: &str,
        at: &At<'_>,
    ) -> bool {
        let accepted = crate::kopia::flag_enum(command, flag);
        if accepted.contains(&value) {
            return true;
        }
        let help = match nearest(value, accepted.iter().copied()) {
            Some(near) => format!(
                "did you mean `{near}`? Kopia accepts {}",
                accepted.join(", ")
            ),
            None => format!("Kopia accepts {}", accepted.join(", ")),
        };
        let d = at.error(
            &ResolveError::NotAKopiaValue {
                value: value.to_owned(),
                expected: expected.to_owned(),
            },
            help,
        );
        self.report(d);
        false
    }

    /// Whether `value` is a positive duration Kopia accepts.
    fn kopia_duration(&mut self, value: &str, at: &At<'_>) -> bool {
        if crate::kopia::go_duration_seconds(value).is_some_and(|s| s > 0.0) {
            return true;
        }
        let d = at.error(
            &ResolveError::NotAKopiaValue {
                value: value.to_owned(),
                expected: "a positive duration Kopia accepts".to_owned(),
            },
            "write a Go duration such as `1h`, `720h` or `7d`",
        );
        self.report(d);
        false
    }
}

#[cfg(test)]
mod tests {
    use crate::kopia::args::check;

    /// Every flag the options can produce parses where the movers pass it.
    #[test]
    fn option_flags_are_kopias() {
        let create: Vec<String> = [
            "--block-hash=BLAKE3-256",
            "--encryption=CHACHA20-POLY1305-HMAC-SHA256",
            "--object-splitter=DYNAMIC-4M-BUZHASH",
            "--ecc=REED-SOLOMON-CRC32",
            "--ecc-overhead-percent=2",
            "--retention-mode=GOVERNANCE",
            "--retention-period=720h",
        ]
        .map(str::to_owned)
        .to_vec();
        assert_eq!(check("repository create", &create), vec![]);
        let parameters: Vec<String> = [
            "--epoch-min-duration=1h",
            "--epoch-refresh-frequency=20m",
            "--epoch-cleanup-safety-margin=4h",
            "--epoch-advance-on-count=20",
            "--epoch-advance-on-size-mb=10",
        ]
        .map(str::to_owned)
        .to_vec();
        assert_eq!(check("repository set-parameters", &parameters), vec![]);
        let throttle: Vec<String> = [
            "--upload-bytes-per-second=1000",
            "--download-bytes-per-second=1000",
            "--read-requests-per-second=10",
            "--write-requests-per-second=10",
        ]
        .map(str::to_owned)
        .to_vec();
        assert_eq!(check("repository throttle set", &throttle), vec![]);
    }

    /// The command lines of the maintenance, replica and password-change
    /// movers parse with Kopia 0.23.1's grammar.
    #[test]
    fn the_repository_life_commands_are_kopias() {
        // Kopia's grammar only: `check` also refuses flags a plan may not
        // pass itself (such as `--all`), which the movers do pass.
        let ok = |command: &str, args: &[&str]| {
            let node = crate::kopia::command(command).expect(command);
            for arg in args {
                let name = arg.trim_start_matches("--");
                let name = name.split_once('=').map_or(name, |(n, _)| n);
                assert!(
                    node["flags"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|f| f["name"] == name),
                    "{command} {arg}"
                );
            }
        };
        ok("maintenance run", &["--full", "--safety=full"]);
        ok("maintenance run", &["--safety=full"]);
        ok(
            "maintenance set",
            &["--owner=maintenance@kopiaplan.cluster-a"],
        );
        ok("maintenance info", &[]);
        // `sync-to`'s own flags belong to the parent command (Kopia takes
        // them after the backend too); the backend's to the backend.
        ok("repository sync-to", &["--delete"]);
        ok("repository sync-to filesystem", &["--path=/data"]);
        ok("repository sync-to s3", &["--bucket=b", "--prefix=p/"]);
        ok("repository sync-to b2", &["--bucket=b"]);
        ok("repository sync-to from-config", &["--token-file=/t"]);
        ok(
            "snapshot migrate",
            &[
                "--source-config=/kopiaplan/config/repository.config",
                "--all",
            ],
        );
        ok("repository change-password", &[]);
        ok("repository disconnect", &[]);
        ok("blob stats", &["--raw", "--prefix=x"]);
        ok("snapshot list", &["--all", "--json"]);
        // The new password reaches Kopia through its own variable only.
        let change = crate::kopia::command("repository change-password").expect("command");
        assert_eq!(change["flags"][0]["envar"], "KOPIA_NEW_PASSWORD");
    }
}
