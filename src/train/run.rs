//! One seed of an experiment, from an opened cache to a finished run dir: the model (from
//! scratch or AudioSet weights), the method, its stages (a contrastive stage is followed by
//! linear evaluation), and `summary.json`.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use candle_core::{DType, Tensor};
use candle_nn::{VarBuilder, VarMap};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::data::transforms::{measure_input_stats, InputTransform, Standardization, Standardize};
use crate::data::{CacheData, Placement, RunData, SplitData};
use crate::model::cnn6::{Cnn6, Cnn6Config};
pub use crate::rundir::schema::RunSummary;
use crate::rundir::{git_revision, RunDir};
use crate::train::experiment::{EncoderCheckpoint, Experiment};
use crate::train::fit::{StagePlan, StageResult, Trainer};
use crate::train::methods::Method;
use crate::train::observer::{EmbeddingPanel, Embeddings, RunObserver};
use crate::train::resume::SavedState;
use crate::train::runtime::Runtime;

/// The input transform of `exp`, measuring the training split's statistics when it asks for
/// `train-stats`.
pub fn input_transform(exp: &Experiment, train: &SplitData) -> Result<InputTransform> {
    let standardize = match exp.input.standardize {
        Standardize::Official => Some(Standardization::OFFICIAL),
        Standardize::None => None,
        Standardize::TrainStats => {
            let batches = train.ordered(exp.eval_batch_size, true)?.map(|b| {
                b.and_then(|b| b.x())
                    .map_err(|e| candle_core::Error::Msg(e.to_string()))
            });
            let s =
                measure_input_stats(batches, exp.input.minmax)?.context("empty training split")?;
            Some(Standardization {
                mean: s.mean,
                std: s.std,
            })
        }
    };
    Ok(InputTransform {
        minmax: exp.input.minmax,
        specaug: exp.input.specaugment,
        standardize,
    })
}

/// The embeddings [`show_embeddings`] shows: `method`'s of `data`'s evaluation split, read
/// through `transform` `batch_size` rows at a time; labelled by class (named by `cache`) and, with
/// `metadata`, by sex and by age group (columns of `cache`'s table).
struct EmbeddingView<'a> {
    cache: &'a CacheData,
    data: &'a RunData,
    method: &'a Method,
    transform: &'a InputTransform,
    batch_size: usize,
    metadata: bool,
}

/// Hands the embeddings of `view` to `observer`, for the run dir `run`.
fn show_embeddings(observer: &dyn RunObserver, run: &RunDir, view: &EmbeddingView) -> Result<()> {
    let EmbeddingView {
        cache,
        data,
        method,
        transform,
        batch_size,
        metadata,
    } = *view;
    let split = &data.eval;
    let emb = crate::tensor::readback::to_host(&method.embeddings(split, transform, batch_size)?)?;
    let dim = emb.dim(1)?;
    let flat = emb.flatten_all()?.to_vec1::<f32>()?;
    let name_of = |id: i64| {
        cache
            .classes
            .get(id as usize)
            .map_or_else(|| id.to_string(), |c| c.name.clone())
    };
    let mut panels = vec![EmbeddingPanel {
        title: format!("{} by class", split.name),
        labels: split.labels.iter().map(|&l| name_of(l)).collect(),
    }];
    if metadata {
        for col in ["sex", "age_group"] {
            if let Some(values) = auscult_cache::table::string_column(&cache.table, col) {
                panels.push(EmbeddingPanel {
                    title: format!("by {col}"),
                    labels: split
                        .cycle_ids
                        .iter()
                        .map(|&i| {
                            values
                                .get(i as usize)
                                .cloned()
                                .flatten()
                                .unwrap_or_else(|| "unknown".into())
                        })
                        .collect(),
                });
            }
        }
    }
    observer.embeddings(
        run.path(),
        &Embeddings {
            values: &flat,
            dim,
            panels: &panels,
        },
    );
    Ok(())
}

/// What is trained and how: the experiment, the runtime it runs on, and the config file's stem
/// recorded in every summary.
#[derive(Clone, Copy)]
pub struct Recipe<'a> {
    pub exp: &'a Experiment,
    pub runtime: &'a Runtime,
    pub config_name: Option<&'a str>,
}

