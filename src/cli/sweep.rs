//! `auscult sweep`: a grid of experiments × seeds, locally or as one Slurm job array.

use std::path::PathBuf;

use anyhow::Context;
use auscult::report::{collect_runs, default_paper_results, render_paper_layout, Selection};
use auscult::sweep::pool::{run_local, run_task, threads_per_job, LocalOptions};
use auscult::sweep::{plan::print_plan, slurm, SlurmOptions, SweepSpec};
use clap::Args;

use super::runtime::{restyle, RuntimeArgs, RuntimeFlags, DATA_PLACEMENT};

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
///   auscult sweep --grid configs/grids/table1.toml --data cache/icbhi --slurm --time 4:00:00 \
///       --requeue --mem 32G --account proj --sbatch-arg=--mail-type=END --device cuda:0
///   auscult sweep --index runs/table1/sweep-index.json --task 7   # one task (what array tasks run)
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
#[command(mut_arg("device", |a| restyle(a, "cpu or cuda:N, for every run").default_value("cpu")))]
#[command(mut_arg("threads", |a| restyle(
    a,
    "CPU threads per run (default: all cores split between --jobs)",
)))]
#[command(mut_arg("kernels", |a| restyle(
    a,
    "CNN6 block kernels for every run: auto, generic or cudnn (see `auscult train --help`)",
).default_value("auto")))]
#[command(hide_runtime_flags(&DATA_PLACEMENT))]
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
    /// resumes it, or --requeue does that by itself).
    #[arg(long, requires = "slurm", help_heading = SLURM)]
    pub time: Option<String>,
    #[arg(long, requires = "slurm", help_heading = SLURM)]
    pub cpus_per_task: Option<usize>,
    /// At most this many array tasks at once.
    #[arg(long, requires = "slurm", help_heading = SLURM)]
    pub array_parallelism: Option<usize>,
    /// Memory per task, e.g. 16G (sbatch --mem).
    #[arg(long, requires = "slurm", help_heading = SLURM)]
    pub mem: Option<String>,
    /// Account charged (sbatch --account).
    #[arg(long, requires = "slurm", help_heading = SLURM)]
    pub account: Option<String>,
    /// Quality of service (sbatch --qos).
    #[arg(long, requires = "slurm", help_heading = SLURM)]
    pub qos: Option<String>,
    /// Node features required, e.g. a100 (sbatch --constraint).
    #[arg(long, requires = "slurm", help_heading = SLURM)]
    pub constraint: Option<String>,
    /// Any other sbatch option, verbatim as `--name=value` (repeatable), e.g.
    /// --sbatch-arg=--mail-type=END. Checked against the options auscult passes on, so a typo
    /// fails here rather than in the queue.
    #[arg(long, value_name = "--NAME=VALUE", allow_hyphen_values = true, requires = "slurm", help_heading = SLURM)]
    pub sbatch_arg: Vec<String>,
    /// A task reaching the end of its time slot saves its state at the last epoch boundary that
    /// fits and requeues itself (`scontrol requeue`), so a long run finishes across several
    /// slots without resubmitting.
    #[arg(long, requires = "slurm", help_heading = SLURM)]
    pub requeue: bool,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

pub fn run(a: SweepArgs) -> anyhow::Result<()> {
    a.runtime.refuse("sweep", &DATA_PLACEMENT)?;
    if let (Some(index), Some(task)) = (&a.index, a.task) {
        return run_task(index, task, &a.runtime.runtime())
            .inspect_err(super::train::exit_if_interrupted);
    }
    let spec = SweepSpec {
        grid: a.grid.clone().context("--grid is required")?,
        data: a.data.clone(),
        seeds: a.seeds,
        out: a.out.clone(),
        overrides: a.set.clone(),
        protocol: a.protocol.clone(),
    };
    let (grid, index) = spec.index()?;
    if a.plan {
        return print_plan(&index, &a.throughput);
    }
    // Slurm options are checked before anything is written.
    let slurm_options = if a.slurm {
        let threads = a.runtime.threads.filter(|_| a.cpus_per_task.is_none());
        let o = SlurmOptions {
            partition: a.partition.clone(),
            gres: a.gres.clone(),
            time: a.time.clone(),
            cpus_per_task: a.cpus_per_task,
            array_parallelism: a.array_parallelism,
            mem: a.mem.clone(),
            account: a.account.clone(),
            qos: a.qos.clone(),
            constraint: a.constraint.clone(),
            sbatch_args: a.sbatch_arg.clone(),
            requeue: a.requeue,
            task_args: a.runtime.task_args(threads),
        };
        o.check()?;
        Some(o)
    } else {
        None
    };
    let index_path = index.write()?;
    let pending = index.pending();
    eprintln!(
        "{}: {} configs × {} seeds = {} runs, {} finished, {} to run → {}",
        spec.grid.display(),
        grid.configs.len(),
        index.seeds,
        index.tasks.len(),
        index.tasks.len() - pending.len(),
        pending.len(),
        index.out.display()
    );
    if let Some(o) = &slurm_options {
        return slurm::submit(&index, &index_path, &pending, o, a.dry_run);
    }
    let o = LocalOptions {
        jobs: a.jobs,
        task_args: a
            .runtime
            .task_args(Some(threads_per_job(a.jobs, a.runtime.threads))),
    };
    run_local(&index, &index_path, &pending, &o)?;
    let rows = collect_runs(std::slice::from_ref(&index.out), Selection::BestEval)?;
    print!(
        "{}",
        render_paper_layout(&rows, &default_paper_results(), Selection::BestEval)
    );
    Ok(())
}
