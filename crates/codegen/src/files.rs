//! Generated files: compare with what is on disk (a unified diff, never writing), or write
//! the ones that changed.

use similar::TextDiff;
use std::path::{Path, PathBuf};

/// One generated file: a path relative to the output directory and its full contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    pub path: PathBuf,
    pub contents: String,
}

impl GeneratedFile {
    pub fn new(path: impl Into<PathBuf>, contents: impl Into<String>) -> Self {
        GeneratedFile {
            path: path.into(),
            contents: contents.into(),
        }
    }
}

fn read_existing(path: &Path) -> std::io::Result<Option<String>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Compare `files` with `out_dir`. `None` when every file is present and identical, else a
/// unified diff (`a/` = on disk, `b/` = generated; a missing file diffs from `/dev/null`).
/// Never writes.
pub fn check(files: &[GeneratedFile], out_dir: &Path) -> std::io::Result<Option<String>> {
    let mut diff = String::new();
    for file in files {
        let existing = read_existing(&out_dir.join(&file.path))?;
        if existing.as_deref() == Some(file.contents.as_str()) {
            continue;
        }
        let shown = file.path.display().to_string().replace('\\', "/");
        let old_name = if existing.is_some() {
            format!("a/{shown}")
        } else {
            "/dev/null".to_owned()
        };
        let old = existing.unwrap_or_default();
        let text_diff = TextDiff::from_lines(&old, &file.contents);
        let unified = text_diff
            .unified_diff()
            .context_radius(3)
            .header(&old_name, &format!("b/{shown}"))
            .to_string();
        diff.push_str(&unified);
        if !unified.ends_with('\n') {
            diff.push('\n');
        }
    }
    Ok((!diff.is_empty()).then_some(diff))
}

/// Write the files of `files` that differ from `out_dir` (creating directories); files that
/// are already current are not touched, so their modification times stay. Returns the paths
/// written, relative to `out_dir`.
pub fn write(files: &[GeneratedFile], out_dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for file in files {
        let path = out_dir.join(&file.path);
        if read_existing(&path)?.as_deref() == Some(file.contents.as_str()) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        // Write to a sibling and rename, so a reader never sees half a file.
        let tmp = path.with_extension(format!(
            "{}.tmp{}",
            path.extension().and_then(|e| e.to_str()).unwrap_or(""),
            std::process::id()
        ));
        std::fs::write(&tmp, &file.contents)?;
        std::fs::rename(&tmp, &path)?;
        written.push(file.path.clone());
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_reports_stale_and_missing_files_and_write_fixes_them() {
        let dir = tempfile::tempdir().unwrap();
        let files = vec![
            GeneratedFile::new("a.rs", "one\ntwo\n"),
            GeneratedFile::new("sub/b.rs", "x\n"),
        ];
        std::fs::write(dir.path().join("a.rs"), "one\nTWO\n").unwrap();
        let diff = check(&files, dir.path()).unwrap().unwrap();
        assert!(diff.contains("--- a/a.rs\n+++ b/a.rs\n"), "{diff}");
        assert!(diff.contains("-TWO\n+two\n"), "{diff}");
        assert!(diff.contains("--- /dev/null\n+++ b/sub/b.rs\n"), "{diff}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.rs")).unwrap(),
            "one\nTWO\n",
            "check never writes"
        );
        assert!(!dir.path().join("sub").exists());

        let written = write(&files, dir.path()).unwrap();
        assert_eq!(written, [PathBuf::from("a.rs"), PathBuf::from("sub/b.rs")]);
        assert_eq!(check(&files, dir.path()).unwrap(), None);
        assert!(
            write(&files, dir.path()).unwrap().is_empty(),
            "current files are not rewritten"
        );
    }
}
