//! The one training loop: epochs over shuffled batches of the training split, a
//! [`Method`] supplying the loss, evaluation every epoch when the method classifies, one line
//! per epoch in `metrics.jsonl`, and the stage's checkpoints.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Result;
use candle_core::{DType, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use crate::data::transforms::InputTransform;
use crate::data::{RunData, SplitData};
use crate::eval::metrics::{ConfusionMatrix, DeviceConfusion, Metrics};
pub use crate::rundir::schema::{EpochRecord, Selected};
use crate::rundir::{MetricsLog, RunDir};
use crate::tensor::readback;
use crate::train::experiment::ScheduleConfig;
use crate::train::methods::Method;
use crate::train::optim::{Adam, AdamParams};
use crate::train::resume::{self, BestState, RngState, SavedState, StageState};
use crate::train::schedule::CosineAnnealingLr;

/// What one stage of a run trains: its name in `metrics.jsonl`, epochs, optimiser settings and
/// where its checkpoints go.
#[derive(Debug, Clone)]
pub struct StagePlan<'a> {
    /// `ce`, `scl`, …, or `linear_eval`.
    pub name: &'a str,
    pub epochs: usize,
    pub lr: f64,
    pub weight_decay: f64,
    /// The cosine schedule, stepped once per epoch; None keeps `lr` constant.
    pub schedule: Option<&'a ScheduleConfig>,
    /// Prefix of the stage's checkpoint names (`""`: `best`, `best_val`, `last`;
    /// `"pretrain_"` for the contrastive stage before linear evaluation).
    pub checkpoint_prefix: &'a str,
    /// 0 for the method's stage, 1 for linear evaluation after it (recorded in the state).
    pub index: usize,
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

    fn restored(b: Option<BestState>) -> Self {
        match b {
            Some(b) => Best {
                score: b.score,
                sel: Some(b.selected),
            },
            None => Best::new(),
        }
    }

    fn state(&self) -> Option<BestState> {
        self.sel.as_ref().map(|s| BestState {
            score: self.score,
            selected: s.clone(),
        })
    }

    /// Keeps `sel` if `score` beats the best so far; true when it does.
    fn offer(&mut self, score: f64, sel: &Selected) -> bool {
        let better = score > self.score;
        if better {
            self.score = score;
            self.sel = Some(sel.clone());
        }
        better
    }
}

/// Selections of one stage (None when the stage does not classify).
pub struct StageResult {
    pub best_eval: Option<Selected>,
    pub best_val: Option<Selected>,
    pub last: Option<Selected>,
    pub terms_last: serde_json::Map<String, serde_json::Value>,
}

/// What every stage of one seed shares: the data, the input transform, batch sizes, the run dir
/// and its metrics log.
pub struct Trainer<'a> {
    pub data: &'a RunData,
    pub transform: InputTransform,
    pub batch_size: usize,
    pub eval_batch_size: usize,
    pub run: &'a RunDir,
    pub log: MetricsLog,
    /// The contrastive stage's last loss terms, kept in linear evaluation's state.
    pub pretrain_terms: Option<serde_json::Map<String, serde_json::Value>>,
    /// Training seconds of earlier sessions of this run (resumed runs) …
    pub elapsed_before: f64,
    /// … and when this session started.
    pub started: Instant,
    /// Writes each epoch's state in the background.
    pub state_writer: resume::StateWriter,
}

