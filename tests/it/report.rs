//! `auscult report` on real (tiny) runs, and the shipped experiment configs.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use auscult::data::labels::{parse_heads, LabelSpec};
use auscult::data::transforms::{SpecAugmentApply, Standardize};
use auscult::jobs::train_named;
use auscult::report::{collect_runs, default_paper_results, render, Format, Selection};
use auscult::train::experiment::{Experiment, MethodKind};
use auscult::train::runtime::Runtime;
use common::{auscult, synth_icbhi_cache};
use serde_json::Value;

fn configs_dir() -> PathBuf {
    Path::new(
        &std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("configs")
}

/// Every experiment config (not paper_results.toml), by stem.
fn experiment_configs() -> Vec<(String, Experiment)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(configs_dir()).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.extension().is_some_and(|e| e == "toml") && stem != "paper_results" {
            let cfg = Experiment::load(&path).unwrap_or_else(|e| panic!("{e}"));
            cfg.validate()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            out.push((stem, cfg));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn every_config_loads_and_has_a_paper_row() {
    let configs = experiment_configs();
    assert_eq!(
        configs.len(),
        15,
        "6 rows of Table 1, 6 of Table 2, 3 of Table 3"
    );
    let stems: BTreeSet<String> = configs.iter().map(|c| c.0.clone()).collect();
    let paper_rows = default_paper_results();
    let paper: BTreeSet<String> = paper_rows.keys().cloned().collect();
    assert_eq!(
        stems, paper,
        "configs/paper_results.toml is keyed by config stem"
    );
    for (stem, c) in &configs {
        // The paper row of a config is the one its experiment reproduces (what `report` uses).
        let dataset = if stem.starts_with("table3") {
            "sprsound"
        } else {
            "icbhi"
        };
        assert!(
            paper_rows[stem].matches(dataset, &c.signature()),
            "{stem}: {:?} does not match its paper row {:?}",
            c.signature(),
            paper_rows[stem]
        );
        let method = c.method.unwrap_or_else(|| panic!("{stem} names no method"));
        assert!(stem.contains(method.name()), "{stem} names method {method}");
        let text = std::fs::read_to_string(configs_dir().join(format!("{stem}.toml"))).unwrap();
        assert!(
            text.starts_with("# Table "),
            "{stem}: first line names the table and row"
        );
        // AudioSet-initialised rows use the paper's lr 1e-4, from-scratch rows 1e-3.
        match &c.pretrained {
            Some(p) => assert!(p.ends_with("Cnn6_mAP=0.343.pth") && c.lr == 1e-4, "{stem}"),
            None => assert_eq!(c.lr, 1e-3, "{stem}"),
        }
        if stem.starts_with("table3") {
            assert_eq!(
                (c.epochs, c.data.eval_split.as_deref()),
                (200, Some("inter_test")),
                "{stem}"
            );
        } else {
            assert_eq!(
                (c.epochs, c.data.eval_split.as_deref()),
                (400, None),
                "{stem}"
            );
        }
        if let Some(l) = c.contrastive().and_then(|c| c.labels) {
            l.parse::<LabelSpec>().unwrap();
        }
        if let Some(h) = c.contrastive().and_then(|c| c.heads) {
            let heads = parse_heads(h).unwrap();
            assert_eq!(heads.iter().map(|h| h.weight).sum::<f64>(), 1.0, "{stem}");
        }
    }
}

/// Metric `key` of a single-seed summary, or (mean, std) of a multi-seed one, ×100.
fn ours(summary: &Value, key: &str) -> (f64, f64) {
    let b = &summary["best_by_eval"];
    if summary.get("seeds").is_some() {
        (
            100.0 * b[key]["mean"].as_f64().unwrap(),
            100.0 * b[key]["std"].as_f64().unwrap(),
        )
    } else {
        (100.0 * b["eval"][key].as_f64().unwrap(), 0.0)
    }
}

#[test]
fn report_tabulates_single_and_multi_seed_runs_beside_the_paper() {
    // A synthetic database without its marker stands for real data here: its cache is not
    // marked synthetic, so its runs are set beside the paper's rows.
    let db = common::synth_icbhi_db(16, 7);
    std::fs::remove_file(db.path().join(auscult_pipeline::SYNTHETIC_MARKER)).unwrap();
    let cache = common::build_cache(
        auscult_pipeline::build::Dataset::Icbhi,
        db.path(),
        8000,
        16,
        None,
    );
    let mut cfg = Experiment {
        epochs: 1,
        batch_size: 16,
        ..Experiment::of(MethodKind::Ce)
    };
    cfg.input.standardize = Standardize::TrainStats;
    cfg.input.specaugment.apply = SpecAugmentApply::Off;
    let rt = Runtime::default();
    let runs = tempfile::tempdir().unwrap();
    let (one, two, mislabelled) = (
        runs.path().join("a_one_seed"),
        runs.path().join("b_two_seeds"),
        runs.path().join("c_table1_scl_scratch"),
    );
    train_named(
        &cfg,
        &rt,
        Some("table1_ce_scratch"),
        cache.path(),
        &one,
        false,
    )
    .unwrap();
    let multi = Experiment {
        runs: 2,
        ..cfg.clone()
    };
    train_named(&multi, &rt, Some("my_ce"), cache.path(), &two, false).unwrap();
    // A CE run whose config file and folder carry an SCL row's name is still a CE run.
    train_named(
        &cfg,
        &rt,
        Some("table1_scl_scratch"),
        cache.path(),
        &mislabelled,
        false,
    )
    .unwrap();
    let s1: Value =
        serde_json::from_slice(&std::fs::read(one.join("summary.json")).unwrap()).unwrap();
    let s2: Value =
        serde_json::from_slice(&std::fs::read(two.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s2["seeds"].as_array().unwrap().len(), 2);

    // A folder of run dirs expands to its runs, sorted by name.
    let rows = collect_runs(&[runs.path().to_path_buf()], Selection::BestEval).unwrap();
    assert_eq!(
        rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["table1_ce_scratch", "my_ce", "table1_scl_scratch"]
    );
    assert_eq!((rows[0].seeds, rows[1].seeds), (1, 2));
    let paper_rows = default_paper_results();
    for r in &rows {
        let p = auscult::report::paper_of(r, &paper_rows).expect("a CE-from-scratch row");
        assert_eq!(p.row, "CE (scratch)", "{}: matched by what it did", r.name);
    }

    let paper: toml::Table =
        toml::from_str(&std::fs::read_to_string(configs_dir().join("paper_results.toml")).unwrap())
            .unwrap();
    let p = &paper["table1_ce_scratch"];
    let pv = |k: &str| {
        p[k].as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_float().unwrap())
            .collect::<Vec<_>>()
    };

    // Markdown: our numbers (mean only for one seed, mean ± std for two) beside the paper's.
    let md = render(
        &rows,
        &default_paper_results(),
        Format::Markdown,
        Selection::BestEval,
    );
    let f1 = |k: &str| format!("{:.2}", ours(&s1, k).0);
    let f2 = |k: &str| format!("{:.2} ± {:.2}", ours(&s2, k).0, ours(&s2, k).1);
    let paper_cell = |k: &str| format!("{:.2} ± {:.2}", pv(k)[0], pv(k)[1]);
    let delta = format!("{:+.2}", ours(&s1, "score").0 - pv("score")[0]);
    let row1 = format!(
        "| table1_ce_scratch | Table 1: CE (scratch) | ce | 1 | {} | {} | {} | {} | {} | {} | {} | – | {delta} |",
        f1("sp"),
        f1("se"),
        f1("score"),
        f1("hs"),
        paper_cell("sp"),
        paper_cell("se"),
        paper_cell("score")
    );
    let delta2 = format!("{:+.2}", ours(&s2, "score").0 - pv("score")[0]);
    let row2 = format!(
        "| my_ce | Table 1: CE (scratch) | ce | 2 | {} | {} | {} | {} | {} | {} | {} | – | {delta2} |",
        f2("sp"),
        f2("se"),
        f2("score"),
        f2("hs"),
        paper_cell("sp"),
        paper_cell("se"),
        paper_cell("score")
    );
    assert!(md.contains(&row1), "missing\n{row1}\nin\n{md}");
    assert!(md.contains(&row2), "missing\n{row2}\nin\n{md}");

    // CSV through the binary: every number is ×100 of the summary's.
    let out = auscult(&["report", runs.path().to_str().unwrap(), "--format", "csv"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    let header = &lines[0];
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    for (line, summary) in [(&lines[1], &s1), (&lines[2], &s2)] {
        for k in ["sp", "se", "score", "hs"] {
            let (m, s) = ours(summary, k);
            let got_m: f64 = line[col(&format!("{k}_mean"))].parse().unwrap();
            let got_s: f64 = line[col(&format!("{k}_std"))].parse().unwrap();
            assert!(
                (got_m - m).abs() < 1e-4 && (got_s - s).abs() < 1e-4,
                "{k}: {got_m} ± {got_s} vs {m} ± {s}"
            );
        }
    }
    assert_eq!(
        lines[1][col("paper_score_mean")].parse::<f64>().unwrap(),
        pv("score")[0]
    );
    assert_eq!(
        lines[2][col("paper_score_mean")].parse::<f64>().unwrap(),
        pv("score")[0],
        "my_ce is a CE-from-scratch run on ICBHI: compared with that row"
    );

    // The same experiment on a cache marked synthetic: no paper row, no paper numbers.
    let (_sdb, synth_cache) = synth_icbhi_cache(16, 7, 8000, 16, None);
    let synth_runs = tempfile::tempdir().unwrap();
    let synth_run = synth_runs.path().join("ce");
    train_named(
        &cfg,
        &rt,
        Some("table1_ce_scratch"),
        synth_cache.path(),
        &synth_run,
        false,
    )
    .unwrap();
    assert_eq!(
        common::json(&synth_run.join("summary.json"))["synthetic"],
        true
    );
    assert!(
        s1.get("synthetic").is_none(),
        "real-data summaries stay as before"
    );
    let rows = collect_runs(&[synth_runs.path().to_path_buf()], Selection::BestEval).unwrap();
    assert!(rows[0].synthetic);
    assert!(auscult::report::paper_of(&rows[0], &paper_rows).is_none());
    let md = render(
        &rows,
        &default_paper_results(),
        Format::Markdown,
        Selection::BestEval,
    );
    assert!(md.contains("not compared with the paper"), "{md}");
    assert!(
        !md.contains("Paper") && !md.contains(&paper_cell("score")),
        "{md}"
    );
    assert!(md.contains("| table1_ce_scratch | ce | 1 | "), "{md}");

    // A path without any run is an error naming it.
    let empty = tempfile::tempdir().unwrap();
    let err = collect_runs(&[empty.path().to_path_buf()], Selection::BestEval)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&empty.path().display().to_string()) && err.contains("no summary.json"),
        "{err}"
    );
}
