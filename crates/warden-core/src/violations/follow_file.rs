//! Follows a growing log file (`tail -F`), poll-based.
//!
//! - starts at the end (default) or at the start;
//! - yields complete lines (without `\n` / `\r\n`);
//! - survives rotation: when the path names a different file (rename +
//!   create, e.g. nats-server `--signal reopen`) the rest of the old file is
//!   read first, then the new file from its start; when the file shrinks
//!   (truncation, copytruncate) it is read again from the start;
//! - bounded memory: a line longer than `max_line` is cut at `max_line`
//!   bytes, flagged `truncated`, and the rest of it is skipped;
//! - only regular files: a path that is (or becomes) a symbolic link, a
//!   FIFO or a device is refused with an error naming it, after the rest
//!   of the file already open is read. Whoever can write the log directory
//!   must not make warden read another file (a symlink to a secret) or
//!   block forever (opening a FIFO with no writer).

use std::io::SeekFrom;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::fs::File;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// Read the existing content first (`false`: only new lines).
    pub from_start: bool,
    pub poll_interval: Duration,
    /// Longest line kept, in bytes (default 64 KiB).
    pub max_line: usize,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions { from_start: false, poll_interval: Duration::from_millis(100), max_line: 64 * 1024 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    /// The line was longer than `max_line` and was cut.
    pub truncated: bool,
}

pub struct Follower {
    path: PathBuf,
    opts: FollowOptions,
    file: Option<File>,
    /// (dev, ino) of the open file.
    id: (u64, u64),
    pos: u64,
    buf: Vec<u8>,
    /// Dropping the rest of an over-long line.
    skipping: bool,
    ready: std::collections::VecDeque<Line>,
    chunk: Box<[u8]>,
    /// Rotations and truncations seen (for diagnostics and tests).
    pub rotations: u64,
    pub truncations: u64,
}

