//! Nothing half-written: outputs are built under a temporary sibling and renamed into place.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The parent folder of `path` ("." for a bare name), created if absent.
fn parent_of(path: &Path) -> Result<PathBuf> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).with_context(|| format!("cannot create folder {}", parent.display()))?;
    Ok(parent)
}

/// `contents` in a synced temporary file in `path`'s folder, ready to be renamed onto `path`.
fn written_beside(path: &Path, contents: &[u8]) -> Result<tempfile::NamedTempFile> {
    let parent = parent_of(path)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".mimamori-")
        .tempfile_in(&parent)
        .with_context(|| format!("cannot write in {}", parent.display()))?;
    tmp.write_all(contents)
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(tmp)
}

/// Writes `contents` to `path` through a temporary file in the same folder; refuses to replace
/// an existing file.
pub fn write_new_file(path: &Path, contents: &[u8]) -> Result<()> {
    written_beside(path, contents)?.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!("{} already exists; it is never overwritten", path.display())
        } else {
            anyhow::anyhow!("cannot write {}: {}", path.display(), e.error)
        }
    })?;
    Ok(())
}

/// Writes `contents` to `path` through a temporary file in the same folder, replacing any
/// existing file only once the new one is complete.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    written_beside(path, contents)?
        .persist(path)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {}", path.display(), e.error))?;
    Ok(())
}

/// Whether `dir` is absent or an empty folder.
pub fn is_absent_or_empty(dir: &Path) -> Result<bool> {
    if !dir.exists() {
        return Ok(true);
    }
    if !dir.is_dir() {
        bail!("{} exists and is not a folder", dir.display());
    }
    let mut entries = fs::read_dir(dir).with_context(|| format!("cannot read folder {}", dir.display()))?;
    Ok(entries.next().is_none())
}

/// A folder under construction beside its final place. Dropped without `commit`, it leaves
/// nothing behind: neither the staging folder nor the folders it created to hold it.
pub struct StagedDir {
    staging: Option<tempfile::TempDir>,
    target: PathBuf,
    /// Folders above the target that did not exist, deepest first.
    created: Vec<PathBuf>,
}

impl StagedDir {
    pub fn new(target: &Path) -> Result<StagedDir> {
        let mut created = Vec::new();
        let mut up = target.parent();
        while let Some(dir) = up.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            created.push(dir.to_path_buf());
            up = dir.parent();
        }
        let parent = parent_of(target)?;
        let staging = tempfile::Builder::new()
            .prefix(".mimamori-staging-")
            .tempdir_in(&parent)
            .with_context(|| format!("cannot write in {}", parent.display()))?;
        Ok(StagedDir { staging: Some(staging), target: target.to_path_buf(), created })
    }

    pub fn path(&self) -> &Path {
        self.staging.as_ref().map(|s| s.path()).unwrap_or(&self.target)
    }

    /// Moves the finished folder into place. An existing target is replaced only when
    /// `replace` is set, and removed only after the new one is in place.
    pub fn commit(mut self, replace: bool) -> Result<()> {
        let Some(staging) = self.staging.take() else { return Ok(()) };
        self.created.clear();
        let staged = staging.keep();
        let target = &self.target;
        let old = if target.exists() {
            if is_absent_or_empty(target)? {
                fs::remove_dir(target).with_context(|| format!("cannot replace {}", target.display()))?;
                None
            } else if replace {
                let old = staged.with_file_name(format!(
                    ".mimamori-old-{}",
                    staged.file_name().and_then(|n| n.to_str()).unwrap_or("out")
                ));
                fs::rename(target, &old).with_context(|| format!("cannot move {} aside", target.display()))?;
                Some(old)
            } else {
                let _ = fs::remove_dir_all(&staged);
                bail!("{} is not empty; use --force to replace it", target.display());
            }
        } else {
            None
        };
        if let Err(e) = fs::rename(&staged, target) {
            if let Some(old) = &old {
                let _ = fs::rename(old, target);
            }
            let _ = fs::remove_dir_all(&staged);
            return Err(e).with_context(|| format!("cannot move the new folder to {}", target.display()));
        }
        if let Some(old) = old {
            fs::remove_dir_all(&old).with_context(|| format!("cannot remove the old {}", old.display()))?;
        }
        Ok(())
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        // a run that failed: the staging folder goes, then the folders made for it if empty
        drop(self.staging.take());
        for dir in &self.created {
            let _ = fs::remove_dir(dir);
        }
    }
}
