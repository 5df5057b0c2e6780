//! Hot reload of `responses/`: notices changes and rebuilds the index, keeping the last good one
//! when the new data is broken.
//!
//! Changes are noticed by polling a fingerprint of the folder (every file's path, size and
//! modification time): portable, dependency-free, and cheap for a folder of a few dozen files.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::index::Index;
use crate::problem::Problems;
use crate::responses::Responses;

type Fingerprint = Vec<(PathBuf, u64, Option<SystemTime>)>;

/// Every file under `dir`, with size and modification time, sorted.
pub fn fingerprint(dir: &Path) -> Fingerprint {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.is_dir() {
                pending.push(path);
            } else {
                files.push((path, meta.len(), meta.modified().ok()));
            }
        }
    }
    files.sort();
    files
}

/// What a reload found.
#[derive(Debug)]
pub enum Reload {
    /// The data changed and is valid: a new index to swap in.
    Rebuilt(Box<Index>),
    /// The data changed but is broken: keep serving the previous index.
    Rejected(Problems),
}

/// Watches one responses folder.
#[derive(Debug)]
pub struct Watcher {
    dir: PathBuf,
    seen: Fingerprint,
}

impl Watcher {
    /// Starts from the folder as it is now (the index being served was built from it).
    pub fn new(dir: &Path) -> Watcher {
        Watcher {
            dir: dir.to_path_buf(),
            seen: fingerprint(dir),
        }
    }

    /// `None` when nothing changed since the last call (unless `force`).
    pub fn poll(&mut self, force: bool) -> Option<Reload> {
        let now = fingerprint(&self.dir);
        if now == self.seen && !force {
            return None;
        }
        self.seen = now;
        Some(match Responses::load(&self.dir) {
            Ok(responses) => Reload::Rebuilt(Box::new(Index::build(responses))),
            Err(problems) => Reload::Rejected(problems),
        })
    }
}
