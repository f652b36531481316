//! The one training loop: epochs over shuffled batches of the resident training split, a
//! [`Method`](super::methods::Method) supplying the loss, evaluation every epoch, and the run
//! dir (`config.toml`, `metrics.jsonl`, `summary.json`, `checkpoints/`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::json;

use super::cnn6::{Cnn6, Cnn6Config};
use super::config::{DataResidency, StandardizeChoice, TrainConfig};
use super::data::{CacheData, Placement, SplitData};
use super::methods::{Method, MethodKind};
use super::metrics::{argmax_predictions, ConfusionMatrix, Metrics, MetricsSummary, StdKind};
use super::optim::{Adam, AdamParams};
use super::schedule::CosineAnnealingLr;
use super::transforms::{measure_input_stats, InputTransform, MinMax};

/// Parses `cpu` / `cuda:N`.
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
            Device::new_cuda(n).with_context(|| {
                format!("device `{s}`: CUDA unavailable (build with `--features cuda` on a machine with an NVIDIA driver)")
            })
        }
        _ => anyhow::bail!("device `{s}`: expected cpu or cuda:N"),
    }
}

/// Train / validation / evaluation splits of one run.
pub struct RunData {
    pub train: SplitData,
    pub val: Option<SplitData>,
    pub eval: SplitData,
    pub n_classes: usize,
}

/// Loads the splits a config asks for.
pub fn load_data(cache: &CacheData, cfg: &TrainConfig, device: &Device) -> Result<RunData> {
    let eval_split = cfg
        .eval_split
        .clone()
        .unwrap_or_else(|| cache.default_eval_split().to_string());
    let train_rows = cache.rows_of(&cfg.train_split);
    let eval_rows = cache.rows_of(&eval_split);
    let have = || cache.splits().into_iter().collect::<Vec<_>>().join(", ");
    anyhow::ensure!(
        !train_rows.is_empty(),
        "no rows in split `{}` (cache has: {})",
        cfg.train_split,
        have()
    );
    anyhow::ensure!(
        !eval_rows.is_empty(),
        "no rows in split `{eval_split}` (cache has: {})",
        have()
    );
    let (train_rows, val_rows) = if cfg.val_fraction > 0.0 {
        let (t, v) = cache.patient_holdout(&train_rows, cfg.val_fraction, cfg.seed)?;
        (t, Some(v))
    } else {
        (train_rows, None)
    };
    let total_rows = train_rows.len() + eval_rows.len() + val_rows.as_ref().map_or(0, Vec::len);
    let bytes = cache.feature_bytes(total_rows);
    let budget = cfg.memory_budget_mib.saturating_mul(1 << 20);
    let resident = match cfg.data_residency {
        DataResidency::Resident => true,
        DataResidency::Stream => false,
        DataResidency::Auto => bytes <= budget,
    };
    let placement = if resident {
        Placement::Resident
    } else {
        Placement::Streamed {
            prefetch: cfg.stream_prefetch,
            window: cfg.stream_window,
        }
    };
    tracing::info!(
        "features: {:.1} MiB for {total_rows} rows, {} (data_residency {:?}, budget {} MiB)",
        bytes as f64 / (1 << 20) as f64,
        if resident {
            "resident on the device"
        } else {
            "streamed from the shards"
        },
        cfg.data_residency,
        cfg.memory_budget_mib
    );
    let mut named: Vec<(&str, &[usize])> =
        vec![(&cfg.train_split, &train_rows), (&eval_split, &eval_rows)];
    if let Some(v) = &val_rows {
        named.push(("val", v));
    }
    let mut splits = cache.load_splits(&named, device, placement)?.into_iter();
    let (train, eval) = (splits.next(), splits.next());
    Ok(RunData {
        train: train.context("train split")?,
        eval: eval.context("evaluation split")?,
        val: splits.next(),
        n_classes: cache.n_classes,
    })
}

/// Metrics of `model` (+ the method's classifier) on a split, eval mode, no augmentation.
pub fn evaluate(
    method: &Method,
    split: &SplitData,
    transform: &InputTransform,
    batch: usize,
    n_classes: usize,
) -> Result<Metrics> {
    let mut cm = ConfusionMatrix::new(n_classes)?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for b in split.ordered(batch, method.needs_features())? {
        let b = b?;
        let logits = method.split_logits(split, &b, transform, &mut rng)?;
        cm.add(&argmax_predictions(&logits)?, b.targets())?;
    }
    Ok(cm.metrics())
}

