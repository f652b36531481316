//! The clinical evaluation on real (tiny) runs: every run trained gets per-cycle predictions and
//! an evaluation that agrees with the trainer's own metrics; `report --by` / `--compare`,
//! `evaluate`, and `predict --threshold` with its per-recording rows.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use auscult::eval::clinical::Options;
use auscult::infer::evaluate::evaluate_run;
use auscult::jobs::train;
use auscult::rundir::{read_run_summary, read_summary, Predictions, Summary};
use auscult::train::experiment::MethodKind;
use auscult::train::runtime::Runtime;
use common::{auscult, ok, shared_icbhi_cache, tiny};

/// (database, cache): 1 s clips, 16 mels (the cache `predict`'s tests share).
fn cache() -> &'static (tempfile::TempDir, tempfile::TempDir) {
    shared_icbhi_cache(14, 5, 16000, 16, None)
}

/// Two seeds of a tiny CE run with a validation split, trained once per process:
/// `<dir>/seed_0`, `<dir>/seed_1`.
fn runs() -> &'static Path {
    static RUNS: OnceLock<tempfile::TempDir> = OnceLock::new();
    RUNS.get_or_init(|| {
        let dir = common::process_tempdir();
        let exp = tiny(
            MethodKind::Ce,
            3,
            0,
            "runs = 2\n[data]\nval_fraction = 0.3",
            "apply = \"off\"",
        );
        train(&exp, &Runtime::default(), cache().1.path(), dir.path()).unwrap();
        dir
    })
    .path()
}

fn seed(s: u64) -> PathBuf {
    runs().join(format!("seed_{s}"))
}

#[test]
fn every_trained_run_has_predictions_and_an_evaluation_that_agrees_with_the_trainer() {
    for s in [0, 1] {
        let dir = seed(s);
        let summary = read_run_summary(&dir).unwrap();
        assert_eq!(
            summary
                .evaluation
                .iter()
                .map(|e| e.checkpoint.as_str())
                .collect::<Vec<_>>(),
            ["best", "best_val"]
        );
        let e = &summary.evaluation[0];
        let p = Predictions::read(&dir, "best").unwrap();
        assert_eq!(p.of_split(summary.split()).count(), summary.eval_rows);
        assert_eq!(p.of_split("val").count(), summary.val_rows);
        assert!(summary.val_rows > 0);
        assert_eq!(
            p.group_columns,
            ["device", "chest_location", "sex", "age_group"]
        );
        // The inference pass reproduces the trainer's evaluation at the selected epoch.
        let trainer = &summary.best_by_eval;
        assert_eq!(
            (e.epoch, e.overall.cycles),
            (trainer.epoch, summary.eval_rows)
        );
        let m = &e.overall.metrics;
        assert!((m.score.value - trainer.eval.score).abs() < 1e-12, "{s}");
        assert!((m.se.value - trainer.eval.se).abs() < 1e-12, "{s}");
        assert!(m.score.lo <= m.score.value && m.score.value <= m.score.hi);
        // Subgroups partition the cycles, per column.
        for column in &p.group_columns {
            let n: usize = e
                .subgroups
                .iter()
                .filter(|g| &g.column == column)
                .map(|g| g.metrics.cycles)
                .sum();
            assert_eq!(n, summary.eval_rows, "{column}");
        }
        // A validation split: a temperature fitted on it.
        let t = e.calibration.temperature.unwrap();
        assert!(t > 0.0 && e.calibration.val_cycles == summary.val_rows);
        for f in ["subgroups.png", "reliability.png"] {
            assert!(dir.join("plots").join(f).is_file(), "{f}");
        }
    }
}

#[test]
fn the_seeds_are_evaluated_together_in_the_parent_summary() {
    let Summary::Multi(m) = read_summary(runs()).unwrap() else {
        panic!("two seeds")
    };
    let e = &m.evaluation[0];
    assert_eq!((e.checkpoint.as_str(), e.seeds), ("best", 2));
    let one: Vec<_> = [0, 1]
        .map(|s| read_run_summary(&seed(s)).unwrap().evaluation[0].clone())
        .into();
    let mean = (one[0].overall.metrics.score.value + one[1].overall.metrics.score.value) / 2.0;
    assert!((e.overall.metrics.score.value - mean).abs() < 1e-12);
    let spread = (one[0].overall.metrics.score.value - one[1].overall.metrics.score.value).abs();
    assert!((e.overall.seed_std.unwrap()[2] - spread / 2.0).abs() < 1e-12);
    assert_eq!(e.subgroups.len(), one[0].subgroups.len());
}

