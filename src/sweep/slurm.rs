//! Slurm: the sbatch script of one job array, its array ranges, and its submission.

use std::path::Path;
use std::process::Command;

use anyhow::Context;

use super::requeue::REQUEUE_ENV;
use super::slurm_args::{check_sbatch_arg, slurm_seconds};
use super::{SweepIndex, Task};

/// Slurm settings of `auscult sweep --slurm`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlurmOptions {
    pub partition: Option<String>,
    pub gres: Option<String>,
    pub time: Option<String>,
    pub cpus_per_task: Option<usize>,
    /// At most this many array tasks at once (`%K`).
    pub array_parallelism: Option<usize>,
    pub mem: Option<String>,
    pub account: Option<String>,
    pub qos: Option<String>,
    pub constraint: Option<String>,
    /// Further sbatch options, verbatim (each checked by [`check_sbatch_arg`]).
    pub sbatch_args: Vec<String>,
    /// Tasks requeue themselves at the end of their time slot ([`super::requeue`]).
    pub requeue: bool,
    /// Extra arguments for each task's `auscult sweep --task` (runtime flags).
    pub task_args: Vec<String>,
}

/// `0-3,5,7-9`: Slurm's array syntax for sorted ids.
pub fn array_ranges(ids: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let mut j = i;
        while j + 1 < ids.len() && ids[j + 1] == ids[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            ids[i].to_string()
        } else {
            format!("{}-{}", ids[i], ids[j])
        });
        i = j + 1;
    }
    parts.join(",")
}

/// Single-quotes `s` for a POSIX shell.
fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Seconds before the time limit at which Slurm signals a task: two minutes, or a quarter of
/// a shorter `--time` (Slurm signals at once when the lead exceeds the limit).
pub fn signal_lead_s(time: Option<&str>) -> u64 {
    time.and_then(slurm_seconds)
        .map_or(120, |limit| (limit / 4).clamp(1, 120))
}

impl SlurmOptions {
    /// Checks the options a typo could break: `--time`'s form and every `--sbatch-arg`.
    pub fn check(&self) -> anyhow::Result<()> {
        if let Some(t) = &self.time {
            anyhow::ensure!(
                slurm_seconds(t).is_some_and(|s| s > 0),
                "--time {t:?}: not a Slurm time (minutes, M:S, H:M:S, D-H, D-H:M or D-H:M:S)"
            );
        }
        for a in &self.sbatch_args {
            check_sbatch_arg(a)?;
        }
        Ok(())
    }
}

