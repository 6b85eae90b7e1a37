//! Writing the app's files: private and whole.
//!
//! Every directory the app creates is 0700 and every file it writes 0600 (on Unix; Windows keeps
//! per-user profile directories private already). A file is written to a temp file beside it,
//! flushed to disk, then renamed over the old one, and the directory is flushed: a crash or a full
//! disk leaves the old file or the new one, never half of either.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Creates `dir` (and its missing parents) readable by the user only.
pub fn private_dir(dir: &Path) -> Result<()> {
    let io = |e| Error::Io(dir.display().to_string(), e);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io)?;
        // An existing directory keeps its mode with `create`: tighten it.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir).map_err(io)
    }
}

/// Writes `bytes` to `path` atomically, as a file readable by the user only.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_with(path, |w| w.write_all(bytes))
}

/// What `write_atomically_with` writes to: a buffered file, its type known, so a serializer's
/// many small writes are copies into the buffer rather than calls through `dyn Write`.
pub type Out = std::io::BufWriter<std::fs::File>;

/// Like `write_atomically`, for content written piece by piece (a large export is streamed, not
/// built in memory first).
pub fn write_atomically_with(
    path: &Path,
    content: impl FnOnce(&mut Out) -> std::io::Result<()>,
) -> Result<()> {
    let io = |e| Error::Io(path.display().to_string(), e);
    let parent = path.parent().unwrap_or(Path::new("."));
    private_dir(parent)?;
    let tmp = temp_path(path);
    let written = write_synced(&tmp, content).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(io)?;
    // The rename itself is durable only once the directory is flushed.
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(parent) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The temp file beside `path`: per process, so the app and `idesk` writing at once never share one.
pub(crate) fn temp_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", std::process::id()));
    path.with_file_name(name)
}

fn write_synced(
    path: &Path,
    content: impl FnOnce(&mut Out) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    // 64 KiB at a time: a listing of 10,000 incidents (8 MB) took 960 writes with the default 8.
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, options.open(path)?);
    content(&mut out)?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn temp(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("idesk-files-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn files_are_private_and_replaced_whole() {
        let dir = temp("mode");
        let path = dir.join("a").join("profiles.json");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600, "only the user reads the file");
        assert_eq!(
            mode(path.parent().unwrap()),
            0o700,
            "only the user lists the folder"
        );
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1,
            "no temp file left behind"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    /// /dev/full answers every write with ENOSPC: a real full disk, without filling one.
    #[test]
    fn a_failed_write_keeps_the_old_file_and_leaves_no_partial_one() {
        let dir = temp("full");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("profiles.json");
        std::fs::write(&path, b"old").unwrap();
        // The temp file is a link to /dev/full, so writing it fails as on a full disk.
        std::os::unix::fs::symlink("/dev/full", temp_path(&path)).unwrap();
        let err = write_atomically(&path, b"new").unwrap_err();
        assert!(
            err.user_message().contains("No space left"),
            "{}",
            err.user_message()
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"old",
            "the old file is untouched"
        );
        assert!(!temp_path(&path).exists(), "no partial file is left");
        let _ = std::fs::remove_dir_all(dir);
    }
}
