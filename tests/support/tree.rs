//! A directory tree as a restore must reproduce it: contents, modes,
//! mtimes and symlink targets, by relative path.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

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
