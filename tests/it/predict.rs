//! `auscult predict` from WAV files gives what the trainer's evaluation gives on the cached
//! cycles of the same recordings: probabilities within 1e-5, and on the evaluation split the
//! confusion matrix of the run's best epoch.

use crate::common;

use std::collections::HashMap;
use std::path::Path;

use auscult::infer::predict::Predictor;
use auscult::train::runtime::Runtime;
use common::{auscult, build_cache, ok, shared_icbhi_cache};

/// (database, cache, work dir with a trained CE run in `run/`).
fn trained() -> (
    &'static tempfile::TempDir,
    &'static tempfile::TempDir,
    tempfile::TempDir,
) {
    // 1 s clips, 16 mels: cheap, and long enough for several windows per recording.
    let (db, cache) = shared_icbhi_cache(14, 5, 16000, 16, None);
    let work = tempfile::tempdir().unwrap();
    train_ce(cache.path(), &work.path().join("run"), &["--epochs", "3"]);
    (db, cache, work)
}

/// `auscult train ce` at batch 16 on `cache` into `run`, which must succeed.
fn train_ce(cache: &Path, run: &Path, extra: &[&str]) {
    let mut a = vec![
        "train",
        "ce",
        "--data",
        cache.to_str().unwrap(),
        "--batch-size",
        "16",
        "--out",
        run.to_str().unwrap(),
    ];
    a.extend_from_slice(extra);
    ok(&auscult(&a));
}

fn wavs(db: &Path) -> std::path::PathBuf {
    db.join("ICBHI_final_database")
}

/// `auscult predict` of `input` (with `annotations`) as JSON rows, checked against the trainer's
/// probabilities of the cached cycles of `split` (every row with None): one prediction per
/// cached cycle, the same label, probabilities within 1e-5. Returns the cache's view
/// (cycle ids, labels, probabilities) and the class names.
fn predict_matches_cache(
    run: &Path,
    cache: &Path,
    input: &Path,
    annotations: Option<&Path>,
    split: Option<&str>,
    out: &Path,
) -> (Vec<i64>, Vec<i64>, Vec<Vec<f32>>, Vec<String>) {
    let mut args = vec![
        "predict",
        "--run",
        run.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--format",
        "json",
        "--out",
        out.to_str().unwrap(),
    ];
    if let Some(a) = annotations {
        args.extend(["--annotations", a.to_str().unwrap()]);
    }
    let (_, log) = ok(&auscult(&args));
    assert!(log.contains("against the annotations"), "{log}");
    let rows: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap();

    // The trainer's side: the same checkpoint on the cache's rows.
    let rt = Runtime::default();
    let best = run.join("checkpoints/best.safetensors");
    let predictor = Predictor::load(run, &best, &rt).unwrap();
    let rows_of_cache = predictor.cache_rows(cache, split).unwrap();
    let (ids, labels, probs) = (
        rows_of_cache.cycle_ids,
        rows_of_cache.labels,
        rows_of_cache.probabilities,
    );
    let df = auscult_cache::table::read_table(&cache.join("metadata.parquet")).unwrap();
    let rec = auscult_cache::table::string_column(&df, "recording").unwrap();
    let onset = auscult_cache::table::f64_column(&df, "onset_s").unwrap();
    let names: Vec<String> = predictor
        .spec
        .classes
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let mut by_cycle: HashMap<(String, String), usize> = HashMap::new();
    for (i, &id) in ids.iter().enumerate() {
        let key = (
            rec[id as usize].clone().unwrap(),
            format!("{:.6}", onset[id as usize].unwrap()),
        );
        by_cycle.insert(key, i);
    }
    assert_eq!(rows.len(), ids.len(), "one prediction per cached cycle");
    let mut worst = 0f64;
    for r in &rows {
        let stem = Path::new(r["file"].as_str().unwrap())
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let key = (stem, format!("{:.6}", r["start_s"].as_f64().unwrap()));
        let i = *by_cycle
            .get(&key)
            .unwrap_or_else(|| panic!("{key:?} not cached"));
        assert_eq!(
            r["label"].as_str().unwrap(),
            names[labels[i] as usize],
            "{key:?}"
        );
        for (c, name) in names.iter().enumerate() {
            let p = r["probabilities"][name].as_f64().unwrap();
            worst = worst.max((p - probs[i][c] as f64).abs());
        }
    }
    assert!(worst <= 1e-5, "probabilities differ by {worst}");
    (ids, labels, probs, names)
}

