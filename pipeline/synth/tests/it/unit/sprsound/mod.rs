//! The synthetic SPRSound database: determinism, layout and format, and the reader reading it
//! back with the counts the generator reports.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use auscult_pipeline::record::{CycleRecord, Origin, RecordMeta};
use auscult_pipeline::sprsound::{parse_stem, scan_sprsound, SprsoundOptions, SPRSOUND_CLASSES};
use auscult_synth::sprsound::plan::Split;
use auscult_synth::sprsound::*;
use auscult_synth::SynthError;

/// Every file under `dir`, relative path → bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().to_path_buf();
                files.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    files
}

fn synth(recordings: usize, seed: u64) -> (tempfile::TempDir, SprsoundSynthReport) {
    let dir = tempfile::tempdir().unwrap();
    let report = synth_sprsound(dir.path(), &SprsoundSynthOptions { recordings, seed }).unwrap();
    (dir, report)
}

#[test]
fn same_seed_same_bytes() {
    let (a, ra) = synth(12, 7);
    let (b, rb) = synth(12, 7);
    let (c, _) = synth(12, 8);
    let (sa, sb, sc) = (snapshot(a.path()), snapshot(b.path()), snapshot(c.path()));
    assert_eq!(sa.len(), 25, "12 recordings × (wav, json) + SYNTHETIC.txt");
    assert_eq!(ra, rb);
    assert!(sa == sb, "same seed gave different files");
    assert_ne!(sa, sc);
}

#[test]
fn too_few_recordings_is_an_options_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = synth_sprsound(
        dir.path(),
        &SprsoundSynthOptions {
            recordings: 2,
            seed: 0,
        },
    );
    assert!(matches!(err, Err(SynthError::Options(_))));
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

fn meta(r: &CycleRecord) -> &auscult_pipeline::record::SprsoundMeta {
    match &r.meta {
        RecordMeta::Sprsound(m) => m,
        other => panic!("not SPRSound meta: {other:?}"),
    }
}

#[test]
fn the_reader_reads_it_back_with_the_reported_counts() {
    let (dir, report) = synth(30, 0);
    let scan = scan_sprsound(&SprsoundOptions::new(dir.path())).unwrap();
    assert!(scan.issues.is_empty(), "{:#?}", scan.issues);
    assert_eq!(report.recordings, 30);
    assert_eq!(
        (scan.counts.wav_files, scan.counts.wav_without_json),
        (30, 0)
    );
    assert_eq!(
        report.per_split.keys().collect::<Vec<_>>(),
        scan.counts.splits.keys().collect::<Vec<_>>()
    );
    for (split, tally) in &report.per_split {
        let c = &scan.counts.splits[split];
        assert_eq!(c.json_files, tally.recordings, "{split}");
        assert_eq!(c.record_labels, tally.record_labels, "{split}");
        assert_eq!(
            c.poor_quality,
            tally
                .record_labels
                .get("Poor Quality")
                .copied()
                .unwrap_or(0)
        );
        assert_eq!((c.poor_quality_events, c.without_events), (0, 0));
        for (k, name) in SPRSOUND_CLASSES.iter().enumerate() {
            let read = c.event_types.get(*name).copied().unwrap_or(0);
            assert_eq!(read, tally.events_per_type[k], "{split} {name}");
        }
        // Every split has a Poor Quality record at the default size.
        assert!(c.poor_quality >= 1, "{split}");
        let unsorted: BTreeSet<&str> = scan
            .records
            .iter()
            .filter(|r| &r.split == split && meta(r).event_index_in_file != sorted_index(r))
            .map(|r| r.recording.as_str())
            .collect();
        assert_eq!(unsorted.len(), tally.unsorted_files, "{split}");
    }
    assert!(report.per_split["train"].unsorted_files >= 1);
    // All seven event types occur.
    assert!(
        report.events_per_type().iter().all(|&n| n > 0),
        "{:?}",
        report.events_per_type()
    );
    let rows: usize = report.events_per_type().iter().sum();
    assert_eq!(scan.records.len(), rows);
}

