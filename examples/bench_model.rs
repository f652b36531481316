//! CPU speed of CNN6 in candle (not a test): CE training step (forward + cross-entropy +
//! backward + plain SGD update) at batch 32 and eval-mode inference at batch 64, input
//! `[B, 1, 64, 251]`, on `BENCH_THREADS` (default: RAYON_NUM_THREADS, else 2) rayon threads.
//! Compare with `scripts/bench_model_torch.py`, or run both with `scripts/bench_model.sh`.
//!
//! `cargo run --release --example bench_model -- [--warmup 3] [--steps 5] [--frames 251]
//!  [--train-batch 32] [--infer-batch 64] [--phases]` (`--phases` also times forward, backward
//! and update separately). Prints `train_samples_per_s=` and `infer_samples_per_s=` lines.

use auscult::model::cnn6::{Cnn6, Cnn6Config};
use candle_core::{DType, Device, Tensor};
use candle_nn::{Optimizer, VarBuilder, VarMap, SGD};
use std::time::Instant;

struct Args {
    warmup: usize,
    steps: usize,
    frames: usize,
    train_batch: usize,
    infer_batch: usize,
    phases: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        warmup: 3,
        steps: 5,
        frames: 251,
        train_batch: 32,
        infer_batch: 64,
        phases: false,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let value = || {
            argv.get(i + 1)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{} needs a number", argv[i]))
        };
        match argv[i].as_str() {
            "--warmup" => a.warmup = value(),
            "--steps" => a.steps = value(),
            "--frames" => a.frames = value(),
            "--train-batch" => a.train_batch = value(),
            "--infer-batch" => a.infer_batch = value(),
            "--phases" => {
                a.phases = true;
                i += 1;
                continue;
            }
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    a
}

/// CPU time (user + system, all threads) of this process in seconds, from /proc/self/stat
/// (clock ticks at the usual 100 Hz); `None` where unavailable.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn main() -> candle_core::Result<()> {
    let args = parse_args();
    let threads: usize = std::env::var("BENCH_THREADS")
        .or_else(|_| std::env::var("RAYON_NUM_THREADS"))
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    // candle's own CPU ops read RAYON_NUM_THREADS; our conv / batch-norm kernels use rayon's pool.
    std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .expect("rayon pool");
    println!(
        "candle CNN6 bench: {threads} threads, input [B, 1, 64, {}]",
        args.frames
    );

    let dev = Device::Cpu;
    let vm = VarMap::new();
    let vb = VarBuilder::from_varmap(&vm, DType::F32, &dev);
    let model = Cnn6::new_seeded(vb, Cnn6Config::default(), 0)?;
    let mut opt = SGD::new(model.trainable_vars(), 1e-3)?;
    let x = Tensor::randn(0f32, 1.0, (args.train_batch, 1, 64, args.frames), &dev)?;
    let labels: Vec<u32> = (0..args.train_batch as u32).map(|i| i % 4).collect();
    let y = Tensor::new(labels.as_slice(), &dev)?;

    let (mut t_fwd, mut t_bwd, mut t_upd) = (0.0, 0.0, 0.0);
    let mut step = |timed: bool| -> candle_core::Result<()> {
        let t0 = Instant::now();
        let loss = candle_nn::loss::cross_entropy(&model.forward(&x, true)?, &y)?;
        let _ = loss.to_scalar::<f32>()?;
        let t1 = Instant::now();
        let grads = loss.backward()?;
        let t2 = Instant::now();
        opt.step(&grads)?;
        let t3 = Instant::now();
        if timed {
            t_fwd += (t1 - t0).as_secs_f64();
            t_bwd += (t2 - t1).as_secs_f64();
            t_upd += (t3 - t2).as_secs_f64();
        }
        Ok(())
    };
    for _ in 0..args.warmup {
        step(false)?;
    }
    let cpu0 = process_cpu_seconds();
    let t0 = Instant::now();
    for _ in 0..args.steps {
        step(true)?;
    }
    let dt = t0.elapsed().as_secs_f64();
    let n = args.steps as f64;
    println!(
        "candle train step: {:.3} s/step (batch {})",
        dt / n,
        args.train_batch
    );
    if let (Some(a), Some(b)) = (cpu0, process_cpu_seconds()) {
        println!("train_cpu_s_per_step={:.3}", (b - a) / n);
    }
    if args.phases {
        println!(
            "  forward {:.3} s, backward {:.3} s, update {:.3} s per step",
            t_fwd / n,
            t_bwd / n,
            t_upd / n
        );
    }
    println!(
        "train_samples_per_s={:.3}",
        n * args.train_batch as f64 / dt
    );

    let xi = Tensor::randn(0f32, 1.0, (args.infer_batch, 1, 64, args.frames), &dev)?;
    for _ in 0..args.warmup {
        model.forward(&xi, false)?.to_vec2::<f32>()?;
    }
    let t0 = Instant::now();
    for _ in 0..args.steps {
        model.forward(&xi, false)?.to_vec2::<f32>()?;
    }
    let dt = t0.elapsed().as_secs_f64();
    println!(
        "candle inference: {:.3} s/batch (batch {})",
        dt / n,
        args.infer_batch
    );
    println!(
        "infer_samples_per_s={:.3}",
        n * args.infer_batch as f64 / dt
    );
    Ok(())
}
