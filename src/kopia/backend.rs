//! Kopia's storage backends as data: each URL scheme, how the URL becomes
//! the storage flags of `kopia repository connect|create <backend>`, and
//! the repository Secret keys the backend reads. The compiler computes the
//! flags when the plan names the URL; templates/common.sh applies the same
//! rules at run time to a URL that only the Secret knows (`KOPIA_REPOSITORY`,
//! as VolSync repositories have it), and then the Secret's overrides.

/// How the part of a URL after `scheme://` becomes storage flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlLayout {
    /// `bucket/some/prefix`: `--bucket` (Azure: `--container`) and
    /// `--prefix`, a directory: no leading or doubled slashes, one trailing.
    BucketAndPrefix { bucket_flag: &'static str },
    /// `host/path`, served over HTTPS: `--url=https://host/path`.
    HttpsUrl,
    /// `user@host:port/path`: `--host`, `--username`, `--path`, `--port`.
    Sftp,
    /// `remote:path`, as rclone writes it: `--remote-path`.
    RemotePath,
    /// `FOLDER_ID`: `--folder-id`.
    FolderId,
    /// `/path`: `--path`.
    Path,
}

/// One storage backend kopiaplan supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backend {
    /// The URL scheme, also Kopia's name for the backend.
    pub scheme: &'static str,
    pub url: UrlLayout,
    /// Repository Secret keys the mover reads for this backend: Kopia's and
    /// the cloud SDKs' own variables, and VolSync's names for them. They
    /// reach the mover through `envFrom`; none of them runs a command.
    pub secret_keys: &'static [&'static str],
    /// The Secret keys of this backend that Kopia reads as files (a subset
    /// of [`CREDENTIAL_FILES`]): what a replica mounts of its destination's
    /// Secret.
    pub credential_files: &'static [CredentialFile],
}

/// A Secret key whose content Kopia needs as a file: (key, file name in
/// the credentials volume).
pub type CredentialFile = (&'static str, &'static str);

const GCS_CREDENTIALS: CredentialFile = ("GOOGLE_APPLICATION_CREDENTIALS", "gcs.json");
const GDRIVE_CREDENTIALS: CredentialFile = ("GOOGLE_DRIVE_CREDENTIALS", "gdrive.json");
const SFTP_KEY: CredentialFile = ("SFTP_KEY_FILE", "sftp_key");
const SFTP_KNOWN_HOSTS: CredentialFile = ("SFTP_KNOWN_HOSTS", "known_hosts");
const SFTP_KNOWN_HOSTS_DATA: CredentialFile = ("SFTP_KNOWN_HOSTS_DATA", "known_hosts_data");
const RCLONE_CONFIG: CredentialFile = ("RCLONE_CONFIG", "rclone.conf");

/// Every backend, in the order error messages list them.
pub const BACKENDS: [Backend; 9] = [
    Backend {
        scheme: "s3",
        url: UrlLayout::BucketAndPrefix {
            bucket_flag: "--bucket",
        },
        secret_keys: &[
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_DEFAULT_REGION",
            "AWS_REGION",
            "AWS_PROFILE",
            "AWS_S3_ENDPOINT",
            "AWS_S3_DISABLE_TLS",
            "KOPIA_S3_BUCKET",
            "KOPIA_S3_ENDPOINT",
            "KOPIA_S3_REGION",
            "KOPIA_S3_DISABLE_TLS",
        ],
        credential_files: &[],
    },
    Backend {
        scheme: "gcs",
        url: UrlLayout::BucketAndPrefix {
            bucket_flag: "--bucket",
        },
        secret_keys: &["GOOGLE_PROJECT_ID", "KOPIA_GCS_BUCKET", "GCS_BUCKET"],
        credential_files: &[GCS_CREDENTIALS],
    },
    Backend {
        scheme: "azure",
        url: UrlLayout::BucketAndPrefix {
            bucket_flag: "--container",
        },
        secret_keys: &[
            "AZURE_ACCOUNT_NAME",
            "AZURE_ACCOUNT_KEY",
            "AZURE_ACCOUNT_SAS",
            "AZURE_ENDPOINT_SUFFIX",
            "AZURE_STORAGE_ACCOUNT",
            "AZURE_STORAGE_KEY",
            "AZURE_STORAGE_SAS_TOKEN",
            "KOPIA_AZURE_CONTAINER",
            "KOPIA_AZURE_STORAGE_ACCOUNT",
            "KOPIA_AZURE_STORAGE_KEY",
        ],
        credential_files: &[],
    },
    Backend {
        scheme: "b2",
        url: UrlLayout::BucketAndPrefix {
            bucket_flag: "--bucket",
        },
        secret_keys: &[
            "B2_KEY_ID",
            "B2_KEY",
            "B2_ACCOUNT_ID",
            "B2_APPLICATION_KEY",
            "KOPIA_B2_BUCKET",
        ],
        credential_files: &[],
    },
    Backend {
        scheme: "webdav",
        url: UrlLayout::HttpsUrl,
        secret_keys: &[
            "WEBDAV_URL",
            "WEBDAV_USERNAME",
            "WEBDAV_PASSWORD",
            "KOPIA_WEBDAV_USERNAME",
            "KOPIA_WEBDAV_PASSWORD",
        ],
        credential_files: &[],
    },
    Backend {
        scheme: "sftp",
        url: UrlLayout::Sftp,
        secret_keys: &[
            "SFTP_HOST",
            "SFTP_PORT",
            "SFTP_USERNAME",
            "SFTP_PASSWORD",
            "SFTP_PATH",
        ],
        credential_files: &[SFTP_KEY, SFTP_KNOWN_HOSTS, SFTP_KNOWN_HOSTS_DATA],
    },
    Backend {
        scheme: "rclone",
        url: UrlLayout::RemotePath,
        secret_keys: &["RCLONE_REMOTE_PATH", "RCLONE_EXE"],
        credential_files: &[RCLONE_CONFIG],
    },
    Backend {
        scheme: "gdrive",
        url: UrlLayout::FolderId,
        secret_keys: &["GOOGLE_DRIVE_FOLDER_ID"],
        credential_files: &[GDRIVE_CREDENTIALS],
    },
    Backend {
        scheme: "filesystem",
        url: UrlLayout::Path,
        secret_keys: &[],
        credential_files: &[],
    },
];

