//! `auscult demo`'s training and report (steps 4 and 5; the command line synthesises the
//! database and builds its cache first, the library knowing no pipeline): a CNN6 trained with
//! CE and with SCL + linear evaluation on the demo's small synthetic cache, then the runs
//! tabulated beside the paper's numbers.
//!
//! Sized for the small data and a CPU, not the paper (every deviation is printed): 2-second
//! cycles (the paper pads to 8 s) so an epoch takes seconds; batch 16 so ~200 training rows give
//! a dozen optimiser steps per epoch (at the paper's 128 they give two); standardisation on the
//! training split's own statistics; SpecAugment off (it slows learning over so few epochs);
//! SCL at lr 3e-4 (at 1e-3 the projections' norm grows too fast for a few epochs to help).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::jobs::train_named;
use crate::report::{
    collect_runs, default_paper_results, render, write_markdown_report, Format, Selection,
};
use crate::train::experiment::{Experiment, MethodKind};
use crate::train::runtime::Runtime;

/// What the demo trains: `epochs` of CE, then `scl_epochs` of SCL (0: none), from `seed`.
#[derive(Debug, Clone, Copy)]
pub struct DemoTraining {
    pub epochs: usize,
    pub scl_epochs: usize,
    pub seed: u64,
}

/// The demo's experiment for `method`: the paper's, resized for the small data (module doc).
pub fn experiment(method: MethodKind, epochs: usize, seed: u64) -> Result<Experiment> {
    let mut e = Experiment {
        epochs,
        seed,
        batch_size: 16,
        ..Experiment::of(method)
    };
    e.set("input.standardize=train-stats")?;
    e.set("input.specaugment.apply=off")?;
    if method == MethodKind::Scl {
        e.lr = 3e-4;
        e.set("linear_eval.epochs=15")?;
        e.set("linear_eval.lr=0.01")?;
    }
    Ok(e)
}

fn train_one(exp: &Experiment, name: &str, cache: &Path, runs: &Path) -> Result<f64> {
    let out = runs.join(name);
    let s = train_named(exp, &Runtime::default(), Some(name), cache, &out, true)
        .with_context(|| format!("training {name} on {}", cache.display()))?;
    let b = s.best_by_eval.context("no evaluation")?;
    eprintln!(
        "   {name}: best test epoch Se {:.3}  Sp {:.3}  Score {:.3}  HS {:.3}  → {}",
        b.se.mean,
        b.sp.mean,
        b.score.mean,
        b.hs.mean,
        out.display()
    );
    Ok(b.score.mean)
}

/// Steps 4 and 5: trains the demo's runs on the cache in `cache` into `<out>/runs`, prints their
/// table and writes `<out>/report.md`; returns the runs folder and the report's path.
pub fn train_and_report(cache: &Path, out: &Path, t: DemoTraining) -> Result<(PathBuf, PathBuf)> {
    let runs = out.join("runs");
    eprintln!(
        "4/5 training (CPU), sized for the demo's small data: 2 s cycles, batch 16, \
         train-split standardisation, SpecAugment off; SCL at lr 3e-4 with 15 linear-evaluation \
         epochs at lr 0.01 (the paper: 8 s, batch 128, 400 epochs — `auscult train --help`)"
    );
    let ce = experiment(MethodKind::Ce, t.epochs, t.seed)?;
    train_one(&ce, "ce", cache, &runs)?;
    if t.scl_epochs > 0 {
        let scl = experiment(MethodKind::Scl, t.scl_epochs, t.seed)?;
        train_one(&scl, "scl", cache, &runs)?;
    }
    let report = out.join("report.md");
    eprintln!(
        "5/5 report (`auscult report {} --out {}`):",
        runs.display(),
        report.display()
    );
    let rows = collect_runs(std::slice::from_ref(&runs), Selection::BestEval)?;
    let paper = default_paper_results();
    print!(
        "{}",
        render(&rows, &paper, Format::Markdown, Selection::BestEval)
    );
    write_markdown_report(&rows, &paper, Selection::BestEval, &report)?;
    Ok((runs, report))
}
