//! Slurm: the sbatch script of one job array and its array ranges.

use std::path::Path;

use super::SweepIndex;

/// Slurm settings of `auscult sweep --slurm`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlurmOptions {
    pub partition: Option<String>,
    pub gres: Option<String>,
    pub time: Option<String>,
    pub cpus_per_task: Option<usize>,
    /// At most this many array tasks at once (`%K`).
    pub array_parallelism: Option<usize>,
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

/// The sbatch script running task ids `ids` of `index` as one job array: each array task runs
/// `auscult sweep --index <index> --task $SLURM_ARRAY_TASK_ID` with `exe`. Slurm sends SIGTERM
/// two minutes before the time limit, so a task killed by its limit saves its state and the next
/// submission resumes it.
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
    s.push_str("#SBATCH --signal=B:TERM@120\n");
    s.push_str(&format!(
        "# {} task(s) of {}; task id → run: {}\n",
        ids.len(),
        index.tasks.len(),
        SweepIndex::path(&index.out).display()
    ));
    s.push_str("set -euo pipefail\n");
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
