//! Where a run executes: device, CPU threads, where the features are held. Given by flags, never
//! by the experiment file, and recorded in the run's `summary.json`.
//!
//! None of it changes results, with one documented exception: a *streamed* training epoch
//! shuffles the shard order and the rows within `data.stream_window` shards, where a resident one
//! draws a global permutation. `data_residency = "auto"` picks resident whenever the run's
//! features fit `memory_budget_mib`, so the same budget on the same cache gives the same run.

use anyhow::{Context, Result};
use candle_core::Device;

pub use crate::data::{DataResidency, Residency};
pub use crate::model::cnn6::Kernels;
use serde::{Deserialize, Serialize};

/// The execution settings of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Runtime {
    /// `cpu` or `cuda:N`.
    pub device: String,
    /// CPU worker threads (None: all cores, or `RAYON_NUM_THREADS`).
    pub threads: Option<usize>,
    pub data_residency: DataResidency,
    /// `auto` residency: the most MiB of f32 features (train + validation + evaluation rows)
    /// kept resident.
    pub memory_budget_mib: u64,
    /// Streaming: shards read and verified ahead by a background thread.
    pub stream_prefetch: usize,
    /// Which implementation runs the CNN6 blocks (absent in runs written before it existed:
    /// `auto`).
    #[serde(default)]
    pub kernels: Kernels,
    /// Recorded, not set: the GEMM micro-kernels the CPU dispatched to ([`cpu_gemm_kernel`]),
    /// written into `summary.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_gemm: Option<String>,
}

impl From<&Runtime> for Residency {
    fn from(r: &Runtime) -> Self {
        Residency {
            policy: r.data_residency,
            memory_budget_mib: r.memory_budget_mib,
            stream_prefetch: r.stream_prefetch,
        }
    }
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime {
            device: "cpu".into(),
            threads: None,
            data_residency: DataResidency::Auto,
            memory_budget_mib: 4096,
            stream_prefetch: 2,
            kernels: Kernels::Auto,
            cpu_gemm: None,
        }
    }
}

/// The micro-kernels the `gemm` crate (our CPU convolutions and candle's CPU matmul) runs on
/// this CPU, chosen at run time as it chooses them: `avx512f` (built with its `x86-v4`
/// feature), `fma` (AVX2 + FMA), or `scalar`; other architectures by name.
pub fn cpu_gemm_kernel() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            "avx512f"
        } else if std::arch::is_x86_feature_detected!("fma") {
            "fma"
        } else {
            "scalar"
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        std::env::consts::ARCH
    }
}

impl Runtime {
    /// This runtime as recorded in `summary.json`: with the CPU's GEMM kernels.
    pub fn recorded(&self) -> Runtime {
        Runtime {
            cpu_gemm: Some(cpu_gemm_kernel().to_string()),
            ..self.clone()
        }
    }

    /// The device this runtime names.
    pub fn device(&self) -> Result<Device> {
        parse_device(&self.device)
    }

    /// Sizes the CPU thread pools when `threads` is set: rayon's global pool (the conv kernels)
    /// and candle's CPU ops (which read `RAYON_NUM_THREADS`). Call it before any CPU work; the
    /// pool can be sized once per process, so a later different request is reported, not fatal.
    pub fn apply_threads(&self) {
        if let Some(n) = self.threads {
            std::env::set_var("RAYON_NUM_THREADS", n.to_string());
            if rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build_global()
                .is_err()
                && rayon::current_num_threads() != n
            {
                tracing::warn!(
                    "--threads {n}: the thread pool already runs {} threads in this process",
                    rayon::current_num_threads()
                );
            }
        }
    }
}

/// Parses `cpu` / `cuda:N` (`cuda` alone is `cuda:0`).
pub fn parse_device(s: &str) -> Result<Device> {
    match s {
        "cpu" => Ok(Device::Cpu),
        s if s.starts_with("cuda") => {
            let n = s
                .strip_prefix("cuda")
                .and_then(|r| r.strip_prefix(':'))
                .unwrap_or("0");
            let n: usize = n
                .parse()
                .with_context(|| format!("device `{s}`: expected cuda:N"))?;
            let device = Device::new_cuda(n).with_context(|| {
                format!("device `{s}`: CUDA unavailable (build with `--features cuda` on a machine with an NVIDIA driver)")
            })?;
            #[cfg(feature = "cuda")]
            if let Device::Cuda(cuda) = &device {
                // SAFETY: cudarc's event tracking gives every allocation a read and a write
                // event so that work on *several* streams can be ordered; it records and waits
                // on them only once the context is in multi-stream mode (a stream made by
                // `new_stream` or `fork`). `Device::new_cuda` queues everything on one stream,
                // the per-thread default stream (cuBLAS, and cuDNN where built, on the same
                // one), and auscult makes no other stream; all device work (training,
                // evaluation, the savers' reads through `readback`) is queued from the thread
                // that owns the run, while the state writer's thread and the cache's prefetch
                // thread touch only host memory. One stream runs its work in order, so no
                // tensor can be freed, read or written out of order, and the events were never
                // used: tracking only cost two `cuEventCreate` (and destroy) per allocation. It
                // affects tensors created after this call; this device has none yet.
                unsafe { cuda.disable_event_tracking() };
            }
            Ok(device)
        }
        _ => anyhow::bail!("device `{s}`: expected cpu or cuda:N"),
    }
}