/// One epoch's line in `metrics.jsonl`.
#[derive(Debug, Clone, Serialize)]
pub struct EpochRecord {
    pub stage: String,
    pub epoch: usize,
    pub lr: f64,
    pub train_loss: f64,
    /// Named loss terms (e.g. per-head SupCon), averaged over batches.
    pub loss_terms: serde_json::Map<String, serde_json::Value>,
    pub train: Option<Metrics>,
    pub val: Option<Metrics>,
    pub eval: Option<Metrics>,
    pub seconds: f64,
    pub samples_per_s: f64,
}

/// Best epoch by some criterion.
#[derive(Debug, Clone, Serialize)]
pub struct Selected {
    pub epoch: usize,
    /// Metrics on the evaluation split at that epoch.
    pub eval: Metrics,
    /// Validation metrics at that epoch (when selecting by validation).
    pub val: Option<Metrics>,
}

/// What a single-seed run produced (also written as its `summary.json`).
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub method: String,
    /// Stem of the config file the run was started from (e.g. `table1_scl_scratch`), matched by
    /// `auscult report` against the paper's numbers.
    pub config_name: Option<String>,
    pub seed: u64,
    pub dataset: String,
    pub eval_split: String,
    /// The paper's protocol: the epoch with the best Score on the evaluation (test) split.
    pub best_by_eval: Selected,
    /// Honest selection: the epoch with the best validation Score (when `val_fraction` > 0).
    pub best_by_val: Option<Selected>,
    pub final_epoch: Selected,
    pub loss_terms_last_epoch: serde_json::Map<String, serde_json::Value>,
    /// Method facts (contrastive heads, their labels, training rows lacking a metadata label).
    pub method_info: serde_json::Map<String, serde_json::Value>,
    pub wall_seconds: f64,
    pub git_revision: Option<String>,
    pub train_rows: usize,
    pub val_rows: usize,
    pub eval_rows: usize,
}

fn git_revision() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Appends JSON lines to `metrics.jsonl`.
struct MetricsLog(std::fs::File);

impl MetricsLog {
    fn create(path: &Path) -> Result<Self> {
        Ok(MetricsLog(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        ))
    }
    fn write(&mut self, rec: &EpochRecord) -> Result<()> {
        writeln!(self.0, "{}", serde_json::to_string(rec)?)?;
        Ok(())
    }
}

