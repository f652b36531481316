//! `auscult sweep`: a grid of experiments × seeds, locally or as one Slurm job array.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use auscult::report::{collect_runs, default_paper_results, render_paper_layout, Selection};
use auscult::sweep::{
    measured_throughput, sbatch_script, Grid, SlurmOptions, SweepIndex, Task, TaskState,
};
use auscult::train::resume::{install_interrupt_handler, interrupted};
use auscult::train::runtime::{Kernels, Runtime};
use clap::Args;

const SLURM: &str = "Slurm (--slurm)";

/// Run a grid of experiments × seeds: locally (one after another, or --jobs N at a time) or as
/// one Slurm job array.
///
/// A grid (configs/grids/table1.toml) lists experiment files and seeds. Each config × seed is one
/// run in <out>/<config stem>/seed_<s>/; <out>/sweep-index.json maps task ids to runs. Finished
/// runs are skipped and interrupted ones resumed, so rerunning the same command after a crash
/// finishes the sweep. When all seeds of a config are done, <out>/<config stem>/summary.json
/// holds their mean ± std and `auscult report <out>` tabulates them beside the paper.
///
/// Examples:
///   auscult sweep --grid configs/grids/table1.toml --data cache/icbhi --plan --throughput bench-gpu
///   auscult sweep --grid configs/grids/table1.toml --data cache/icbhi --device cuda:0 --jobs 2
///   auscult sweep --grid configs/grids/table2.toml --data cache/icbhi --slurm --partition gpu \
///       --gres gpu:1 --time 12:00:00 --cpus-per-task 8 --array-parallelism 10 --device cuda:0
///   auscult sweep --index runs/table1/sweep-index.json --task 7   # one task (what array tasks run)
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct SweepArgs {
    /// The grid file.
    #[arg(long, required_unless_present = "index", conflicts_with = "index")]
    pub grid: Option<PathBuf>,
    /// Cache folder (overrides the grid's `data`).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Seeds per config (overrides the grid's `seeds`).
    #[arg(long)]
    pub seeds: Option<usize>,
    /// The sweep's folder (default runs/<grid stem>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Local runs at a time (each a child process; CPU threads split between them unless
    /// --threads is given; on a GPU they share it).
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Evaluation protocol of every run (official, val, leakage-free, kfold:K; see `auscult
    /// train --help`); use another --out per protocol.
    #[arg(long)]
    pub protocol: Option<String>,
    /// Any experiment field for every config, as `auscult train --set` (repeatable).
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub set: Vec<String>,
    /// Print the runs and projected hours, start nothing.
    #[arg(long)]
    pub plan: bool,
    /// With --plan: folders of measured runs (`auscult bench train --out DIR`, or finished runs)
    /// whose samples/s give the projection, one column per folder (e.g. one per GPU type).
    #[arg(long, value_name = "DIR", requires = "plan")]
    pub throughput: Vec<PathBuf>,
    /// Run one task of a sweep index (what each Slurm array task runs).
    #[arg(long, requires = "task")]
    pub index: Option<PathBuf>,
    #[arg(long, requires = "index")]
    pub task: Option<usize>,
    /// Write an sbatch script for one job array of the unfinished tasks and submit it with
    /// `sbatch` (when on PATH); prints the job id.
    #[arg(long, help_heading = SLURM)]
    pub slurm: bool,
    /// Print the script and the index instead of submitting.
    #[arg(long, requires = "slurm", help_heading = SLURM)]
    pub dry_run: bool,
    #[arg(long, requires = "slurm", help_heading = SLURM)]
    pub partition: Option<String>,
    /// e.g. gpu:1.
    #[arg(long, requires = "slurm", help_heading = SLURM)]
    pub gres: Option<String>,
    /// Time limit per task, e.g. 12:00:00 (a task reaching it saves its state; resubmitting
    /// resumes it).
    #[arg(long, requires = "slurm", help_heading = SLURM)]
    pub time: Option<String>,
    #[arg(long, requires = "slurm", help_heading = SLURM)]
    pub cpus_per_task: Option<usize>,
    /// At most this many array tasks at once.
    #[arg(long, requires = "slurm", help_heading = SLURM)]
    pub array_parallelism: Option<usize>,
    /// cpu or cuda:N, for every run.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// CPU threads per run (default: all cores split between --jobs).
    #[arg(long)]
    pub threads: Option<usize>,
    /// CNN6 block kernels for every run: auto, generic or cudnn (see `auscult train --help`).
    #[arg(long, default_value = "auto", value_name = "auto|generic|cudnn")]
    pub kernels: Kernels,
}

