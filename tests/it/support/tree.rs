//! A directory tree as a restore must reproduce it: contents, modes,
//! mtimes and symlink targets, by relative path.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What a restore must reproduce of one entry of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    File {
        content: Vec<u8>,
        mode: u32,
        mtime: (i64, i64),
    },
    /// Kopia restores a directory's mtime as the newest mtime inside it
    /// (repofs.go: `DirSummary.MaxModTime`), not as it was: only its mode
    /// is the original's.
    Directory {
        mode: u32,
    },
    Symlink {
        target: PathBuf,
    },
}

/// Every entry below `root` (not `root` itself), by relative path.
pub fn tree(root: &Path) -> BTreeMap<PathBuf, Node> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Node>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for path in entries {
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            let relative = path.strip_prefix(root).expect("below root").to_path_buf();
            let mode = meta.permissions().mode() & 0o7777;
            let mtime = (meta.mtime(), meta.mtime_nsec());
            let node = if meta.file_type().is_symlink() {
                Node::Symlink {
                    target: std::fs::read_link(&path).expect("link"),
                }
            } else if meta.is_dir() {
                walk(root, &path, out);
                Node::Directory { mode }
            } else {
                Node::File {
                    content: std::fs::read(&path).expect("read"),
                    mode,
                    mtime,
                }
            };
            out.insert(relative, node);
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Writes a file with its mode and mtime (`mtime` seconds and a fixed
/// fraction, so that nanoseconds are compared too), making its directory.
pub fn write(path: &Path, content: &[u8], mode: u32, mtime: u64) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, content).expect("write");
    super::pod::chmod_path(path, mode);
    std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open")
        .set_modified(SystemTime::UNIX_EPOCH + Duration::new(mtime, 123_456_789))
        .expect("set mtime");
}

/// The application wrote its volume as the mover's user (65532): a
/// read-only source is not given the pod's fsGroup, so that is what lets
/// the non-root mover read a 0600 file.
pub fn owned_by_the_application(dir: &Path) {
    for path in std::iter::once(dir.to_path_buf()).chain(tree(dir).into_keys().map(|p| dir.join(p)))
    {
        std::os::unix::fs::lchown(&path, Some(65532), Some(65532)).expect("chown");
    }
}