/// Secret keys every backend may use: where the repository is, and a
/// manual Kopia configuration (VolSync's `KOPIA_MANUAL_CONFIG`).
pub const COMMON_SECRET_KEYS: &[&str] = &["KOPIA_REPOSITORY", "KOPIA_MANUAL_CONFIG"];

/// Every Secret key whose content Kopia needs as a file, of every backend:
/// what the repository's credentials volume mounts (its backend may be
/// known only at run time).
pub const CREDENTIAL_FILES: &[CredentialFile] = &[
    GCS_CREDENTIALS,
    GDRIVE_CREDENTIALS,
    SFTP_KEY,
    SFTP_KNOWN_HOSTS,
    SFTP_KNOWN_HOSTS_DATA,
    RCLONE_CONFIG,
];

/// The URL schemes, in the order of [`BACKENDS`].
pub const SCHEMES: [&str; BACKENDS.len()] = {
    let mut schemes = [""; BACKENDS.len()];
    let mut index = 0;
    while index < BACKENDS.len() {
        schemes[index] = BACKENDS[index].scheme;
        index += 1;
    }
    schemes
};

/// Every key of the repository Secret a mover reads, once each.
pub fn secret_keys() -> Vec<&'static str> {
    let mut keys: Vec<&str> = COMMON_SECRET_KEYS.to_vec();
    for key in BACKENDS.iter().flat_map(|backend| backend.secret_keys) {
        if !keys.contains(key) {
            keys.push(key);
        }
    }
    keys
}

/// The backend of a URL, by its scheme.
pub fn backend(url: &str) -> Option<&'static Backend> {
    let scheme = url.split_once(':')?.0;
    BACKENDS.iter().find(|backend| backend.scheme == scheme)
}

