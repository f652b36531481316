//! Local sweeps: the pending tasks as child `auscult sweep --index … --task …` processes, a few
//! at a time, and one task run in this process (what each child and each Slurm array task runs).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::requeue::TimeSlot;
use super::{SweepIndex, Task, TaskState};
use crate::train::interrupt::{
    install_interrupt_handler, interrupted, requeue_requested, Interrupted,
};
use crate::train::runtime::Runtime;

/// How `auscult sweep` runs its tasks on this machine.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LocalOptions {
    /// Child processes at a time (at least 1).
    pub jobs: usize,
    /// Runtime flags of each child (`--device`, `--kernels`, `--threads`, …).
    pub task_args: Vec<String>,
}

/// CPU threads per local run: `threads` when given, else the cores split between `jobs`.
pub fn threads_per_job(jobs: usize, threads: Option<usize>) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    threads.unwrap_or((cores / jobs.max(1)).max(1))
}

/// Runs task `id` of the sweep index at `index` in this process, with `runtime`.
///
/// Under Slurm with `--requeue` ([`TimeSlot`]), a task stopped for the end of its time slot
/// requeues itself and returns Ok.
pub fn run_task(index: &Path, id: usize, runtime: &Runtime) -> Result<()> {
    install_interrupt_handler()?;
    let slot = TimeSlot::from_env()?;
    let index = SweepIndex::read(index)?;
    let task = index.task(id)?;
    let result = task.run(&index, runtime);
    if let (Err(e), Some(slot)) = (&result, &slot) {
        if e.is::<Interrupted>() && requeue_requested() {
            slot.requeue()?;
            eprintln!(
                "task {id}: {} seed {}: {e}; requeued as Slurm job {}",
                task.name, task.seed, slot.job
            );
            return Ok(());
        }
    }
    let before = result.with_context(|| format!("task {id}: {} seed {}", task.name, task.seed))?;
    let what = match before {
        TaskState::Finished => "already finished",
        TaskState::Started => "resumed and finished",
        TaskState::Pending => "finished",
    };
    eprintln!(
        "task {id}: {} seed {} {what} → {}",
        task.name,
        task.seed,
        task.run_dir.display()
    );
    Ok(())
}

/// Runs the pending tasks as child processes, `jobs` at a time. A failed task is reported
/// and the others go on; SIGINT / SIGTERM stop the children (they save their state).
///
/// Each child runs in its own process group, so a terminal's Ctrl-C (SIGINT to the foreground
/// group) reaches only this process, which then sends each child exactly one SIGTERM: a child
/// stops at its next batch, after its last completed epoch's state is on disk. (Were the
/// children in the terminal's group, they would get the SIGINT and then the forwarded SIGTERM,
/// and a second signal ends a run at once.) On Linux a child also gets SIGTERM if this process
/// dies first.
pub fn run_local(
    index: &SweepIndex,
    index_path: &Path,
    pending: &[&Task],
    o: &LocalOptions,
) -> Result<()> {
    install_interrupt_handler()?;
    let jobs = o.jobs.max(1);
    let exe = std::env::current_exe().context("locating the auscult executable")?;
    let logs = index.out.join("logs");
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let mut queue = pending.iter().copied();
    // A task, its process, and whether it was sent its SIGTERM.
    let mut running: Vec<(&Task, Child, bool)> = Vec::new();
    let mut failed = Vec::new();
    let mut done = index.tasks.len() - pending.len();
    loop {
        while running.len() < jobs && !interrupted() {
            let Some(t) = queue.next() else { break };
            let log = logs.join(format!("task_{}.log", t.id));
            let file = std::fs::File::create(&log)
                .with_context(|| format!("creating {}", log.display()))?;
            let mut cmd = Command::new(&exe);
            cmd.args(["sweep", "--index"])
                .arg(index_path)
                .args(["--task", &t.id.to_string()])
                .args(&o.task_args)
                .stdout(Stdio::null())
                .stderr(file);
            own_process_group(&mut cmd);
            let child = cmd.spawn().context("starting a task")?;
            eprintln!(
                "[start] task {}: {} seed {} ({})",
                t.id,
                t.name,
                t.seed,
                match t.state() {
                    TaskState::Started => "resuming",
                    _ => "new",
                }
            );
            running.push((t, child, false));
        }
        if running.is_empty() {
            break;
        }
        if interrupted() {
            for (t, c, signalled) in running.iter_mut().filter(|r| !r.2) {
                terminate(c);
                *signalled = true;
                eprintln!("[stopping] task {}: at its next batch", t.id);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
        let mut i = 0;
        while i < running.len() {
            let status = running[i].1.try_wait()?;
            match status {
                None => i += 1,
                Some(st) => {
                    let (t, _, _) = running.remove(i);
                    let log = logs.join(format!("task_{}.log", t.id));
                    if st.success() {
                        done += 1;
                        let score = super::finished_summary(t)
                            .map(|s| format!("  best test Score {:.4}", s.best_by_eval.eval.score))
                            .unwrap_or_default();
                        eprintln!(
                            "[{done}/{}] task {}: {} seed {}{score}",
                            index.tasks.len(),
                            t.id,
                            t.name,
                            t.seed
                        );
                    } else if st.code() == Some(130) {
                        eprintln!("[stopped] task {}: state saved ({})", t.id, log.display());
                    } else {
                        eprintln!("[failed] task {}: {} (log: {})", t.id, st, log.display());
                        failed.push(format!("task {} ({})", t.id, log.display()));
                    }
                }
            }
        }
    }
    if interrupted() {
        eprintln!(
            "interrupted: rerun the same command to finish the sweep (finished runs are kept)"
        );
        std::process::exit(130);
    }
    if !failed.is_empty() {
        bail!(
            "{} task(s) failed: {}; rerunning the command retries them",
            failed.len(),
            failed.join(", ")
        );
    }
    Ok(())
}

/// Starts `cmd` in a process group of its own (so a terminal's SIGINT does not reach it) that
/// gets SIGTERM when this process dies (Linux).
fn own_process_group(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe; the closure touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Sends `child` one SIGTERM (not through `kill(1)`: a signal, not a process).
fn terminate(child: &Child) {
    let Ok(pid) = libc::pid_t::try_from(child.id()) else {
        return;
    };
    // SAFETY: kill(2) on the pid of a child this process has not yet reaped.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
}
