//! One writer per run dir: `<dir>/run.lock`, taken before anything is written and released on
//! exit.
//!
//! The lock is an `flock(2)` on the file, which the kernel releases when its holder dies however
//! it dies (`kill -9` included), so a lock left by a dead process is simply taken over (with a
//! warning naming it). The file also holds who took it (pid, host, start time, command line and
//! Slurm job), for the error a second writer gets. Where the file system has no `flock`
//! (some parallel file systems), the record decides: a holder on this host whose pid is gone, or
//! an earlier run of this very Slurm job (a requeued task), is stale; any other holder is live.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The lock file's name inside a run dir.
pub const LOCK_FILE: &str = "run.lock";

/// Who holds a run dir.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    /// Seconds since the Unix epoch.
    pub since: u64,
    pub command: String,
    /// `<job>_<task>` (or `<job>`) under Slurm.
    #[serde(default)]
    pub slurm_job: Option<String>,
}

impl Holder {
    /// This process.
    pub fn me() -> Self {
        Holder {
            pid: std::process::id(),
            host: hostname(),
            since: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            slurm_job: slurm_job(),
        }
    }

    /// Whether this record can be taken over without `flock`'s help: its process is gone from
    /// this host, or it is an earlier run of this Slurm job (Slurm runs one at a time).
    pub fn is_stale(&self) -> bool {
        let me = Holder::me();
        if self.slurm_job.is_some() && self.slurm_job == me.slurm_job && self.pid != me.pid {
            return true;
        }
        self.host == me.host && self.pid != me.pid && !pid_alive(self.pid)
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let age = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .saturating_sub(self.since);
        write!(
            f,
            "pid {} on {}, for {}, `{}`",
            self.pid,
            self.host,
            human_seconds(age),
            self.command
        )?;
        if let Some(j) = &self.slurm_job {
            write!(f, ", Slurm job {j}")?;
        }
        Ok(())
    }
}

fn human_seconds(s: u64) -> String {
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        _ => format!("{:.1} h", s as f64 / 3600.0),
    }
}

/// Why a run dir could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "{dir} is being written by another auscult process ({holder}). Wait for it to end, or \
         give another output dir. If that process is gone, delete {lock}",
        dir = dir.display(),
        lock = dir.join(LOCK_FILE).display()
    )]
    Held { dir: PathBuf, holder: Holder },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A held run-dir lock; dropping it releases it (and removes the file).
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
}

impl RunLock {
    /// Takes `<dir>/run.lock` (`dir` must exist), or says who holds it.
    pub fn acquire(dir: &Path) -> Result<RunLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        loop {
            let mut file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io)?;
            let previous = read_holder(&mut file);
            match try_flock(&file) {
                Flock::Taken => {}
                Flock::Busy => {
                    return Err(LockError::Held {
                        dir: dir.to_path_buf(),
                        holder: previous.unwrap_or_else(unknown_holder),
                    })
                }
                Flock::Unsupported => {
                    if let Some(h) = previous.as_ref().filter(|h| !h.is_stale()) {
                        return Err(LockError::Held {
                            dir: dir.to_path_buf(),
                            holder: h.clone(),
                        });
                    }
                }
            }
            // The file may have been removed (its holder released it) between our open and
            // our flock: then we hold a lock on a file nobody else will open. Start over.
            let same = std::fs::metadata(&path)
                .ok()
                .zip(file.metadata().ok())
                .is_some_and(|(a, b)| a.ino() == b.ino() && a.dev() == b.dev());
            if !same {
                continue;
            }
            // Re-read under the lock: the record of a holder that died without releasing.
            if let Some(stale) = read_holder(&mut file) {
                tracing::warn!(
                    "{}: taking over the lock of a run that ended without releasing it ({stale})",
                    dir.display()
                );
            }
            let me = serde_json::to_vec_pretty(&Holder::me()).expect("a holder serialises");
            file.set_len(0).map_err(io)?;
            file.rewind().map_err(io)?;
            file.write_all(&me).map_err(io)?;
            file.sync_all().map_err(io)?;
            return Ok(RunLock { file, path });
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Emptied and removed while still locked, so no one reads a stale record; closing the
        // file then releases the flock.
        let _ = self.file.set_len(0);
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Who holds `dir`'s lock now (None when no live process does).
pub fn holder(dir: &Path) -> Option<Holder> {
    let path = dir.join(LOCK_FILE);
    let mut file = File::open(&path).ok()?;
    let h = read_holder(&mut file)?;
    match try_flock(&file) {
        Flock::Busy => Some(h),
        Flock::Taken => None,
        Flock::Unsupported => (!h.is_stale()).then_some(h),
    }
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut s = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut s).ok()?;
    serde_json::from_str(&s).ok()
}

fn unknown_holder() -> Holder {
    Holder {
        pid: 0,
        host: "an unknown host".into(),
        since: 0,
        command: "unknown".into(),
        slurm_job: None,
    }
}

enum Flock {
    Taken,
    Busy,
    Unsupported,
}

fn try_flock(file: &File) -> Flock {
    // SAFETY: flock on a valid, open file descriptor; no memory is shared.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Flock::Taken;
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::EWOULDBLOCK) => Flock::Busy,
        _ => Flock::Unsupported,
    }
}

/// Whether process `pid` exists on this host.
pub fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// This machine's host name.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// `<array job>_<task>` or `<job>` when running under Slurm.
pub fn slurm_job() -> Option<String> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match (var("SLURM_ARRAY_JOB_ID"), var("SLURM_ARRAY_TASK_ID")) {
        (Some(j), Some(t)) => Some(format!("{j}_{t}")),
        _ => var("SLURM_JOB_ID"),
    }
}