impl Follower {
    /// Opens `path` (which may not exist yet: it is waited for).
    pub async fn open(path: impl AsRef<Path>, opts: FollowOptions) -> std::io::Result<Follower> {
        let mut f = Follower {
            path: path.as_ref().to_path_buf(),
            opts,
            file: None,
            id: (0, 0),
            pos: 0,
            buf: Vec::new(),
            skipping: false,
            ready: Default::default(),
            chunk: vec![0u8; 64 * 1024].into_boxed_slice(),
            rotations: 0,
            truncations: 0,
        };
        let at_end = !f.opts.from_start;
        f.try_open(at_end).await?;
        Ok(f)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn try_open(&mut self, at_end: bool) -> std::io::Result<bool> {
        // O_NOFOLLOW: a symlink is not opened (ELOOP); O_NONBLOCK: a FIFO
        // does not block the open. What was opened must be a regular file.
        let mut oo = std::fs::OpenOptions::new();
        oo.read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        let path = self.path.clone();
        let opened = tokio::task::spawn_blocking(move || oo.open(path)).await.map_err(std::io::Error::other)?;
        match opened.map(File::from_std) {
            Ok(mut file) => {
                let meta = file.metadata().await?;
                if !meta.is_file() {
                    return Err(self.refused());
                }
                self.id = (meta.dev(), meta.ino());
                self.pos = if at_end { file.seek(SeekFrom::End(0)).await? } else { 0 };
                self.file = Some(file);
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => Err(self.refused()),
            Err(e) => Err(e),
        }
    }

    fn refused(&self) -> std::io::Error {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is not a regular file (a symbolic link?): not followed", self.path.display()),
        )
    }

    /// The next complete line; waits (polling) until there is one.
    pub async fn next_line(&mut self) -> std::io::Result<Line> {
        loop {
            if let Some(l) = self.ready.pop_front() {
                return Ok(l);
            }
            if !self.poll().await? {
                tokio::time::sleep(self.opts.poll_interval).await;
            }
        }
    }

    /// Reads what is available now; `true` if any line became ready.
    pub async fn poll(&mut self) -> std::io::Result<bool> {
        if self.file.is_none() {
            // Appeared after we started: read it whole.
            if !self.try_open(false).await? {
                return Ok(false);
            }
        }
        self.read_available().await?;
        if self.ready.is_empty() {
            self.check_rotation().await?;
        }
        Ok(!self.ready.is_empty())
    }

    async fn read_available(&mut self) -> std::io::Result<()> {
        let Some(mut file) = self.file.take() else {
            return Ok(());
        };
        let r = self.read_from(&mut file).await;
        self.file = Some(file);
        r
    }

    async fn read_from(&mut self, file: &mut File) -> std::io::Result<()> {
        let mut chunk = std::mem::take(&mut self.chunk);
        let r = loop {
            let n = match file.read(&mut chunk).await {
                Ok(n) => n,
                Err(e) => break Err(e),
            };
            if n == 0 {
                break Ok(());
            }
            self.pos += n as u64;
            self.push_bytes(chunk.get(..n).unwrap_or(&[]));
            // Do not buffer a whole huge file in `ready` at once.
            if self.ready.len() >= 4096 {
                break Ok(());
            }
        };
        self.chunk = chunk;
        r
    }

    fn push_bytes(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.skipping {
                match data.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        self.skipping = false;
                        data = data.get(i + 1..).unwrap_or(&[]);
                    }
                    None => return,
                }
                continue;
            }
            let room = self.opts.max_line.saturating_sub(self.buf.len());
            let take = data.len().min(room + 1);
            let (head, rest) = data.split_at(take);
            if let Some(i) = head.iter().position(|&b| b == b'\n') {
                self.buf.extend_from_slice(head.get(..i).unwrap_or(&[]));
                self.emit(false);
                data = data.get(i + 1..).unwrap_or(&[]);
                continue;
            }
            self.buf.extend_from_slice(head);
            data = rest;
            if self.buf.len() > self.opts.max_line {
                self.buf.truncate(self.opts.max_line);
                self.emit(true);
                self.skipping = true;
            }
        }
    }

    fn emit(&mut self, truncated: bool) {
        if !truncated && self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        let text = match String::from_utf8(std::mem::take(&mut self.buf)) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        self.ready.push_back(Line { text, truncated });
    }

    /// Flushes a partial last line of a file we are leaving.
    fn flush_partial(&mut self) {
        if !self.buf.is_empty() {
            self.emit(false);
        }
        self.skipping = false;
    }

    async fn check_rotation(&mut self) -> std::io::Result<()> {
        let meta = match tokio::fs::symlink_metadata(&self.path).await {
            Ok(m) => m,
            // Renamed away and not recreated yet: keep the old file.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if !meta.is_file() {
            // Replaced by a symlink (or a FIFO...): finish the file we have,
            // hand its lines over, then refuse the new one.
            self.read_available().await?;
            self.flush_partial();
            if self.ready.is_empty() {
                return Err(self.refused());
            }
            return Ok(());
        }
        if (meta.dev(), meta.ino()) != self.id {
            // Finish the old file (the writer may have flushed more).
            self.read_available().await?;
            self.flush_partial();
            self.rotations += 1;
            self.file = None;
            self.try_open(false).await?;
            self.read_available().await?;
        } else if meta.len() < self.pos {
            self.truncations += 1;
            self.flush_partial();
            if let Some(f) = self.file.as_mut() {
                f.seek(SeekFrom::Start(0)).await?;
            }
            self.pos = 0;
            self.read_available().await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::time::Instant;

    fn opts() -> FollowOptions {
        FollowOptions { from_start: true, poll_interval: Duration::from_millis(10), max_line: 16 }
    }

    async fn next(f: &mut Follower) -> Line {
        tokio::time::timeout(Duration::from_secs(5), f.next_line()).await.expect("line within 5s").unwrap()
    }

    fn append(p: &Path, s: &str) {
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(p).unwrap();
        f.write_all(s.as_bytes()).unwrap();
    }

    #[tokio::test]
    async fn lines_partial_and_long() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.log");
        append(&p, "one\r\ntw");
        let mut f = Follower::open(&p, opts()).await.unwrap();
        assert_eq!(next(&mut f).await.text, "one");
        append(&p, "o\n");
        assert_eq!(next(&mut f).await.text, "two");
        append(&p, &format!("{}\nafter\n", "x".repeat(100)));
        let l = next(&mut f).await;
        assert!(l.truncated);
        assert_eq!(l.text, "x".repeat(16));
        assert_eq!(next(&mut f).await, Line { text: "after".into(), truncated: false });
        // exactly max_line is not truncated
        append(&p, &format!("{}\n", "y".repeat(16)));
        assert!(!next(&mut f).await.truncated);
    }

    #[tokio::test]
    async fn from_end_rotation_and_truncation() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.log");
        append(&p, "old\n");
        let mut f = Follower::open(&p, FollowOptions { from_start: false, ..opts() }).await.unwrap();
        append(&p, "new\n");
        assert_eq!(next(&mut f).await.text, "new");
        // Rename rotation: a line written to the old file after the rename
        // is still read, then the new file.
        std::fs::rename(&p, d.path().join("a.log.1")).unwrap();
        append(&d.path().join("a.log.1"), "late\n");
        append(&p, "fresh\n");
        assert_eq!(next(&mut f).await.text, "late");
        assert_eq!(next(&mut f).await.text, "fresh");
        assert_eq!(f.rotations, 1);
        // copytruncate
        std::fs::write(&p, "").unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while f.truncations == 0 {
            assert!(Instant::now() < deadline);
            f.poll().await.unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        append(&p, "again\n");
        assert_eq!(next(&mut f).await.text, "again");
    }

    #[tokio::test]
    async fn a_symlink_is_never_followed() {
        let d = tempfile::tempdir().unwrap();
        let (p, secret) = (d.path().join("a.log"), d.path().join("secret"));
        std::fs::write(&secret, "hunter2\n").unwrap();
        append(&p, "");
        let mut f = Follower::open(&p, opts()).await.unwrap();
        append(&p, "last\n");
        std::fs::remove_file(&p).unwrap();
        std::os::unix::fs::symlink(&secret, &p).unwrap();
        // The old file's last line first, then the refusal.
        assert_eq!(next(&mut f).await.text, "last");
        let e = tokio::time::timeout(Duration::from_secs(5), f.next_line()).await.unwrap().unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let e = Follower::open(&p, opts()).await.err().expect("a symlink is refused");
        assert!(e.to_string().contains("not followed"), "{e}");
    }

    #[tokio::test]
    async fn file_created_later() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("later.log");
        let mut f = Follower::open(&p, FollowOptions { from_start: false, ..opts() }).await.unwrap();
        assert!(!f.poll().await.unwrap());
        append(&p, "hello\n");
        assert_eq!(next(&mut f).await.text, "hello");
    }
}