fn write_json_atomic(path: &Path, v: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(v)?;
    auscult_cache::write_atomic(path, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// Keeps the best epoch by a score.
struct Best {
    score: f64,
    sel: Option<Selected>,
}

impl Best {
    fn new() -> Self {
        Best {
            score: f64::NEG_INFINITY,
            sel: None,
        }
    }
    fn offer(&mut self, score: f64, sel: impl FnOnce() -> Selected) -> bool {
        if score > self.score {
            self.score = score;
            self.sel = Some(sel());
            true
        } else {
            false
        }
    }
}

/// Context shared by all epochs of one seed.
pub struct Trainer<'a> {
    pub cfg: &'a TrainConfig,
    pub data: &'a RunData,
    pub transform: InputTransform,
    pub device: Device,
    pub out: PathBuf,
    log: MetricsLog,
}

impl<'a> Trainer<'a> {
    /// Runs `epochs` epochs of `method` (stage name `stage`), evaluating through the method's
    /// classifier when it has one. Returns the best-by-eval, best-by-val and final selections.
    #[allow(clippy::too_many_arguments)]
    pub fn fit(
        &mut self,
        method: &mut Method,
        stage: &str,
        epochs: usize,
        lr: f64,
        weight_decay: f64,
        schedule: bool,
        rng: &mut ChaCha8Rng,
        checkpoints: bool,
    ) -> Result<StageResult> {
        let vars = method.trainable_vars();
        let mut opt = Adam::new(
            vars,
            AdamParams {
                lr,
                weight_decay,
                ..AdamParams::default()
            },
        )?;
        let mut sched = CosineAnnealingLr::new(lr, self.cfg.cosine_t_max, self.cfg.cosine_eta_min);
        let evaluates = method.has_classifier();
        let (mut best_eval, mut best_val) = (Best::new(), Best::new());
        let mut last: Option<Selected> = None;
        let mut terms_last = serde_json::Map::new();
        let mut best_loss = f64::INFINITY;
        let ckpt_dir = self.out.join("checkpoints");
        std::fs::create_dir_all(&ckpt_dir)?;
        let per_epoch = self.data.train.len().div_ceil(self.cfg.batch_size) as u64;
        let bar = progress_bar(stage, epochs as u64 * per_epoch);
        for epoch in 1..=epochs {
            let t0 = Instant::now();
            let batches =
                self.data
                    .train
                    .epoch(self.cfg.batch_size, rng, method.needs_features())?;
            let mut loss_sum = 0.0;
            let mut n_batches = 0usize;
            let mut terms: std::collections::BTreeMap<String, f64> = Default::default();
            let mut cm = ConfusionMatrix::new(self.data.n_classes)?;
            for batch in batches {
                let batch = batch?;
                n_batches += 1;
                bar.inc(1);
                let out = method.loss(&batch, &self.transform, rng)?;
                let loss = out.loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
                anyhow::ensure!(
                    loss.is_finite(),
                    "{stage} epoch {epoch}, batch {n_batches}: the loss is {loss} (training \
                     diverged at lr {:.3e}; try a lower --lr, or check the cache with \
                     `auscult pipeline inspect`)",
                    opt.lr()
                );
                let grads = out.loss.backward()?;
                opt.step(&grads)?;
                loss_sum += loss;
                for (k, v) in out.terms {
                    *terms.entry(k).or_default() += v;
                }
                if let Some(logits) = out.logits {
                    let pred = argmax_predictions(&logits)?;
                    let t = batch.targets();
                    // Two-view methods return both views' logits: targets repeat.
                    let t: Vec<usize> = t.iter().cycle().take(pred.len()).copied().collect();
                    cm.add(&pred, &t)?;
                }
            }
            let nb = n_batches.max(1) as f64;
            let seconds = t0.elapsed().as_secs_f64();
            let train_loss = loss_sum / nb;
            let loss_terms: serde_json::Map<_, _> =
                terms.into_iter().map(|(k, v)| (k, json!(v / nb))).collect();
            let (val, eval) = if evaluates {
                let b = self.cfg.eval_batch_size;
                let n = self.data.n_classes;
                let val = self
                    .data
                    .val
                    .as_ref()
                    .map(|v| evaluate(method, v, &self.transform, b, n))
                    .transpose()?;
                (
                    val,
                    Some(evaluate(method, &self.data.eval, &self.transform, b, n)?),
                )
            } else {
                (None, None)
            };
            let rec = EpochRecord {
                stage: stage.to_string(),
                epoch,
                lr: opt.lr(),
                train_loss,
                loss_terms: loss_terms.clone(),
                train: (cm.total() > 0).then(|| cm.metrics()),
                val: val.clone(),
                eval: eval.clone(),
                seconds,
                samples_per_s: self.data.train.len() as f64 / seconds.max(1e-9),
            };
            self.log.write(&rec)?;
            let scores = eval
                .as_ref()
                .map(|m| {
                    format!(
                        "  {} Se {:.3} Sp {:.3} Score {:.3}",
                        self.data.eval.name, m.se, m.sp, m.score
                    )
                })
                .unwrap_or_default();
            bar.set_message(format!(
                "epoch {epoch}/{epochs}  loss {train_loss:.4}{scores}"
            ));
            bar.suspend(|| {
                tracing::info!(
                    "{stage} epoch {epoch}/{epochs}  loss {train_loss:.4}  lr {:.2e}{scores}  {:.1} samples/s",
                    opt.lr(),
                    rec.samples_per_s
                )
            });
            if let Some(e) = &eval {
                let sel = || Selected {
                    epoch,
                    eval: e.clone(),
                    val: val.clone(),
                };
                if best_eval.offer(e.score, sel) && checkpoints {
                    method.save(&ckpt_dir.join("best.safetensors"))?;
                }
                if let Some(v) = &val {
                    if best_val.offer(v.score, || Selected {
                        epoch,
                        eval: e.clone(),
                        val: Some(v.clone()),
                    }) && checkpoints
                    {
                        method.save(&ckpt_dir.join("best_val.safetensors"))?;
                    }
                }
                last = Some(Selected {
                    epoch,
                    eval: e.clone(),
                    val: val.clone(),
                });
            }
            if !evaluates && checkpoints && train_loss < best_loss {
                best_loss = train_loss;
                method.save(&ckpt_dir.join("best_loss.safetensors"))?;
            }
            terms_last = loss_terms;
            if schedule {
                opt.set_lr(sched.step());
            }
        }
        bar.finish_and_clear();
        if checkpoints {
            method.save(&ckpt_dir.join("last.safetensors"))?;
        }
        Ok(StageResult {
            best_eval: best_eval.sel,
            best_val: best_val.sel,
            last,
            terms_last,
        })
    }
}

/// A bar over the training batches of a stage, drawn on stderr only when it is a terminal.
fn progress_bar(stage: &str, batches: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(batches);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix} {bar:30} {pos}/{len} batches  eta {eta}  {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_prefix(stage.to_string());
    bar
}

/// Selections of one stage (None when the stage does not classify).
pub struct StageResult {
    pub best_eval: Option<Selected>,
    pub best_val: Option<Selected>,
    pub last: Option<Selected>,
    pub terms_last: serde_json::Map<String, serde_json::Value>,
}

/// Trains one seed into `out`; `config_name` is recorded in the summary.
pub fn train_one(
    kind: MethodKind,
    cfg: &TrainConfig,
    config_name: Option<&str>,
    cache: &CacheData,
    data: &RunData,
    out: &Path,
) -> Result<RunSummary> {
    let t0 = Instant::now();
    std::fs::create_dir_all(out).with_context(|| format!("creating run dir {}", out.display()))?;
    let device = data.train.device().clone();
    let mut cfg = cfg.clone();
    if cfg.standardize == StandardizeChoice::TrainStats && cfg.train_stats.is_none() {
        let minmax = if cfg.minmax == super::config::MinMaxChoice::PerBatch {
            MinMax::PerBatch
        } else {
            MinMax::PerSample
        };
        let batches = data.train.ordered(cfg.eval_batch_size, true)?.map(|b| {
            b.and_then(|b| b.x())
                .map_err(|e| candle_core::Error::Msg(e.to_string()))
        });
        let stats = measure_input_stats(batches, minmax)?.context("empty training split")?;
        cfg.train_stats = Some((stats.mean, stats.std));
    }
    std::fs::write(out.join("config.toml"), cfg.to_toml())?;
    let transform = cfg.input_transform();
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &device);
    let model = Cnn6::new_seeded(
        vb.pp("cnn6"),
        Cnn6Config {
            num_classes: data.n_classes,
            dropout: cfg.dropout,
        },
        cfg.seed,
    )?;
    if let Some(p) = &cfg.pretrained {
        let report = super::panns::load_panns_cnn6(p, &model)
            .with_context(|| format!("loading AudioSet weights {}", p.display()))?;
        tracing::info!("{report}");
    }
    let class_weights = if cfg.class_weights {
        let w = super::losses::class_weights(&data.train.class_counts(data.n_classes))?;
        Some(Tensor::from_vec(w, data.n_classes, &device)?)
    } else {
        None
    };
    let mut method = Method::new(kind, model, &cfg, cache, data, class_weights, &device)?;
    let method_info = method.info();
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut trainer = Trainer {
        cfg: &cfg,
        data,
        transform,
        device: device.clone(),
        out: out.to_path_buf(),
        log: MetricsLog::create(&out.join("metrics.jsonl"))?,
    };
    let mut result = trainer.fit(
        &mut method,
        kind.name(),
        cfg.epochs,
        cfg.lr,
        cfg.weight_decay,
        true,
        &mut rng,
        true,
    )?;
    if !method.has_classifier() {
        // SCL-style: freeze the encoder chosen by `encoder_checkpoint` and train a linear head.
        if cfg.encoder_checkpoint == "best-loss" {
            method.load(&out.join("checkpoints/best_loss.safetensors"))?;
        }
        let mut probe = method.into_linear_eval(&cfg, data, &device)?;
        let le = &cfg.linear_eval;
        let terms = result.terms_last.clone();
        result = trainer.fit(
            &mut probe,
            "linear_eval",
            le.epochs,
            le.lr,
            le.weight_decay,
            false,
            &mut rng,
            true,
        )?;
        result.terms_last = terms;
    }
    let best_eval = result.best_eval.context("no evaluation happened")?;
    let summary = RunSummary {
        method: kind.name().to_string(),
        config_name: config_name.map(str::to_string),
        seed: cfg.seed,
        dataset: cache.dataset.clone(),
        eval_split: data.eval.name.clone(),
        final_epoch: result.last.unwrap_or_else(|| best_eval.clone()),
        best_by_eval: best_eval,
        best_by_val: result.best_val,
        loss_terms_last_epoch: result.terms_last,
        method_info,
        wall_seconds: t0.elapsed().as_secs_f64(),
        git_revision: git_revision(),
        train_rows: data.train.len(),
        val_rows: data.val.as_ref().map_or(0, SplitData::len),
        eval_rows: data.eval.len(),
    };
    write_json_atomic(&out.join("summary.json"), &summary)?;
    Ok(summary)
}