/// Position of a row's event after sorting.
fn sorted_index(r: &CycleRecord) -> usize {
    match r.origin {
        Origin::Event(i) => i,
        Origin::Line(_) => panic!("ICBHI origin"),
    }
}

#[test]
fn layout_json_format_and_patient_splits() {
    let (dir, _) = synth(30, 3);
    let root = dir.path();
    let stems = |rel: &str| -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(root.join(rel))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .map(|p| p.file_stem().unwrap().to_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let patients = |rel: &str| -> BTreeSet<String> {
        stems(rel)
            .iter()
            .map(|s| parse_stem(s).unwrap().patient_id)
            .collect()
    };
    let train = patients(Split::Train.json_dir());
    let inter = patients(Split::InterTest.json_dir());
    let intra = patients(Split::IntraTest.json_dir());
    assert!(train.is_disjoint(&inter));
    assert!(intra.is_subset(&train));
    assert!(!inter.is_empty() && !intra.is_empty());

    let mut pq = 0;
    for split in Split::ALL {
        for stem in stems(split.json_dir()) {
            let text = fs::read_to_string(root.join(split.json_dir()).join(format!("{stem}.json")))
                .unwrap();
            assert!(!text.contains('\n'), "{stem}");
            assert!(text.starts_with(r#"{"record_annotation": ""#), "{text}");
            assert!(text.ends_with("]}"), "{text}");
            if text.contains(r#""record_annotation": "Poor Quality""#) {
                assert!(text.ends_with(r#""event_annotation": []}"#), "{text}");
                pq += 1;
            } else {
                assert!(
                    text.contains(r#"{"start": ""#) && text.contains(r#"", "end": ""#),
                    "{text}"
                );
            }
            // Audio: 8 kHz, 16-bit mono, 10–15 s, every event inside it.
            let wav = root.join(split.wav_dir()).join(format!("{stem}.wav"));
            let reader = hound::WavReader::open(&wav).unwrap();
            let spec = reader.spec();
            assert_eq!(
                (spec.sample_rate, spec.bits_per_sample, spec.channels),
                (8000, 16, 1)
            );
            let seconds = reader.duration() as f64 / 8000.0;
            assert!((10.0..=15.0).contains(&seconds), "{stem}: {seconds} s");
            let parsed = auscult_pipeline::sprsound::parse_annotation_json(&wav, &text).unwrap();
            assert!(parsed
                .events
                .iter()
                .all(|e| e.end_ms as f64 <= seconds * 1000.0));
        }
    }
    assert!(pq >= 3, "{pq} Poor Quality files");
}

/// Frequency (10 Hz grid, 60–1500 Hz) with the most power in `x` (Hann-windowed direct DFT).
fn dominant_hz(x: &[f32]) -> f64 {
    let n = x.len() as f64;
    let power = |f: f64| {
        let (mut re, mut im) = (0.0, 0.0);
        for (i, &v) in x.iter().enumerate() {
            let w = 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n).cos();
            let arg = std::f64::consts::TAU * f * i as f64 / 8000.0;
            re += w * v as f64 * arg.cos();
            im -= w * v as f64 * arg.sin();
        }
        re * re + im * im
    };
    (6..=150)
        .map(|k| k as f64 * 10.0)
        .max_by(|a, b| power(*a).total_cmp(&power(*b)))
        .unwrap()
}

#[test]
fn rhonchi_are_low_and_stridor_high() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut median = |kind: auscult_pipeline::sprsound::EventType| {
        let mut peaks: Vec<f64> = (0..9)
            .map(|_| {
                let mut out = vec![0.0f32; 12_000];
                render::render_event(&mut out, kind, 0.03, &mut rng);
                dominant_hz(&out[5000..7048])
            })
            .collect();
        peaks.sort_by(f64::total_cmp);
        peaks[4]
    };
    let rhonchi = median(auscult_pipeline::sprsound::EventType::Rhonchi);
    let stridor = median(auscult_pipeline::sprsound::EventType::Stridor);
    assert!(rhonchi <= 250.0, "rhonchi peak {rhonchi} Hz");
    assert!(stridor >= 450.0, "stridor peak {stridor} Hz");
}