/// The storage flags a repository URL gives, before the Secret's keys
/// override any of them: the flags templates/common.sh's
/// `url_storage_flags` computes at run time, in the same order. `None` for
/// a URL kopiaplan does not know, or one whose flags would hold a line
/// break (the mover reads them one per line).
pub fn storage_flags(url: &str) -> Option<Vec<String>> {
    let backend = backend(url)?;
    let rest = url.split_once(':')?.1;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let mut flags = Vec::new();
    match backend.url {
        UrlLayout::BucketAndPrefix { bucket_flag } => {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if !bucket.is_empty() {
                flags.push(format!("{bucket_flag}={bucket}"));
            }
            let prefix = normalize_prefix(prefix);
            if !prefix.is_empty() {
                flags.push(format!("--prefix={prefix}"));
            }
        }
        UrlLayout::HttpsUrl => {
            if !rest.is_empty() {
                flags.push(format!("--url=https://{rest}"));
            }
        }
        UrlLayout::Sftp => {
            let (mut authority, path) = match rest.split_once('/') {
                Some((authority, path)) => (authority, format!("/{path}")),
                None => (rest, String::new()),
            };
            let mut user = "";
            if let Some((before, after)) = authority.split_once('@') {
                user = before;
                authority = after;
            }
            let mut port = "";
            if let Some((before, after)) = authority.rsplit_once(':') {
                port = after;
                authority = before;
            }
            for (flag, value) in [
                ("--host", authority),
                ("--username", user),
                ("--path", &path),
                ("--port", port),
            ] {
                if !value.is_empty() {
                    flags.push(format!("{flag}={value}"));
                }
            }
        }
        UrlLayout::RemotePath => {
            if !rest.is_empty() {
                flags.push(format!("--remote-path={rest}"));
            }
        }
        UrlLayout::FolderId => {
            let folder = rest.split('/').next().unwrap_or_default();
            if !folder.is_empty() {
                flags.push(format!("--folder-id={folder}"));
            }
        }
        UrlLayout::Path => {
            if !rest.is_empty() {
                flags.push(format!(
                    "--path=/{}",
                    rest.strip_prefix('/').unwrap_or(rest)
                ));
            }
        }
    }
    (!flags.iter().any(|flag| flag.contains(['\n', '\r']))).then_some(flags)
}

/// How VolSync's Kopia mover chose the backend: the first of these that
/// matches, a Secret key that is set or the scheme of `KOPIA_REPOSITORY`
/// (reference/volsync-kopia/mover-script.md §2). templates/common.sh's
/// `volsync_backend` applies the same order at run time.
pub const VOLSYNC_BACKEND_ORDER: [(&str, VolSyncTrigger); 9] = [
    ("s3", VolSyncTrigger::KeyOrScheme("KOPIA_S3_BUCKET")),
    ("azure", VolSyncTrigger::Key("KOPIA_AZURE_CONTAINER")),
    ("gcs", VolSyncTrigger::Key("KOPIA_GCS_BUCKET")),
    ("filesystem", VolSyncTrigger::Scheme),
    ("b2", VolSyncTrigger::Key("KOPIA_B2_BUCKET")),
    ("webdav", VolSyncTrigger::Key("WEBDAV_URL")),
    ("sftp", VolSyncTrigger::Key("SFTP_HOST")),
    ("rclone", VolSyncTrigger::Key("RCLONE_REMOTE_PATH")),
    ("gdrive", VolSyncTrigger::Key("GOOGLE_DRIVE_FOLDER_ID")),
];

/// What made VolSync's mover pick a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolSyncTrigger {
    /// This Secret key, set.
    Key(&'static str),
    /// This Secret key, set, or `KOPIA_REPOSITORY` of this scheme.
    KeyOrScheme(&'static str),
    /// `KOPIA_REPOSITORY` of this scheme.
    Scheme,
}

/// The backend VolSync's mover connected with, given the repository URL
/// and which Secret keys are set; `None` where VolSync found none (it
/// failed, so no VolSync repository exists there).
pub fn volsync_backend(url: &str, has_key: impl Fn(&str) -> bool) -> Option<&'static str> {
    let scheme = url.split_once(':').map(|(s, _)| s);
    VOLSYNC_BACKEND_ORDER
        .iter()
        .find(|(backend, trigger)| match trigger {
            VolSyncTrigger::Key(key) => has_key(key),
            VolSyncTrigger::KeyOrScheme(key) => has_key(key) || scheme == Some(*backend),
            VolSyncTrigger::Scheme => scheme == Some(*backend),
        })
        .map(|(backend, _)| *backend)
}

/// The backends whose URL path VolSync's mover never turned into a prefix:
/// it connected at the root of the bucket (Azure: container).
pub const VOLSYNC_AT_THE_ROOT: [&str; 3] = ["gcs", "azure", "b2"];

/// For a URL of a backend VolSync kept at the root, with a path: the
/// bucket and the path that VolSync's layout ignores (without slashes
/// around it).
pub fn volsync_ignored_path(url: &str) -> Option<(String, String)> {
    let backend = backend(url)?;
    if !VOLSYNC_AT_THE_ROOT.contains(&backend.scheme) {
        return None;
    }
    let rest = url.split_once(':')?.1;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (bucket, path) = rest.split_once('/')?;
    let path = normalize_prefix(path);
    let path = path.strip_suffix('/')?;
    Some((bucket.to_owned(), path.to_owned()))
}