pub fn run(a: SweepArgs) -> anyhow::Result<()> {
    if let (Some(index), Some(task)) = (&a.index, a.task) {
        return run_task(index, task, &a);
    }
    let grid_path = a.grid.clone().context("--grid is required")?;
    let grid = Grid::load(&grid_path)?;
    let data = a
        .data
        .clone()
        .or_else(|| grid.data.clone())
        .with_context(|| format!("{}: no `data`; pass --data <cache>", grid_path.display()))?;
    let seeds = a.seeds.unwrap_or(grid.seeds);
    anyhow::ensure!(seeds > 0, "--seeds must be ≥ 1");
    let out = a.out.clone().unwrap_or_else(|| {
        PathBuf::from("runs").join(
            grid_path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "sweep".into()),
        )
    });
    let mut index = SweepIndex::new(&grid, &data, seeds, &out)?;
    index.overrides = a.set.clone();
    if let Some(p) = &a.protocol {
        p.parse::<auscult::train::experiment::Protocol>()
            .map_err(anyhow::Error::msg)?;
        index.overrides.push(format!("data.protocol={p}"));
    }
    // Refuse a bad override before anything is written.
    for c in &grid.configs {
        index.experiment(c)?.validate()?;
    }
    if a.plan {
        return plan(&index, &a.throughput);
    }
    let index_path = index.write()?;
    let pending: Vec<&Task> = index
        .tasks
        .iter()
        .filter(|t| t.state() != TaskState::Finished)
        .collect();
    eprintln!(
        "{}: {} configs × {seeds} seeds = {} runs, {} finished, {} to run → {}",
        grid_path.display(),
        grid.configs.len(),
        index.tasks.len(),
        index.tasks.len() - pending.len(),
        pending.len(),
        index.out.display()
    );
    if a.slurm {
        return slurm(&index, &index_path, &pending, &a);
    }
    local(&index, &index_path, &pending, &a)?;
    let rows = collect_runs(std::slice::from_ref(&index.out), Selection::BestEval)?;
    print!(
        "{}",
        render_paper_layout(&rows, &default_paper_results(), Selection::BestEval)
    );
    Ok(())
}

fn runtime(a: &SweepArgs, threads: Option<usize>) -> Runtime {
    Runtime {
        device: a.device.clone(),
        threads,
        kernels: a.kernels,
        ..Runtime::default()
    }
}