/// Mean ± std over seeds of the selected metrics (`summary.json` of a multi-seed run).
#[derive(Debug, Clone, Serialize)]
pub struct MultiRunSummary {
    pub method: String,
    /// Stem of the config file the runs were started from.
    pub config_name: Option<String>,
    pub dataset: String,
    pub seeds: Vec<u64>,
    /// Population std (ddof 0, like `np.std`).
    pub best_by_eval: Option<MetricsSummary>,
    /// Evaluation-split metrics at the epochs chosen on validation (honest protocol).
    pub best_by_val: Option<MetricsSummary>,
    pub final_epoch: Option<MetricsSummary>,
    pub runs: Vec<String>,
}

/// `--runs N`: seeds S..S+N-1 into `out/seed_<s>/`, then the aggregate `out/summary.json`.
/// With one run the run dir is `out` itself.
pub fn train(
    kind: MethodKind,
    cfg: &TrainConfig,
    cache_dir: &Path,
    out: &Path,
) -> Result<MultiRunSummary> {
    train_named(kind, cfg, None, cache_dir, out)
}

/// [`train`], recording `config_name` (the config file's stem) in every summary.
pub fn train_named(
    kind: MethodKind,
    cfg: &TrainConfig,
    config_name: Option<&str>,
    cache_dir: &Path,
    out: &Path,
) -> Result<MultiRunSummary> {
    cfg.validate()?;
    let device = parse_device(&cfg.device)?;
    let cache = CacheData::open(cache_dir)?;
    let mut summaries = Vec::new();
    let mut dirs = Vec::new();
    for r in 0..cfg.runs {
        let mut c = cfg.clone();
        c.seed = cfg.seed + r as u64;
        let dir = if cfg.runs == 1 {
            out.to_path_buf()
        } else {
            out.join(format!("seed_{}", c.seed))
        };
        let data = load_data(&cache, &c, &device)?;
        tracing::info!(
            "run {}/{}: seed {}, {} train / {} val / {} {} rows",
            r + 1,
            cfg.runs,
            c.seed,
            data.train.len(),
            data.val.as_ref().map_or(0, SplitData::len),
            data.eval.len(),
            data.eval.name
        );
        summaries.push(train_one(kind, &c, config_name, &cache, &data, &dir)?);
        dirs.push(dir.display().to_string());
    }
    let pick = |f: &dyn Fn(&RunSummary) -> Option<Metrics>| {
        let v: Option<Vec<Metrics>> = summaries.iter().map(f).collect();
        v.and_then(|v| MetricsSummary::of(&v, StdKind::Population))
    };
    let multi = MultiRunSummary {
        method: kind.name().to_string(),
        config_name: config_name.map(str::to_string),
        dataset: cache.dataset.clone(),
        seeds: summaries.iter().map(|s| s.seed).collect(),
        best_by_eval: pick(&|s| Some(s.best_by_eval.eval.clone())),
        best_by_val: pick(&|s| s.best_by_val.as_ref().map(|b| b.eval.clone())),
        final_epoch: pick(&|s| Some(s.final_epoch.eval.clone())),
        runs: dirs,
    };
    if cfg.runs > 1 {
        write_json_atomic(&out.join("summary.json"), &multi)?;
    }
    Ok(multi)
}