#[test]
fn predict_from_wav_equals_the_trainers_evaluation_of_the_cached_cycles() {
    let (db, cache, work) = trained();
    let run = work.path().join("run");
    let (ids, labels, probs, names) = predict_matches_cache(
        &run,
        cache.path(),
        &wavs(db.path()),
        None,
        None,
        &work.path().join("p.json"),
    );
    let df = auscult_cache::table::read_table(&cache.path().join("metadata.parquet")).unwrap();
    let split = auscult_cache::table::string_column(&df, "split").unwrap();

    // The trainer's own evaluation of the best epoch: the same confusion matrix on the test split.
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("summary.json")).unwrap()).unwrap();
    let eval = summary["eval_split"].as_str().unwrap();
    let n = names.len();
    let mut counts = vec![vec![0u64; n]; n];
    for (i, &id) in ids.iter().enumerate() {
        if split[id as usize].as_deref() == Some(eval) {
            let p = &probs[i];
            let pred = (0..n).fold(0, |b, c| if p[c] > p[b] { c } else { b });
            counts[labels[i] as usize][pred] += 1;
        }
    }
    let trainer: Vec<Vec<u64>> =
        serde_json::from_value(summary["best_by_eval"]["eval"]["confusion"]["counts"].clone())
            .unwrap();
    assert_eq!(counts, trainer);
}

#[test]
fn sprsound_json_events_predict_as_the_cache_holds_them() {
    // SPRSound: WAVs and JSON annotations in sibling folders; events in milliseconds.
    let db = tempfile::tempdir().unwrap();
    let o = auscult_synth::sprsound::SprsoundSynthOptions {
        recordings: 10,
        seed: 3,
    };
    auscult_synth::sprsound::synth_sprsound(db.path(), &o).unwrap();
    let cache = build_cache(
        auscult_pipeline::build::Dataset::Sprsound,
        db.path(),
        8000,
        16,
        None,
    );
    let work = tempfile::tempdir().unwrap();
    let run = work.path().join("run");
    // A few recordings leave some of the 7 classes out of train: no class weights.
    train_ce(cache.path(), &run, &["--epochs", "1", "--no-class-weights"]);
    let year = db.path().join("BioCAS2022");
    let (ids, ..) = predict_matches_cache(
        &run,
        cache.path(),
        &year.join("train2022_wav"),
        Some(&year.join("train2022_json")),
        Some("train"),
        &work.path().join("p.json"),
    );
    assert!(!ids.is_empty());
}

#[test]
fn windows_csv_checkpoint_file_and_refusals() {
    let (db, _cache, work) = trained();
    let run = work.path().join("run");
    let wav = std::fs::read_dir(wavs(db.path()))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "wav"))
        .min()
        .unwrap();
    let info = auscult_pipeline::audio::probe(&wav).unwrap();
    let seconds = info.frames as f64 / info.sample_rate as f64;
    // A checkpoint file alone (its run dir is found from it), fixed 1 s windows every 0.5 s.
    let ck = run.join("checkpoints/last.safetensors");
    let o = auscult(&[
        "predict",
        "--checkpoint",
        ck.to_str().unwrap(),
        "--input",
        wav.to_str().unwrap(),
        "--window",
        "1",
        "--hop",
        "0.5",
    ]);
    ok(&o);
    let csv = String::from_utf8(o.stdout).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "file,segment,start_s,end_s,source,label,predicted,p_normal,p_crackle,p_wheeze,p_both"
    );
    let body: Vec<&str> = lines.collect();
    // Windows start every 0.5 s until one reaches the end of the audio.
    let expected = ((seconds - 1.0) / 0.5).ceil().max(0.0) as usize + 1;
    assert_eq!(body.len(), expected, "{seconds} s of audio");
    for l in &body {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f.len(), 11, "{l}");
        assert_eq!(f[4], "window");
        let p: f64 = f[7..].iter().map(|x| x.parse::<f64>().unwrap()).sum();
        assert!((p - 1.0).abs() < 1e-5, "{l}");
    }

    // One annotation file for a folder of recordings.
    let ann = wav.with_extension("txt");
    let o = auscult(&[
        "predict",
        "--run",
        run.to_str().unwrap(),
        "--input",
        wavs(db.path()).to_str().unwrap(),
        "--annotations",
        ann.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("give a folder"));

    // A malformed annotation names its file and line.
    let bad = work.path().join("bad.txt");
    std::fs::write(&bad, "0.1 0.9 0 0\n0.9 oops 0 1\n").unwrap();
    let o = auscult(&[
        "predict",
        "--run",
        run.to_str().unwrap(),
        "--input",
        wav.to_str().unwrap(),
        "--annotations",
        bad.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("{}:2", bad.display())), "{err}");

    // A folder that is not a run dir.
    let o = auscult(&[
        "predict",
        "--checkpoint",
        bad.to_str().unwrap(),
        "--input",
        wav.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not inside a run dir"));
}