/// S3-style prefixes are directories: no leading or doubled slashes, one
/// trailing slash; empty stays empty.
/// A repository URL in one spelling per location, for telling whether two
/// URLs name the same repository: doubled slashes collapsed and a trailing
/// slash dropped after the scheme, so `s3://b/p`, `s3://b//p/` and
/// `s3://b/p/` are one repository. (The bucket, prefix and path are what
/// Kopia connects to; an endpoint only the Secret knows cannot be compared
/// at compile time.)
pub fn normalise_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let rest = normalise_path(rest);
    match scheme {
        Some(scheme) => format!("{}://{rest}", scheme.to_ascii_lowercase()),
        None => rest,
    }
}

/// A path with doubled slashes collapsed and no trailing slash (`/` stays).
pub fn normalise_path(path: &str) -> String {
    let mut normal = String::with_capacity(path.len());
    for c in path.chars() {
        if c == '/' && normal.ends_with('/') {
            continue;
        }
        normal.push(c);
    }
    if normal.len() > 1 && normal.ends_with('/') {
        normal.pop();
    }
    normal
}

fn normalize_prefix(prefix: &str) -> String {
    let mut prefix = prefix.to_owned();
    while prefix.contains("//") {
        prefix = prefix.replace("//", "/");
    }
    let prefix = prefix.strip_prefix('/').unwrap_or(&prefix);
    let prefix = prefix.strip_suffix('/').unwrap_or(prefix);
    if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_spelling_per_location() {
        use super::{normalise_path, normalise_url};
        for (a, b) in [
            ("s3://b/p", "s3://b/p/"),
            ("s3://b/p", "s3://b//p"),
            ("S3://b/p", "s3://b/p///"),
            ("gcs://bucket", "gcs://bucket/"),
            ("webdav://host/dav//x/", "webdav://host/dav/x"),
        ] {
            assert_eq!(normalise_url(a), normalise_url(b), "{a} and {b}");
        }
        assert_ne!(normalise_url("s3://b/p"), normalise_url("s3://b/q"));
        assert_ne!(normalise_url("s3://b/p"), normalise_url("s3://c/p"));
        assert_eq!(normalise_path("/"), "/");
        assert_eq!(normalise_path("//repo//x/"), "/repo/x");
    }

    use super::*;

    fn flags(url: &str) -> Vec<String> {
        storage_flags(url).unwrap_or_else(|| panic!("{url} has no flags"))
    }

    #[test]
    fn object_stores_take_a_bucket_and_a_directory_prefix() {
        assert_eq!(
            flags("s3://acme-backups/kopia"),
            ["--bucket=acme-backups", "--prefix=kopia/"]
        );
        assert_eq!(
            flags("s3://backups//shop///x/"),
            ["--bucket=backups", "--prefix=shop/x/"]
        );
        assert_eq!(flags("gcs://bucket"), ["--bucket=bucket"]);
        assert_eq!(
            flags("azure://container/p"),
            ["--container=container", "--prefix=p/"]
        );
        assert!(flags("b2://").is_empty());
    }

    #[test]
    fn the_other_backends() {
        assert_eq!(
            flags("webdav://dav.example/kopia"),
            ["--url=https://dav.example/kopia"]
        );
        assert_eq!(
            flags("sftp://backup@sftp.example:2222/srv/kopia"),
            [
                "--host=sftp.example",
                "--username=backup",
                "--path=/srv/kopia",
                "--port=2222"
            ]
        );
        assert_eq!(flags("sftp://host"), ["--host=host"]);
        // The user ends at the first `@`, the port begins after the last `:`.
        assert_eq!(
            flags("sftp://a@b@host:1:22/x"),
            ["--host=b@host:1", "--username=a", "--path=/x", "--port=22"]
        );
        assert_eq!(
            flags("rclone://remote:path/x"),
            ["--remote-path=remote:path/x"]
        );
        assert_eq!(flags("gdrive://FOLDER/ignored"), ["--folder-id=FOLDER"]);
        assert_eq!(flags("filesystem:///mnt/nas"), ["--path=/mnt/nas"]);
        assert_eq!(storage_flags("ftp://x"), None);
        assert_eq!(storage_flags("filesystem:///a\nb"), None);
    }

    /// Every flag a URL gives is one Kopia's `repository connect|create
    /// <backend>` takes (the vendored grammar).
    #[test]
    fn the_flags_exist_in_kopias_grammar() {
        let sample = |scheme: &str| match scheme {
            "sftp" => "sftp://user@host:22/path".to_owned(),
            "filesystem" => "filesystem:///path".to_owned(),
            other => format!("{other}://bucket/prefix"),
        };
        for backend in BACKENDS {
            let flags = flags(&sample(backend.scheme));
            assert!(!flags.is_empty(), "{}", backend.scheme);
            for verb in ["connect", "create"] {
                let path = format!("repository {verb} {}", backend.scheme);
                let known: Vec<&str> = crate::kopia::command(&path)
                    .and_then(|c| c.get("flags")?.as_array())
                    .unwrap_or_else(|| panic!("{path} is not in the grammar"))
                    .iter()
                    .filter_map(|f| f.get("name")?.as_str())
                    .collect();
                for flag in &flags {
                    let name = flag.trim_start_matches('-').split('=').next().unwrap_or("");
                    assert!(known.contains(&name), "{path} has no --{name}");
                }
            }
        }
    }

    #[test]
    fn volsyncs_layout_chooses_by_keys_and_keeps_gcs_b2_azure_at_the_root() {
        let none = |_: &str| false;
        assert_eq!(volsync_backend("s3://b/p", none), Some("s3"));
        assert_eq!(volsync_backend("filesystem:///r", none), Some("filesystem"));
        // Without its key, VolSync's mover found no GCS backend at all.
        assert_eq!(volsync_backend("gcs://b/p", none), None);
        assert_eq!(
            volsync_backend("gcs://b/p", |k| k == "KOPIA_GCS_BUCKET"),
            Some("gcs")
        );
        // First match wins: an S3 URL beats a GCS key.
        assert_eq!(
            volsync_backend("s3://b", |k| k == "KOPIA_GCS_BUCKET"),
            Some("s3")
        );
        assert_eq!(
            volsync_ignored_path("gcs://bucket/backups"),
            Some(("bucket".into(), "backups".into()))
        );
        assert_eq!(
            volsync_ignored_path("b2://bucket//a/b/"),
            Some(("bucket".into(), "a/b".into()))
        );
        assert_eq!(
            volsync_ignored_path("azure://container/x"),
            Some(("container".into(), "x".into()))
        );
        assert_eq!(volsync_ignored_path("gcs://bucket/"), None);
        assert_eq!(volsync_ignored_path("s3://bucket/p"), None);
    }

    /// templates/common.sh's `volsync_backend` tests VolSync's keys in the
    /// order of [`VOLSYNC_BACKEND_ORDER`].
    #[test]
    fn the_mover_chooses_in_volsyncs_order() {
        let script = include_str!("../../templates/common.sh");
        let body = script
            .split("volsync_backend() {")
            .nth(1)
            .expect("common.sh has volsync_backend");
        let body = body.split("\n}\n").next().unwrap_or(body);
        let mut from = 0;
        for (backend, trigger) in VOLSYNC_BACKEND_ORDER {
            let needle = match trigger {
                VolSyncTrigger::Key(key) | VolSyncTrigger::KeyOrScheme(key) => key,
                VolSyncTrigger::Scheme => backend,
            };
            let at = body[from..]
                .find(needle)
                .unwrap_or_else(|| panic!("{needle} missing or out of order in volsync_backend"));
            from += at + needle.len();
        }
    }

    #[test]
    fn the_schemes_and_keys_come_from_the_backends() {
        assert_eq!(SCHEMES[0], "s3");
        assert_eq!(SCHEMES.len(), BACKENDS.len());
        let keys = secret_keys();
        assert!(keys.contains(&"KOPIA_REPOSITORY"));
        assert!(keys.contains(&"SFTP_PASSWORD"));
        let mut unique = keys.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), keys.len());
        // A credential file never also arrives as a variable the scripts read.
        for (key, _) in CREDENTIAL_FILES {
            assert!(!keys.contains(key), "{key}");
        }
    }

    /// What a replica mounts of its destination's Secret is its backend's
    /// share of the files the repository's credentials volume mounts: each
    /// file belongs to one backend.
    #[test]
    fn every_credential_file_belongs_to_one_backend() {
        let mut owned: Vec<CredentialFile> = BACKENDS
            .iter()
            .flat_map(|backend| backend.credential_files.iter().copied())
            .collect();
        owned.sort_unstable();
        let mut all = CREDENTIAL_FILES.to_vec();
        all.sort_unstable();
        assert_eq!(owned, all);
        let sftp = backend("sftp://u@h/p").map(|b| b.credential_files);
        assert_eq!(
            sftp.map(|files| files.iter().map(|(_, file)| *file).collect::<Vec<_>>()),
            Some(vec!["sftp_key", "known_hosts", "known_hosts_data"])
        );
        assert_eq!(backend("s3://b").map(|b| b.credential_files.len()), Some(0));
    }
}