/// The sbatch script running task ids `ids` of `index` as one job array: each array task runs
/// `auscult sweep --index <index> --task $SLURM_ARRAY_TASK_ID` with `exe`. Slurm signals each
/// task two minutes before its time limit ([`signal_lead_s`]): SIGTERM, so the task saves its state and the next
/// submission resumes it; with `requeue`, SIGUSR1, and the task requeues itself (it also stops
/// on its own at the last epoch boundary that fits its slot).
pub fn sbatch_script(index: &SweepIndex, ids: &[usize], exe: &Path, o: &SlurmOptions) -> String {
    let name = index
        .out
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sweep".into());
    let logs = index.out.join("logs");
    let mut s = String::from("#!/bin/bash\n");
    s.push_str(&format!("#SBATCH --job-name=auscult-{}\n", sh_quote(&name)));
    let par = o
        .array_parallelism
        .map(|k| format!("%{k}"))
        .unwrap_or_default();
    s.push_str(&format!("#SBATCH --array={}{par}\n", array_ranges(ids)));
    s.push_str(&format!(
        "#SBATCH --output={}\n",
        sh_quote(&logs.join("%A_%a.log").display().to_string())
    ));
    if let Some(p) = &o.partition {
        s.push_str(&format!("#SBATCH --partition={}\n", sh_quote(p)));
    }
    if let Some(g) = &o.gres {
        s.push_str(&format!("#SBATCH --gres={}\n", sh_quote(g)));
    }
    if let Some(t) = &o.time {
        s.push_str(&format!("#SBATCH --time={}\n", sh_quote(t)));
    }
    if let Some(c) = o.cpus_per_task {
        s.push_str(&format!("#SBATCH --cpus-per-task={c}\n"));
    }
    for (name, v) in [
        ("mem", &o.mem),
        ("account", &o.account),
        ("qos", &o.qos),
        ("constraint", &o.constraint),
    ] {
        if let Some(v) = v {
            s.push_str(&format!("#SBATCH --{name}={}\n", sh_quote(v)));
        }
    }
    for a in &o.sbatch_args {
        s.push_str(&format!("#SBATCH {a}\n"));
    }
    let lead = signal_lead_s(o.time.as_deref());
    if o.requeue {
        s.push_str(&format!(
            "#SBATCH --requeue\n#SBATCH --open-mode=append\n#SBATCH --signal=B:USR1@{lead}\n"
        ));
    } else {
        s.push_str(&format!("#SBATCH --signal=B:TERM@{lead}\n"));
    }
    s.push_str(&format!(
        "# {} task(s) of {}; task id → run: {}\n",
        ids.len(),
        index.tasks.len(),
        SweepIndex::path(&index.out).display()
    ));
    s.push_str("set -euo pipefail\n");
    if o.requeue {
        s.push_str(&format!("export {REQUEUE_ENV}=1\n"));
    }
    let mut cmd = vec![
        sh_quote(&exe.display().to_string()),
        "sweep".into(),
        "--index".into(),
        sh_quote(&SweepIndex::path(&index.out).display().to_string()),
        "--task".into(),
        "\"$SLURM_ARRAY_TASK_ID\"".into(),
    ];
    if o.cpus_per_task.is_some() {
        cmd.push("--threads".into());
        cmd.push("\"$SLURM_CPUS_PER_TASK\"".into());
    }
    cmd.extend(o.task_args.iter().map(|a| sh_quote(a)));
    // exec: the signal reaches auscult itself.
    s.push_str(&format!("exec {}\n", cmd.join(" ")));
    s
}

/// Writes `<out>/sweep.sbatch`, one job array of the `pending` tasks, and submits it with
/// `sbatch` (when on PATH; prints the job id); with `dry_run`, prints the script and the index
/// instead.
pub fn submit(
    index: &SweepIndex,
    index_path: &Path,
    pending: &[&Task],
    o: &SlurmOptions,
    dry_run: bool,
) -> anyhow::Result<()> {
    if pending.is_empty() {
        eprintln!("every run is finished; nothing to submit");
        return Ok(());
    }
    o.check()?;
    let exe = std::env::current_exe().context("locating the auscult executable")?;
    let ids: Vec<usize> = pending.iter().map(|t| t.id).collect();
    let script = sbatch_script(index, &ids, &exe, o);
    let path = index.out.join("sweep.sbatch");
    auscult_cache::write_atomic(&path, script.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    std::fs::create_dir_all(index.out.join("logs"))?;
    if dry_run {
        println!("# {}\n{script}", path.display());
        println!("# {}", index_path.display());
        for t in &index.tasks {
            println!(
                "# task {}: {} seed {} → {}",
                t.id,
                t.name,
                t.seed,
                t.run_dir.display()
            );
        }
        return Ok(());
    }
    let out = match Command::new("sbatch").arg("--parsable").arg(&path).output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!(
                "sbatch is not on PATH: submit {} from a Slurm login node (`sbatch {}`)",
                path.display(),
                path.display()
            );
            return Ok(());
        }
        Err(e) => return Err(e).context("running sbatch"),
    };
    anyhow::ensure!(
        out.status.success(),
        "sbatch {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let id = String::from_utf8_lossy(&out.stdout)
        .trim()
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string();
    println!("{id}");
    eprintln!(
        "submitted job array {id}: {} task(s), logs in {}; when it ends, `auscult report {}`",
        ids.len(),
        index.out.join("logs").display(),
        index.out.display()
    );
    Ok(())
}