/// One seed's run, as [`train_one`] takes it.
#[derive(Clone, Copy)]
pub struct SeedRun<'a> {
    /// The recipe, its experiment carrying this run's seed.
    pub recipe: Recipe<'a>,
    pub cache: &'a CacheData,
    pub data: &'a RunData,
    /// The run dir.
    pub out: &'a Path,
    /// Continue from the run dir's saved state, when there is one.
    pub resume: bool,
}

/// Trains seed `exp.seed` of a validated experiment into `out`. With `resume`, a run dir holding
/// a saved state (`checkpoints/state.safetensors`) continues after its last completed epoch;
/// without one it starts afresh.
pub fn train_one(seed_run: &SeedRun, observer: &dyn RunObserver) -> Result<RunSummary> {
    let SeedRun {
        recipe: Recipe {
            exp,
            runtime,
            config_name,
        },
        cache,
        data,
        out,
        resume,
    } = *seed_run;
    let started = Instant::now();
    let run = RunDir::create(out)?;
    let device = data.train.device().clone();
    let saved = if resume && run.state_path().exists() {
        Some(crate::train::resume::load(&run.state_path(), &device)?)
    } else {
        None
    };
    let transform = match saved {
        Some(_) => run.read_transform()?,
        None => start_afresh(&run, exp, cache, data)?,
    };
    let method = new_method(exp, runtime, cache, data, &device)?;
    let method_info = method.info();
    let (log, elapsed_before, pretrain_terms) = match &saved {
        Some(s) => (
            run.resume_metrics_log(s.state.metrics_bytes)?,
            s.state.elapsed_seconds,
            s.state.pretrain_terms.clone(),
        ),
        None => (run.metrics_log()?, 0.0, None),
    };
    let mut trainer = Trainer {
        data,
        transform,
        batch_size: exp.batch_size,
        eval_batch_size: exp.eval_batch_size,
        run: &run,
        log,
        pretrain_terms,
        elapsed_before,
        started,
        state_writer: Default::default(),
    };
    let result = run_stages(&mut trainer, exp, cache, method, saved, observer)?;
    let best_eval = result.best_eval.context("no evaluation happened")?;
    let summary = RunSummary {
        method: exp.method()?.name().to_string(),
        config_name: config_name.map(str::to_string),
        signature: exp.signature(),
        seed: exp.seed,
        protocol: exp.data.protocol,
        fold: exp.data.fold,
        dataset: cache.dataset.clone(),
        synthetic: cache.reader.manifest().synthetic,
        eval_split: data.eval.name.clone(),
        class_names: cache.classes.iter().map(|c| c.name.clone()).collect(),
        final_epoch: result.last.unwrap_or_else(|| best_eval.clone()),
        best_by_eval: best_eval,
        best_by_val: result.best_val,
        loss_terms_last_epoch: result.terms_last,
        method_info,
        input_stats: trainer.transform.standardize,
        runtime: runtime.recorded(),
        placement: match data.placement {
            Placement::Resident => "resident".into(),
            Placement::Streamed { .. } => "streamed".into(),
        },
        cache_params_hash: cache.reader.manifest().params_hash.clone(),
        wall_seconds: elapsed_before + started.elapsed().as_secs_f64(),
        git_revision: git_revision(),
        train_rows: data.train.len(),
        val_rows: data.val.as_ref().map_or(0, SplitData::len),
        eval_rows: data.eval.len(),
        evaluation: Vec::new(),
    };
    run.write_summary(&summary)?;
    // Finished: the state is no longer needed (summary.json marks the run done).
    let state = run.state_path();
    if state.exists() {
        std::fs::remove_file(&state).with_context(|| format!("removing {}", state.display()))?;
    }
    observer.run_finished(out);
    Ok(summary)
}

/// A fresh run dir's inputs: `config.toml`, `transform.json` (statistics measured now when the
/// experiment asks for `train-stats`) and `features.json`; a state an earlier run left is removed.
fn start_afresh(
    run: &RunDir,
    exp: &Experiment,
    cache: &CacheData,
    data: &RunData,
) -> Result<InputTransform> {
    run.write_experiment(exp)?;
    let t = input_transform(exp, &data.train)?;
    run.write_transform(&t)?;
    crate::rundir::write_json_atomic(
        &crate::rundir::schema::FeatureSpec::path(run.path()),
        &crate::rundir::schema::FeatureSpec::of(cache),
    )?;
    // A state left by an earlier run in this dir must not be resumed into this one.
    let _ = std::fs::remove_file(run.state_path());
    Ok(t)
}

