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
use crate::train::interrupt;
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

/// The epochs one stage has selected so far: the best by evaluation Score (the paper's
/// protocol), the best by validation Score (honest selection), the lowest training loss (methods
/// that do not classify) and the last evaluated epoch; with the last epoch's loss terms.
struct Selections {
    best_eval: Best,
    best_val: Best,
    best_loss: f64,
    last: Option<Selected>,
    terms_last: serde_json::Map<String, serde_json::Value>,
}

impl Selections {
    fn new() -> Self {
        Selections {
            best_eval: Best::new(),
            best_val: Best::new(),
            best_loss: f64::INFINITY,
            last: None,
            terms_last: serde_json::Map::new(),
        }
    }

    fn restored(st: &StageState) -> Self {
        Selections {
            best_eval: Best::restored(st.best_eval.clone()),
            best_val: Best::restored(st.best_val.clone()),
            best_loss: st.best_loss.unwrap_or(f64::INFINITY),
            last: st.last.clone(),
            terms_last: st.terms_last.clone(),
        }
    }

    /// Records a finished epoch; returns the checkpoints it now holds (`best`, `best_val` for a
    /// classifying method, `best_loss` for the others).
    fn record(&mut self, rec: &EpochRecord) -> Vec<&'static str> {
        let mut improved = Vec::new();
        if let Some(e) = &rec.eval {
            let sel = Selected {
                epoch: rec.epoch,
                eval: e.clone(),
                val: rec.val.clone(),
            };
            if self.best_eval.offer(sel.eval.score, &sel) {
                improved.push("best");
            }
            if let Some(v) = &sel.val {
                if self.best_val.offer(v.score, &sel) {
                    improved.push("best_val");
                }
            }
            self.last = Some(sel);
        } else if rec.train_loss < self.best_loss {
            self.best_loss = rec.train_loss;
            improved.push("best_loss");
        }
        self.terms_last = rec.loss_terms.clone();
        improved
    }

    fn into_result(self) -> StageResult {
        StageResult {
            best_eval: self.best_eval.sel,
            best_val: self.best_val.sel,
            last: self.last,
            terms_last: self.terms_last,
        }
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

/// The optimiser of a stage and its learning-rate schedule.
struct Optimiser {
    adam: Adam,
    schedule: Option<CosineAnnealingLr>,
}

/// What one training epoch accumulated (device sums, read once after the epoch: see
/// [`readback`]).
struct EpochSums {
    loss: Option<Tensor>,
    batches: usize,
    terms: BTreeMap<String, Tensor>,
    confusion: DeviceConfusion,
    seconds: f64,
}

impl Trainer<'_> {
    /// Runs one stage of `method`. Classifying methods are evaluated every epoch and keep
    /// `best` (evaluation Score), `best_val` (validation Score) and `last` checkpoints; the others
    /// keep `best_loss` (lowest training loss) and `last`. After every epoch the whole state is
    /// written to `checkpoints/state.safetensors`; `resume` (such a state, of this stage)
    /// continues after its last completed epoch. A SIGINT / SIGTERM (see
    /// [`interrupt::install_interrupt_handler`]) stops it at the next batch with
    /// [`interrupt::Interrupted`].
    pub fn fit(
        &mut self,
        method: &mut Method,
        plan: &StagePlan,
        rng: &mut ChaCha8Rng,
        resume: Option<SavedState>,
    ) -> Result<StageResult> {
        let mut opt = Optimiser {
            adam: Adam::new(
                method.trainable_vars(),
                AdamParams {
                    lr: plan.lr,
                    weight_decay: plan.weight_decay,
                    ..AdamParams::default()
                },
            )?,
            schedule: plan
                .schedule
                .map(|s| CosineAnnealingLr::new(plan.lr, s.t_max, s.eta_min)),
        };
        let (mut sel, done) = match resume {
            Some(saved) => self.restore(method, plan, &mut opt, rng, saved)?,
            None => (Selections::new(), 0),
        };
        let per_epoch = self.data.train.len().div_ceil(self.batch_size) as u64;
        let bar = progress_bar(plan.name, plan.epochs as u64 * per_epoch);
        bar.inc(done as u64 * per_epoch);
        for epoch in done + 1..=plan.epochs {
            let epoch_started = Instant::now();
            let Some(sums) = self.train_epoch(method, &mut opt.adam, rng, &bar)? else {
                return Err(self.stop(plan, epoch, &bar)?);
            };
            let rec = self.epoch_record(method, plan, epoch, opt.adam.lr(), sums)?;
            self.log.write(&rec)?;
            show_epoch(&bar, plan, &rec, &self.data.eval.name);
            for name in sel.record(&rec) {
                method.save(
                    &self
                        .run
                        .checkpoint(&format!("{}{name}", plan.checkpoint_prefix)),
                )?;
            }
            if let Some(s) = opt.schedule.as_mut() {
                opt.adam.set_lr(s.step());
            }
            self.save_state(method, plan, epoch, &opt, rng, &sel)?;
            interrupt::epoch_finished(epoch_started.elapsed());
            if interrupt::interrupted() && epoch < plan.epochs {
                return Err(self.stop(plan, epoch + 1, &bar)?);
            }
        }
        // The stage's last state is on disk before anything reads or removes it.
        self.state_writer.wait()?;
        bar.finish_and_clear();
        method.save(
            &self
                .run
                .checkpoint(&format!("{}last", plan.checkpoint_prefix)),
        )?;
        Ok(sel.into_result())
    }

    /// Puts a saved state of this stage back: the method's tensors, Adam, the schedule, the
    /// generator and the selections; returns them with the number of completed epochs.
    fn restore(
        &self,
        method: &Method,
        plan: &StagePlan,
        opt: &mut Optimiser,
        rng: &mut ChaCha8Rng,
        saved: SavedState,
    ) -> Result<(Selections, usize)> {
        let st = &saved.state;
        anyhow::ensure!(
            st.stage == plan.name && st.stage_index == plan.index,
            "the saved state is of stage `{}`, the run is at `{}`",
            st.stage,
            plan.name
        );
        resume::restore_vars(&method.state_vars(), &saved.tensors)?;
        for i in 0..opt.adam.vars().len() {
            opt.adam.set_moments(i, resume::adam_moments(&saved, i)?)?;
        }
        opt.adam.set_lr(st.lr);
        if let (Some(s), Some(saved_s)) = (opt.schedule.as_mut(), &st.schedule) {
            *s = saved_s.clone();
        }
        *rng = st.rng.restore()?;
        tracing::info!(
            "{}: resumed after epoch {}/{} from {}",
            plan.name,
            st.epoch,
            plan.epochs,
            self.run.state_path().display()
        );
        Ok((Selections::restored(st), st.epoch))
    }

    /// One pass over the shuffled training split; None when a stop was requested before a batch.
    fn train_epoch(
        &self,
        method: &mut Method,
        opt: &mut Adam,
        rng: &mut ChaCha8Rng,
        bar: &indicatif::ProgressBar,
    ) -> Result<Option<EpochSums>> {
        let t0 = Instant::now();
        let train = &self.data.train;
        let mut sums = EpochSums {
            loss: None,
            batches: 0,
            terms: BTreeMap::new(),
            confusion: DeviceConfusion::new(self.data.confusion()?, train.device())?,
            seconds: 0.0,
        };
        for batch in train.epoch(self.batch_size, rng, method.needs_features())? {
            if interrupt::interrupted() {
                return Ok(None);
            }
            let batch = batch?;
            sums.batches += 1;
            bar.inc(1);
            let out = method.loss(&batch, &self.transform, rng)?;
            opt.step(&out.loss.backward()?)?;
            add_to(&mut sums.loss, &out.loss.detach())?;
            for (k, v) in out.terms {
                match sums.terms.remove(&k) {
                    Some(sum) => sums.terms.insert(k, (sum + v.to_dtype(DType::F64)?)?),
                    None => sums.terms.insert(k, v.to_dtype(DType::F64)?),
                };
            }
            if let Some(logits) = out.logits {
                // Two-view methods return both views' logits: targets repeat.
                let views = logits.dim(0)? / batch.y().dim(0)?.max(1);
                let y = Tensor::cat(&vec![batch.y(); views], 0)?;
                sums.confusion.add(&logits, &y)?;
            }
        }
        sums.seconds = t0.elapsed().as_secs_f64();
        Ok(Some(sums))
    }

    /// The epoch's `metrics.jsonl` line: the training sums read back, and the validation and
    /// evaluation metrics of a classifying method.
    fn epoch_record(
        &self,
        method: &Method,
        plan: &StagePlan,
        epoch: usize,
        lr: f64,
        sums: EpochSums,
    ) -> Result<EpochRecord> {
        let stage = plan.name;
        let nb = sums.batches.max(1) as f64;
        let train_loss = match &sums.loss {
            Some(t) => readback::scalar(t)? / nb,
            None => 0.0,
        };
        anyhow::ensure!(
            train_loss.is_finite(),
            "{stage} epoch {epoch}: the mean training loss is {train_loss} (training diverged \
             at lr {lr:.3e}; try a lower --lr, or check the cache with `auscult pipeline inspect`)"
        );
        let mut loss_terms = serde_json::Map::new();
        for (k, v) in sums.terms {
            loss_terms.insert(k, json!(readback::scalar(&v)? / nb));
        }
        let cm = sums.confusion.finish()?;
        let (val, eval) = if method.has_classifier() {
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
        Ok(EpochRecord {
            stage: stage.to_string(),
            epoch,
            lr,
            train_loss,
            loss_terms,
            train: (cm.total() > 0).then(|| cm.metrics()),
            val,
            eval,
            seconds: sums.seconds,
            samples_per_s: self.data.train.len() as f64 / sums.seconds.max(1e-9),
        })
    }

    /// Hands the whole state after `epoch` to the background writer.
    fn save_state(
        &mut self,
        method: &Method,
        plan: &StagePlan,
        epoch: usize,
        opt: &Optimiser,
        rng: &ChaCha8Rng,
        sel: &Selections,
    ) -> Result<()> {
        let adam = &opt.adam;
        let state = StageState {
            version: resume::STATE_VERSION,
            stage_index: plan.index,
            stage: plan.name.to_string(),
            epoch,
            rng: RngState::of(rng),
            lr: adam.lr(),
            adam_steps: (0..adam.vars().len()).map(|i| adam.step_count(i)).collect(),
            schedule: opt.schedule.clone(),
            best_eval: sel.best_eval.state(),
            best_val: sel.best_val.state(),
            best_loss: sel.best_loss.is_finite().then_some(sel.best_loss),
            last: sel.last.clone(),
            terms_last: sel.terms_last.clone(),
            pretrain_terms: self.pretrain_terms.clone(),
            metrics_bytes: self.log.bytes(),
            elapsed_seconds: self.elapsed_before + self.started.elapsed().as_secs_f64(),
        };
        self.state_writer.save(
            &self.run.state_path(),
            &state,
            &method.state_vars(),
            &adam.moments()?,
            self.log.handle()?,
        )
    }

    /// Ends a stage stopped by a signal during `epoch`: the last completed epoch's state is on
    /// disk first.
    fn stop(
        &mut self,
        plan: &StagePlan,
        epoch: usize,
        bar: &indicatif::ProgressBar,
    ) -> Result<anyhow::Error> {
        bar.finish_and_clear();
        self.state_writer.wait()?;
        Ok(interrupt::Interrupted {
            stage: plan.name.to_string(),
            epoch,
            saved: epoch - 1,
            run_dir: self.run.path().to_path_buf(),
        }
        .into())
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

/// The epoch on the progress bar's line, and in the log.
fn show_epoch(bar: &indicatif::ProgressBar, plan: &StagePlan, rec: &EpochRecord, eval_name: &str) {
    let scores = rec
        .eval
        .as_ref()
        .map(|m| {
            format!(
                "  {eval_name} Se {:.3} Sp {:.3} Score {:.3}",
                m.se, m.sp, m.score
            )
        })
        .unwrap_or_default();
    let (epoch, loss) = (rec.epoch, rec.train_loss);
    bar.set_message(format!(
        "epoch {epoch}/{}  loss {loss:.4}{scores}",
        plan.epochs
    ));
    bar.suspend(|| {
        tracing::info!(
            "{} epoch {epoch}/{}  loss {loss:.4}  lr {:.2e}{scores}  {:.1} samples/s",
            plan.name,
            plan.epochs,
            rec.lr,
            rec.samples_per_s
        )
    });
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