impl Trainer<'_> {
    /// Runs one stage of `method`. Classifying methods are evaluated every epoch and keep
    /// `best` (evaluation Score), `best_val` (validation Score) and `last` checkpoints; the others
    /// keep `best_loss` (lowest training loss) and `last`. After every epoch the whole state is
    /// written to `checkpoints/state.safetensors`; `resume` (such a state, of this stage)
    /// continues after its last completed epoch. A SIGINT / SIGTERM (see
    /// [`resume::install_interrupt_handler`]) stops it at the next batch with
    /// [`resume::Interrupted`].
    pub fn fit(
        &mut self,
        method: &mut Method,
        plan: &StagePlan,
        rng: &mut ChaCha8Rng,
        resume: Option<SavedState>,
    ) -> Result<StageResult> {
        let stage = plan.name;
        let mut opt = Adam::new(
            method.trainable_vars(),
            AdamParams {
                lr: plan.lr,
                weight_decay: plan.weight_decay,
                ..AdamParams::default()
            },
        )?;
        let mut sched = plan
            .schedule
            .map(|s| CosineAnnealingLr::new(plan.lr, s.t_max, s.eta_min));
        let evaluates = method.has_classifier();
        let ck = |name: &str| {
            self.run
                .checkpoint(&format!("{}{name}", plan.checkpoint_prefix))
        };
        let (mut best_eval, mut best_val) = (Best::new(), Best::new());
        let mut last = None;
        let mut terms_last = serde_json::Map::new();
        let mut best_loss = f64::INFINITY;
        let mut done = 0;
        if let Some(saved) = resume {
            let st = &saved.state;
            anyhow::ensure!(
                st.stage == stage && st.stage_index == plan.index,
                "the saved state is of stage `{}`, the run is at `{stage}`",
                st.stage
            );
            resume::restore_vars(&method.state_vars(), &saved.tensors)?;
            for i in 0..opt.vars().len() {
                opt.set_moments(i, resume::adam_moments(&saved, i)?)?;
            }
            opt.set_lr(st.lr);
            if let (Some(s), Some(saved_s)) = (sched.as_mut(), &st.schedule) {
                *s = saved_s.clone();
            }
            *rng = st.rng.restore()?;
            best_eval = Best::restored(st.best_eval.clone());
            best_val = Best::restored(st.best_val.clone());
            best_loss = st.best_loss.unwrap_or(f64::INFINITY);
            last = st.last.clone();
            terms_last = st.terms_last.clone();
            done = st.epoch;
            tracing::info!(
                "{stage}: resumed after epoch {done}/{} from {}",
                plan.epochs,
                self.run.state_path().display()
            );
        }
        let train = &self.data.train;
        let per_epoch = train.len().div_ceil(self.batch_size) as u64;
        let bar = progress_bar(stage, plan.epochs as u64 * per_epoch);
        bar.inc(done as u64 * per_epoch);
        let interrupted = |epoch: usize| resume::Interrupted {
            stage: stage.to_string(),
            epoch,
            saved: epoch - 1,
            run_dir: self.run.path().to_path_buf(),
        };
        for epoch in done + 1..=plan.epochs {
            let t0 = Instant::now();
            // Accumulated on the device, read once after the epoch (see `readback`).
            let mut loss_sum: Option<Tensor> = None;
            let mut n_batches = 0usize;
            let mut terms: BTreeMap<String, Tensor> = BTreeMap::new();
            let mut cm = DeviceConfusion::new(self.data.confusion()?, train.device())?;
            for batch in train.epoch(self.batch_size, rng, method.needs_features())? {
                if resume::interrupted() {
                    bar.finish_and_clear();
                    self.state_writer.wait()?;
                    return Err(interrupted(epoch).into());
                }
                let batch = batch?;
                n_batches += 1;
                bar.inc(1);
                let out = method.loss(&batch, &self.transform, rng)?;
                opt.step(&out.loss.backward()?)?;
                add_to(&mut loss_sum, &out.loss.detach())?;
                for (k, v) in out.terms {
                    match terms.remove(&k) {
                        Some(sum) => terms.insert(k, (sum + v.to_dtype(DType::F64)?)?),
                        None => terms.insert(k, v.to_dtype(DType::F64)?),
                    };
                }
                if let Some(logits) = out.logits {
                    // Two-view methods return both views' logits: targets repeat.
                    let views = logits.dim(0)? / batch.y().dim(0)?.max(1);
                    let y = Tensor::cat(&vec![batch.y(); views], 0)?;
                    cm.add(&logits, &y)?;
                }
            }
            let nb = n_batches.max(1) as f64;
            let train_loss = match &loss_sum {
                Some(t) => readback::scalar(t)? / nb,
                None => 0.0,
            };
            anyhow::ensure!(
                train_loss.is_finite(),
                "{stage} epoch {epoch}: the mean training loss is {train_loss} (training diverged \
                 at lr {:.3e}; try a lower --lr, or check the cache with `auscult pipeline inspect`)",
                opt.lr()
            );
            let mut loss_terms = serde_json::Map::new();
            for (k, v) in terms {
                loss_terms.insert(k, json!(readback::scalar(&v)? / nb));
            }
            let cm = cm.finish()?;
            let seconds = t0.elapsed().as_secs_f64();
            let (val, eval) = if evaluates {
                let val = self
                    .data
                    .val
                    .as_ref()
                    .map(|v| self.evaluate(method, v))
                    .transpose()?;
                (val, Some(self.evaluate(method, &self.data.eval)?))
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
                samples_per_s: train.len() as f64 / seconds.max(1e-9),
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
                "epoch {epoch}/{}  loss {train_loss:.4}{scores}",
                plan.epochs
            ));
            bar.suspend(|| {
                tracing::info!(
                    "{stage} epoch {epoch}/{}  loss {train_loss:.4}  lr {:.2e}{scores}  {:.1} samples/s",
                    plan.epochs,
                    opt.lr(),
                    rec.samples_per_s
                )
            });
            if let Some(e) = eval {
                let sel = Selected {
                    epoch,
                    eval: e,
                    val,
                };
                if best_eval.offer(sel.eval.score, &sel) {
                    method.save(&ck("best"))?;
                }
                if let Some(v) = &sel.val {
                    if best_val.offer(v.score, &sel) {
                        method.save(&ck("best_val"))?;
                    }
                }
                last = Some(sel);
            } else if train_loss < best_loss {
                best_loss = train_loss;
                method.save(&ck("best_loss"))?;
            }
            terms_last = loss_terms;
            if let Some(s) = sched.as_mut() {
                opt.set_lr(s.step());
            }
            let state = StageState {
                version: resume::STATE_VERSION,
                stage_index: plan.index,
                stage: stage.to_string(),
                epoch,
                rng: RngState::of(rng),
                lr: opt.lr(),
                adam_steps: (0..opt.vars().len()).map(|i| opt.step_count(i)).collect(),
                schedule: sched.clone(),
                best_eval: best_eval.state(),
                best_val: best_val.state(),
                best_loss: best_loss.is_finite().then_some(best_loss),
                last: last.clone(),
                terms_last: terms_last.clone(),
                pretrain_terms: self.pretrain_terms.clone(),
                metrics_bytes: self.log.bytes(),
                elapsed_seconds: self.elapsed_before + self.started.elapsed().as_secs_f64(),
            };
            self.state_writer.save(
                &self.run.state_path(),
                &state,
                &method.state_vars(),
                &opt.moments(),
                self.log.handle()?,
            )?;
            if resume::interrupted() && epoch < plan.epochs {
                bar.finish_and_clear();
                self.state_writer.wait()?;
                return Err(interrupted(epoch + 1).into());
            }
        }
        // The stage's last state is on disk before anything reads or removes it.
        self.state_writer.wait()?;
        bar.finish_and_clear();
        method.save(&ck("last"))?;
        Ok(StageResult {
            best_eval: best_eval.sel,
            best_val: best_val.sel,
            last,
            terms_last,
        })
    }

    fn evaluate(&self, method: &Method, split: &SplitData) -> Result<Metrics> {
        evaluate(
            method,
            split,
            &self.transform,
            self.eval_batch_size,
            self.data.confusion()?,
        )
    }
}

/// Metrics of a method's classifier on a split: eval mode, no augmentation, counted into `cm`
/// (empty, with the cache's classes).
pub fn evaluate(
    method: &Method,
    split: &SplitData,
    transform: &InputTransform,
    batch: usize,
    cm: ConfusionMatrix,
) -> Result<Metrics> {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut counts = DeviceConfusion::new(cm, split.device())?;
    for b in split.ordered(batch, method.needs_features())? {
        let b = b?;
        let logits = method.split_logits(split, &b, transform, &mut rng)?;
        counts.add(&logits, b.y())?;
    }
    Ok(counts.finish()?.metrics())
}

/// `sum += x` in f64 on the device (`sum` starts empty).
fn add_to(sum: &mut Option<Tensor>, x: &Tensor) -> Result<()> {
    let x = x.to_dtype(DType::F64)?;
    *sum = Some(match sum.take() {
        Some(s) => (s + x)?,
        None => x,
    });
    Ok(())
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