#[test]
fn evaluate_is_deterministic_and_records_its_options() {
    // A copy, so the shared runs stay as trained.
    let work = tempfile::tempdir().unwrap();
    let run = work.path().join("run");
    copy_dir(&seed(0), &run);
    let before = read_run_summary(&run).unwrap().evaluation;
    let csv = std::fs::read(Predictions::path(&run, "best")).unwrap();
    let again = evaluate_run(
        &run,
        cache().1.path(),
        &Runtime::default(),
        &Options::default(),
    );
    assert_eq!(again.unwrap(), before);
    assert_eq!(std::fs::read(Predictions::path(&run, "best")).unwrap(), csv);
    // The command line, with other bootstrap settings.
    ok(&auscult(&[
        "evaluate",
        run.to_str().unwrap(),
        "--data",
        cache().1.path().to_str().unwrap(),
        "--resamples",
        "50",
        "--bootstrap-seed",
        "3",
    ]));
    let e = &read_run_summary(&run).unwrap().evaluation[0];
    assert_eq!((e.options.resamples, e.options.seed), (50, 3));
    assert_eq!(
        e.overall.metrics.score.value,
        before[0].overall.metrics.score.value
    );
}

#[test]
fn report_by_device_and_paired_comparisons() {
    let o = auscult(&["report", runs().to_str().unwrap(), "--by", "device"]);
    let (out, _) = ok(&o);
    assert!(
        out.contains("| run | device | cycles | patients |"),
        "{out}"
    );
    let p = Predictions::read(&seed(0), "best").unwrap();
    let k = p.group_columns.iter().position(|c| c == "device").unwrap();
    for r in p.of_split("test") {
        let d = r.groups[k].as_deref().unwrap();
        assert!(out.contains(&format!(" | {d} | ")), "{d} missing:\n{out}");
    }
    // Two seeds: mean ± std.
    assert!(out.contains(" ± "), "{out}");

    // A run against itself: exactly 0.
    let s0 = seed(0);
    let (out, _) = ok(&auscult(&[
        "report",
        "--compare",
        s0.to_str().unwrap(),
        s0.to_str().unwrap(),
    ]));
    assert!(
        out.contains("ΔScore (B − A) = 0.00 95% CI [0.00, 0.00]; B beats A in 0.0% of resamples"),
        "{out}"
    );
    let (out, _) = ok(&auscult(&[
        "report",
        "--compare",
        s0.to_str().unwrap(),
        seed(1).to_str().unwrap(),
    ]));
    assert!(out.contains("Paired comparison on"), "{out}");

    // Runs evaluated on other cycles are refused.
    let work = tempfile::tempdir().unwrap();
    let other = work.path().join("other");
    copy_dir(&seed(1), &other);
    let file = Predictions::path(&other, "best");
    let text = std::fs::read_to_string(&file).unwrap();
    let cut: Vec<&str> = text.lines().filter(|l| !l.contains(",test,")).collect();
    let first_test = text.lines().find(|l| l.contains(",test,")).unwrap();
    std::fs::write(&file, cut.join("\n") + "\n" + first_test + "\n").unwrap();
    let o = auscult(&[
        "report",
        "--compare",
        s0.to_str().unwrap(),
        other.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("evaluation cycles"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // The plain report lists the clinical table.
    let (out, _) = ok(&auscult(&[
        "report",
        runs().to_str().unwrap(),
        "--clinical",
        "--out",
        work.path().join("r.md").to_str().unwrap(),
    ]));
    assert!(
        out.contains("| run | patients | Score | Score 95% CI | AUROC |"),
        "{out}"
    );
}

#[test]
fn predict_at_a_threshold_with_one_row_per_recording() {
    let wavs = cache().0.path().join("ICBHI_final_database");
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("p.csv");
    let run = seed(0);
    let predict = |threshold: &str| {
        auscult(&[
            "predict",
            "--run",
            run.to_str().unwrap(),
            "--input",
            wavs.to_str().unwrap(),
            "--threshold",
            threshold,
            "--out",
            out.to_str().unwrap(),
        ])
    };
    // Threshold 0: every cycle abnormal; threshold 1 (above every score but 1): none.
    let (_, err) = ok(&predict("0"));
    assert!(
        err.contains("temperature"),
        "the run's temperature is applied: {err}"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let head = text.lines().next().unwrap();
    assert!(head.ends_with(",p_abnormal,threshold,abnormal"), "{head}");
    assert!(
        text.lines().skip(1).all(|l| l.ends_with(",0,true")),
        "{text}"
    );
    let recs = std::fs::read_to_string(work.path().join("p.recordings.csv")).unwrap();
    let mut lines = recs.lines();
    assert_eq!(
        lines.next().unwrap(),
        "file,cycles,share_abnormal,mean_p_normal,mean_p_crackle,mean_p_wheeze,mean_p_both"
    );
    let rows: Vec<&str> = lines.collect();
    let n_wavs = std::fs::read_dir(&wavs)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "wav")
        })
        .count();
    assert_eq!(rows.len(), n_wavs);
    let cycles: usize = rows
        .iter()
        .map(|l| l.split(',').nth(1).unwrap().parse::<usize>().unwrap())
        .sum();
    assert_eq!(cycles, text.lines().count() - 1);
    assert!(
        rows.iter().all(|l| l.split(',').nth(2) == Some("1")),
        "{recs}"
    );

    ok(&predict("1"));
    let text = std::fs::read_to_string(&out).unwrap();
    let none = text
        .lines()
        .skip(1)
        .filter(|l| l.ends_with(",false"))
        .count();
    assert!(none > 0, "{text}");
    // Out of range: refused.
    let o = predict("1.5");
    assert!(!o.status.success());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}