/// The seeded CNN6 (AudioSet weights loaded when the experiment names them) inside the
/// experiment's method, with the class weights of the training split when asked for.
fn new_method(
    exp: &Experiment,
    runtime: &Runtime,
    cache: &CacheData,
    data: &RunData,
    device: &candle_core::Device,
) -> Result<Method> {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
    let model = Cnn6::new_seeded(
        vb.pp("cnn6"),
        Cnn6Config {
            num_classes: data.n_classes,
            dropout: exp.dropout,
            kernels: runtime.kernels,
        },
        exp.seed,
    )?;
    if let Some(p) = &exp.pretrained {
        let report = crate::model::panns::load_panns_cnn6(p, &model)
            .with_context(|| format!("loading AudioSet weights {}", p.display()))?;
        tracing::info!("{report}");
    }
    let class_weights = if exp.class_weights {
        let w = crate::train::losses::class_weights(&data.train.class_counts(data.n_classes))?;
        Some(Tensor::from_vec(w, data.n_classes, device)?)
    } else {
        None
    };
    Method::new(exp, model, cache, data, class_weights, device)
}

/// The method's stage, then for a contrastive method linear evaluation on its frozen encoder
/// (a state saved during linear evaluation skips the first stage: its encoder is in the state).
fn run_stages(
    trainer: &mut Trainer,
    exp: &Experiment,
    cache: &CacheData,
    mut method: Method,
    mut saved: Option<SavedState>,
    observer: &dyn RunObserver,
) -> Result<StageResult> {
    let mut rng = ChaCha8Rng::seed_from_u64(exp.seed);
    let contrastive = exp.contrastive();
    let in_linear_eval = saved.as_ref().is_some_and(|s| s.state.stage_index == 1);
    let first = if in_linear_eval {
        None
    } else {
        let plan = StagePlan {
            name: exp.method()?.name(),
            epochs: exp.epochs,
            lr: exp.lr,
            weight_decay: exp.weight_decay,
            schedule: Some(&exp.schedule),
            checkpoint_prefix: if contrastive.is_some() {
                "pretrain_"
            } else {
                ""
            },
            index: 0,
        };
        Some(trainer.fit(&mut method, &plan, &mut rng, saved.take())?)
    };
    let Some(c) = contrastive else {
        return first.context("no stage ran");
    };
    // Freeze the encoder `encoder_checkpoint` names and train a linear head on it.
    match &saved {
        Some(s) => {
            let encoder: Vec<_> = method
                .state_vars()
                .into_iter()
                .filter(|(n, _)| n.starts_with("model."))
                .collect();
            crate::train::resume::restore_vars(&encoder, &s.tensors)?
        }
        None if c.encoder_checkpoint == EncoderCheckpoint::BestLoss => {
            method.load(&trainer.run.checkpoint("pretrain_best_loss"))?
        }
        None => {}
    }
    let data = trainer.data;
    let transform = trainer.transform;
    let mut probe = method.into_linear_eval(data, &transform, exp.eval_batch_size)?;
    let le = exp.linear_eval();
    let terms = match &first {
        Some(r) => r.terms_last.clone(),
        None => trainer.pretrain_terms.clone().unwrap_or_default(),
    };
    trainer.pretrain_terms = Some(terms.clone());
    let plan = StagePlan {
        name: "linear_eval",
        epochs: le.epochs,
        lr: le.lr,
        weight_decay: le.weight_decay,
        schedule: None,
        checkpoint_prefix: "",
        index: 1,
    };
    let mut r = trainer.fit(&mut probe, &plan, &mut rng, saved.take())?;
    r.terms_last = terms;
    // The frozen encoder's view of the evaluation split; a failure costs a warning, never the
    // run.
    if observer.wants_embeddings() {
        let view = EmbeddingView {
            cache,
            data,
            method: &probe,
            transform: &transform,
            batch_size: exp.eval_batch_size,
            metadata: c.heads.is_some() || c.labels.is_some_and(|l| l != "class"),
        };
        let run = trainer.run;
        if let Err(e) = show_embeddings(observer, run, &view) {
            tracing::warn!("no embeddings for {}: {e:#}", run.path().display());
        }
    }
    Ok(r)
}
