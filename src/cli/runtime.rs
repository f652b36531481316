//! The runtime flags (where a run runs; never what it computes), declared once and flattened
//! into `train`, `sweep`, `embed`, `predict` and `bench train`.
//!
//! Declared here as `auscult train` shows them. A subcommand that words a flag differently or
//! gives it a default restyles it with `#[command(mut_arg(..))]` ([`restyle`]); a flag it does not
//! take is hidden ([`hidden`]) and refused when given ([`RuntimeArgs::refuse`]), so every
//! subcommand's flags and `--help` are what they were before the flags were shared.

use clap::{Arg, Args, Command};

use auscult::train::runtime::{DataResidency, Kernels, Runtime};

/// Help heading of the runtime flags in `auscult train`.
const RUNTIME: &str = "Runtime (where it runs; recorded in summary.json, not in the experiment)";

#[derive(Args, Debug, Clone, Default)]
pub struct RuntimeArgs {
    /// cpu or cuda:N (CUDA needs a `--features cuda` build) [default: cpu].
    #[arg(long, help_heading = RUNTIME)]
    pub device: Option<String>,
    /// CPU threads [default: all cores].
    #[arg(long, help_heading = RUNTIME)]
    pub threads: Option<usize>,
    /// Where the features live while training: `auto` (resident on the device when train +
    /// validation + evaluation fit --memory-budget-mib, else streamed), `resident`, or `stream`
    /// (bounded memory). A streamed epoch shuffles within windows of `data.stream_window`
    /// shards, so its order (not its statistics) differs from a resident one [default: auto].
    #[arg(long, value_name = "auto|resident|stream", help_heading = RUNTIME)]
    pub data_residency: Option<DataResidency>,
    /// `auto` residency: the most MiB of f32 features kept resident [default: 4096].
    #[arg(long, value_name = "MIB", help_heading = RUNTIME)]
    pub memory_budget_mib: Option<u64>,
    /// Streaming: shards read and verified ahead by a background thread [default: 2].
    #[arg(long, help_heading = RUNTIME)]
    pub stream_prefetch: Option<usize>,
    /// CNN6 block kernels: `auto` (fused CPU kernels on CPU; cuDNN convolutions on CUDA in a
    /// `--features cudnn` build, GEMM ones otherwise), `generic` (im2col + GEMM convolutions on
    /// any device), `cudnn` (cuDNN convolutions) [default: auto].
    #[arg(long, value_name = "auto|generic|cudnn", help_heading = RUNTIME)]
    pub kernels: Option<Kernels>,
}

/// A runtime flag as another subcommand shows it: its own help line, under the plain "Options"
/// heading.
pub(super) fn restyle(a: Arg, help: &'static str) -> Arg {
    a.help(help)
        .long_help(None::<&str>)
        .help_heading(None::<&str>)
}

/// A runtime flag a subcommand does not take: out of its `--help`, refused when given.
fn hidden(a: Arg) -> Arg {
    a.hide(true)
}

/// The data-placement flags, which `sweep` and `bench train` do not take.
pub(super) const DATA_PLACEMENT: [&str; 3] =
    ["data_residency", "memory_budget_mib", "stream_prefetch"];

/// The runtime flags that `embed` and `predict` do not take.
pub(super) const ONLY_DEVICE_AND_THREADS: [&str; 4] = [
    "data_residency",
    "memory_budget_mib",
    "stream_prefetch",
    "kernels",
];

/// Restyling of the flattened runtime flags, as `#[command(…)]` methods of a subcommand.
pub(super) trait RuntimeFlags {
    /// [`hidden`] for each flag in `names` (field names).
    fn hide_runtime_flags(self, names: &[&str]) -> Self;
    /// `embed`'s and `predict`'s runtime flags: `--device` (default cpu) and `--threads`; the
    /// others hidden.
    fn only_device_and_threads(self) -> Self;
}

impl RuntimeFlags for Command {
    fn hide_runtime_flags(self, names: &[&str]) -> Self {
        names.iter().fold(self, |c, name| c.mut_arg(*name, hidden))
    }

    fn only_device_and_threads(self) -> Self {
        self.mut_arg("device", |a| {
            restyle(a, "cpu or cuda:N").default_value("cpu")
        })
        .mut_arg("threads", |a| {
            restyle(a, "CPU threads (default: all cores)")
        })
        .hide_runtime_flags(&ONLY_DEVICE_AND_THREADS)
    }
}

impl RuntimeArgs {
    /// The runtime flags given, over `base` (the defaults, or a resumed run's recorded runtime).
    pub fn runtime_over(&self, base: &Runtime) -> Runtime {
        Runtime {
            device: self.device.clone().unwrap_or_else(|| base.device.clone()),
            threads: self.threads.or(base.threads),
            data_residency: self.data_residency.unwrap_or(base.data_residency),
            memory_budget_mib: self.memory_budget_mib.unwrap_or(base.memory_budget_mib),
            stream_prefetch: self.stream_prefetch.unwrap_or(base.stream_prefetch),
            kernels: self.kernels.unwrap_or(base.kernels),
            cpu_gemm: None,
        }
    }

    /// The runtime flags given, over the defaults.
    pub fn runtime(&self) -> Runtime {
        self.runtime_over(&Runtime::default())
    }

    /// [`Self::runtime`] of `auscult <command>`, which does not take the flags `lacking`.
    pub fn runtime_of(&self, command: &str, lacking: &[&str]) -> anyhow::Result<Runtime> {
        self.refuse(command, lacking)?;
        Ok(self.runtime())
    }

    /// Errs when a flag in `flags` (a subcommand's [`hidden`] ones, by field name) was given.
    pub fn refuse(&self, command: &str, flags: &[&str]) -> anyhow::Result<()> {
        let given = [
            ("data_residency", self.data_residency.is_some()),
            ("memory_budget_mib", self.memory_budget_mib.is_some()),
            ("stream_prefetch", self.stream_prefetch.is_some()),
            ("kernels", self.kernels.is_some()),
        ];
        for (name, is_given) in given {
            anyhow::ensure!(
                !(is_given && flags.contains(&name)),
                "--{} is not an option of `auscult {command}`",
                name.replace('_', "-")
            );
        }
        Ok(())
    }

    /// The runtime flags for a child `auscult sweep --index … --task …` (a local process or a
    /// Slurm array task): `--device` and `--kernels` always, the other flags given, and
    /// `--threads` when `threads` is given.
    pub fn task_args(&self, threads: Option<usize>) -> Vec<String> {
        let rt = self.runtime();
        let mut v = vec![
            "--device".to_string(),
            rt.device,
            "--kernels".to_string(),
            rt.kernels.to_string(),
        ];
        if let Some(r) = self.data_residency {
            let r = match r {
                DataResidency::Auto => "auto",
                DataResidency::Resident => "resident",
                DataResidency::Stream => "stream",
            };
            v.extend(["--data-residency".to_string(), r.to_string()]);
        }
        if let Some(m) = self.memory_budget_mib {
            v.extend(["--memory-budget-mib".to_string(), m.to_string()]);
        }
        if let Some(p) = self.stream_prefetch {
            v.extend(["--stream-prefetch".to_string(), p.to_string()]);
        }
        if let Some(t) = threads {
            v.extend(["--threads".to_string(), t.to_string()]);
        }
        v
    }
}