fn run_task(index: &Path, id: usize, a: &SweepArgs) -> anyhow::Result<()> {
    install_interrupt_handler()?;
    let index = SweepIndex::read(index)?;
    let task = index.task(id)?;
    let before = task
        .run(&index, &runtime(a, a.threads))
        .inspect_err(super::train::exit_if_interrupted)
        .with_context(|| format!("task {id}: {} seed {}", task.name, task.seed))?;
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

/// Runs the pending tasks as child processes, `--jobs` at a time. A failed task is reported
/// and the others go on; SIGINT / SIGTERM stop the children (they save their state).
fn local(
    index: &SweepIndex,
    index_path: &Path,
    pending: &[&Task],
    a: &SweepArgs,
) -> anyhow::Result<()> {
    install_interrupt_handler()?;
    let jobs = a.jobs.max(1);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = a.threads.unwrap_or((cores / jobs).max(1));
    let exe = std::env::current_exe().context("locating the auscult executable")?;
    let logs = index.out.join("logs");
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let mut queue = pending.iter().copied();
    let mut running: Vec<(&Task, Child)> = Vec::new();
    let mut failed = Vec::new();
    let mut done = index.tasks.len() - pending.len();
    loop {
        while running.len() < jobs && !interrupted() {
            let Some(t) = queue.next() else { break };
            let log = logs.join(format!("task_{}.log", t.id));
            let file = std::fs::File::create(&log)
                .with_context(|| format!("creating {}", log.display()))?;
            let child = Command::new(&exe)
                .args(["sweep", "--index"])
                .arg(index_path)
                .args(["--task", &t.id.to_string(), "--device", &a.device])
                .args(["--kernels", &a.kernels.to_string()])
                .args(["--threads", &threads.to_string()])
                .stdout(Stdio::null())
                .stderr(file)
                .spawn()
                .context("starting a task")?;
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
            running.push((t, child));
        }
        if running.is_empty() {
            break;
        }
        if interrupted() {
            for (_, c) in &running {
                let _ = Command::new("kill")
                    .args(["-TERM", &c.id().to_string()])
                    .status();
            }
        }
        std::thread::sleep(Duration::from_millis(100));
        let mut i = 0;
        while i < running.len() {
            let status = running[i].1.try_wait()?;
            match status {
                None => i += 1,
                Some(st) => {
                    let (t, _) = running.remove(i);
                    let log = logs.join(format!("task_{}.log", t.id));
                    if st.success() {
                        done += 1;
                        let score = auscult::sweep::finished_summary(t)
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

fn slurm(
    index: &SweepIndex,
    index_path: &Path,
    pending: &[&Task],
    a: &SweepArgs,
) -> anyhow::Result<()> {
    if pending.is_empty() {
        eprintln!("every run is finished; nothing to submit");
        return Ok(());
    }
    let exe = std::env::current_exe().context("locating the auscult executable")?;
    let mut task_args = vec![
        "--device".to_string(),
        a.device.clone(),
        "--kernels".to_string(),
        a.kernels.to_string(),
    ];
    if let (Some(t), None) = (a.threads, a.cpus_per_task) {
        task_args.extend(["--threads".to_string(), t.to_string()]);
    }
    let o = SlurmOptions {
        partition: a.partition.clone(),
        gres: a.gres.clone(),
        time: a.time.clone(),
        cpus_per_task: a.cpus_per_task,
        array_parallelism: a.array_parallelism,
        task_args,
    };
    let ids: Vec<usize> = pending.iter().map(|t| t.id).collect();
    let script = sbatch_script(index, &ids, &exe, &o);
    let path = index.out.join("sweep.sbatch");
    auscult_cache::write_atomic(&path, script.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    std::fs::create_dir_all(index.out.join("logs"))?;
    if a.dry_run {
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

/// Runs left, and hours projected from measured samples/s.
fn plan(index: &SweepIndex, throughput: &[PathBuf]) -> anyhow::Result<()> {
    let manifest = auscult_cache::CacheReader::open_manifest_only(&index.data)?
        .manifest()
        .clone();
    let rows_of = |split: &str| {
        manifest
            .splits
            .iter()
            .find(|s| s.name == split)
            .map_or(0, |s| s.rows)
    };
    let measured: Vec<(String, std::collections::BTreeMap<String, f64>)> = throughput
        .iter()
        .map(|d| Ok((d.display().to_string(), measured_throughput(d)?)))
        .collect::<anyhow::Result<_>>()?;
    let mut names: Vec<&str> = index.tasks.iter().map(|t| t.name.as_str()).collect();
    names.dedup();
    let mut out = String::from("| config | method | runs left | epochs | train rows |");
    for (d, _) in &measured {
        out.push_str(&format!(" h/run ({d}) | h left ({d}) |"));
    }
    out.push_str("\n|:--|:--|--:|--:|--:|");
    out.push_str(&"--:|--:|".repeat(measured.len()));
    out.push('\n');
    let mut totals = vec![0.0f64; measured.len()];
    let mut missing = std::collections::BTreeSet::new();
    let mut runs_left = 0;
    for name in names {
        let tasks: Vec<&Task> = index.tasks.iter().filter(|t| t.name == name).collect();
        let left = tasks
            .iter()
            .filter(|t| t.state() != TaskState::Finished)
            .count();
        runs_left += left;
        let exp = index.experiment(&tasks[0].config)?;
        let method = exp.method()?.name().to_string();
        let train = (rows_of(&exp.data.train_split) as f64 * (1.0 - exp.data.val_fraction)).round();
        let le_epochs = exp.contrastive().map(|_| exp.linear_eval().epochs);
        let epochs = match le_epochs {
            Some(le) => format!("{} + {le}", exp.epochs),
            None => exp.epochs.to_string(),
        };
        out.push_str(&format!(
            "| {name} | {method} | {left} | {epochs} | {train} |"
        ));
        for (i, (_, m)) in measured.iter().enumerate() {
            let stage = |k: &str, epochs: usize| -> Option<f64> {
                m.get(k).map(|sps| epochs as f64 * train / sps / 3600.0)
            };
            let main = stage(&method, exp.epochs);
            let le = match le_epochs {
                Some(e) => stage("linear_eval", e).or(Some(0.0)),
                None => Some(0.0),
            };
            match main.zip(le) {
                Some((a, b)) => {
                    let h = a + b;
                    totals[i] += h * left as f64;
                    out.push_str(&format!(" {h:.2} | {:.1} |", h * left as f64));
                }
                None => {
                    missing.insert(method.clone());
                    out.push_str(" – | – |");
                }
            }
        }
        out.push('\n');
    }
    println!(
        "{} runs ({} configs × {} seeds), {runs_left} left, on {} ({})\n",
        index.tasks.len(),
        index.tasks.len() / index.seeds.max(1),
        index.seeds,
        index.data.display(),
        manifest.dataset
    );
    print!("{out}");
    for (i, (d, _)) in measured.iter().enumerate() {
        println!(
            "\nTotal left on the device of {d}: {:.1} h of training",
            totals[i]
        );
    }
    if measured.is_empty() {
        println!(
            "\nNo throughput given: measure it on the target device with `auscult bench train \
             --methods ce,scl,hybrid,simclr,mscl --device cuda:0 --out bench-gpu`, then add \
             `--throughput bench-gpu`."
        );
    } else {
        println!(
            "Training only (samples/s of the last measured epoch × epochs × train rows; \
             evaluation passes and start-up excluded)."
        );
    }
    if !missing.is_empty() {
        println!(
            "No measurement for: {} (add them to the bench's --methods).",
            missing.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(())
}
