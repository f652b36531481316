//! Unit tests of `src/icbhi.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use auscult_synth::icbhi::*;
use auscult_synth::signals::SoundClass;
use auscult_synth::SynthError;

fn read_dir_sorted(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            for (name, bytes) in read_dir_sorted(&path) {
                files.push((
                    format!("{}/{name}", path.file_name().unwrap().to_string_lossy()),
                    bytes,
                ));
            }
        } else {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            files.push((name, fs::read(&path).unwrap()));
        }
    }
    files.sort();
    files
}

/// One parsed annotation line.
struct Line {
    onset: f64,
    offset: f64,
    class: SoundClass,
}

fn parse_annotation(text: &str) -> Vec<Line> {
    text.lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 4, "line {line:?}");
            for t in &f[..2] {
                assert_eq!(t.split('.').nth(1).map(str::len), Some(3), "{line:?}");
            }
            let flag = |s: &str| match s {
                "0" => false,
                "1" => true,
                _ => panic!("flag {s:?}"),
            };
            Line {
                onset: f[0].parse().unwrap(),
                offset: f[1].parse().unwrap(),
                class: SoundClass::from_flags(flag(f[2]), flag(f[3])),
            }
        })
        .collect()
}

#[test]
fn same_seed_gives_identical_bytes_and_other_seed_differs() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let opts = IcbhiSynthOptions {
        recordings: 6,
        ..IcbhiSynthOptions::default()
    };
    synth_icbhi(a.path(), &opts).unwrap();
    synth_icbhi(b.path(), &opts).unwrap();
    synth_icbhi(c.path(), &IcbhiSynthOptions { seed: 1, ..opts }).unwrap();
    let (fa, fb, fc) = (
        read_dir_sorted(a.path()),
        read_dir_sorted(b.path()),
        read_dir_sorted(c.path()),
    );
    assert_eq!(fa.len(), 2 * 6 + 4);
    assert!(fa == fb, "same seed, different files");
    assert!(fa != fc, "different seeds, same files");
}

#[test]
fn default_database_is_complete_and_parses_back() {
    let dir = tempfile::tempdir().unwrap();
    let report = synth_icbhi(dir.path(), &IcbhiSynthOptions::default()).unwrap();
    assert_eq!(report.recordings, 24);
    assert_eq!(report.files_written, 52);
    assert_eq!(report.cycles, report.cycles_per_label.iter().sum::<usize>());

    // Split file: every recording once, CRLF lines.
    let split_raw = fs::read_to_string(dir.path().join(SPLIT_FILE)).unwrap();
    assert!(split_raw.ends_with("\r\n"));
    let split: BTreeMap<String, String> = split_raw
        .lines()
        .map(|l| {
            let (name, s) = l.trim_end_matches('\r').split_once('\t').unwrap();
            assert!(s == "train" || s == "test", "{l:?}");
            (name.to_string(), s.to_string())
        })
        .collect();
    assert_eq!(split.len(), 24);
    let db = dir.path().join(DATABASE_DIR);
    let mut wav_names = BTreeSet::new();
    for entry in fs::read_dir(&db).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(stem) = name.strip_suffix(".wav") {
            wav_names.insert(stem.to_string());
        }
    }
    assert_eq!(wav_names, split.keys().cloned().collect());

    // Patients: split by patient, ~60 % train.
    let patient = |name: &str| name.split('_').next().unwrap().to_string();
    let mut split_of_patient: BTreeMap<String, String> = BTreeMap::new();
    for (name, s) in &split {
        let prev = split_of_patient.insert(patient(name), s.clone());
        assert!(
            prev.is_none() || prev.as_ref() == Some(s),
            "{name} split by recording"
        );
    }
    let train = split_of_patient.values().filter(|s| *s == "train").count();
    let share = train as f64 / split_of_patient.len() as f64;
    assert!((0.45..0.75).contains(&share), "train share {share}");

    let mut formats = BTreeSet::new();
    let mut classes_per_split: BTreeMap<String, BTreeSet<SoundClass>> = BTreeMap::new();
    let (mut cycles, mut long, mut short) = (0, 0, 0);
    let mut per_label = [0usize; 4];
    for (name, s) in &split {
        let reader = hound::WavReader::open(db.join(format!("{name}.wav"))).unwrap();
        let spec = reader.spec();
        assert_eq!(spec.channels, 1);
        assert_eq!(spec.sample_format, hound::SampleFormat::Int);
        let device = name.rsplit('_').next().unwrap();
        let expected_rates: &[u32] = match device {
            "Litt3200" => &[4000],
            "Meditron" => &[44100],
            "AKGC417L" | "LittC2SE" => &[44100, 10000],
            other => panic!("device {other}"),
        };
        assert!(
            expected_rates.contains(&spec.sample_rate),
            "{name}: {spec:?}"
        );
        formats.insert((spec.sample_rate, spec.bits_per_sample));
        let wav_seconds = reader.duration() as f64 / spec.sample_rate as f64;

        let lines = parse_annotation(&fs::read_to_string(db.join(format!("{name}.txt"))).unwrap());
        assert!(!lines.is_empty());
        assert!(lines[0].onset > 0.0, "{name}");
        for (i, l) in lines.iter().enumerate() {
            assert!(l.onset < l.offset, "{name}");
            assert!(
                l.offset < wav_seconds,
                "{name}: {} past {wav_seconds}",
                l.offset
            );
            if i > 0 {
                let gap = l.onset - lines[i - 1].offset;
                assert!((-1e-9..0.31).contains(&gap), "{name}: gap {gap}");
            }
            let d = l.offset - l.onset;
            long += (d > 8.0) as usize;
            short += (d < 0.5) as usize;
            per_label[l.class.label()] += 1;
            classes_per_split
                .entry(s.clone())
                .or_default()
                .insert(l.class);
        }
        cycles += lines.len();
    }
    assert_eq!(cycles, report.cycles);
    assert_eq!(per_label, report.cycles_per_label);
    for rate in [44100, 10000, 4000] {
        assert!(
            formats.iter().any(|f| f.0 == rate),
            "rate {rate}: {formats:?}"
        );
    }
    for bits in [16, 24] {
        assert!(
            formats.iter().any(|f| f.1 == bits),
            "{bits}-bit: {formats:?}"
        );
    }
    for s in ["train", "test"] {
        assert_eq!(
            classes_per_split[s].len(),
            4,
            "{s}: {:?}",
            classes_per_split[s]
        );
    }
    assert!(long >= 1 && short >= 1, "long {long}, short {short}");
    // Normal is the largest class, both the smallest-ish, as in ICBHI.
    assert!(
        per_label[0] > per_label[1] && per_label[1] > per_label[3],
        "{per_label:?}"
    );

    // Demographics and diagnosis: one row per patient.
    let demo = fs::read_to_string(dir.path().join(DEMOGRAPHICS_FILE)).unwrap();
    let mut all_na = 0;
    let mut demo_ids = BTreeSet::new();
    for line in demo.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        assert_eq!(f.len(), 6, "{line:?}");
        demo_ids.insert(f[0].to_string());
        if f[1..].iter().all(|v| *v == "NA") {
            all_na += 1;
            continue;
        }
        let num = |v: &str| v.parse::<f64>().unwrap();
        assert!(f[2] == "M" || f[2] == "F");
        let age = num(f[1]);
        if f[3] != "NA" {
            assert!(age >= 18.0 && f[4] == "NA" && f[5] == "NA", "{line:?}");
            assert!((16.0..=40.0).contains(&num(f[3])));
        } else {
            assert!(age < 18.0, "{line:?}");
            assert!(num(f[4]) > 2.0 && num(f[5]) > 40.0, "{line:?}");
        }
    }
    assert!(all_na >= 1);
    let patients: BTreeSet<String> = split_of_patient.keys().cloned().collect();
    assert_eq!(demo_ids, patients);
    let diag = fs::read_to_string(dir.path().join(DIAGNOSIS_FILE)).unwrap();
    let known = [
        "COPD",
        "URTI",
        "Healthy",
        "Bronchiectasis",
        "Pneumonia",
        "Bronchiolitis",
        "LRTI",
        "Asthma",
    ];
    let mut diag_ids = BTreeSet::new();
    for line in diag.lines() {
        let (id, d) = line.split_once('\t').unwrap();
        assert!(known.contains(&d), "{line:?}");
        diag_ids.insert(id.to_string());
    }
    assert_eq!(diag_ids, patients);
}

#[test]
fn wheeze_cycles_show_a_narrow_band_peak_in_the_written_audio() {
    let dir = tempfile::tempdir().unwrap();
    synth_icbhi(dir.path(), &IcbhiSynthOptions::default()).unwrap();
    let db = dir.path().join(DATABASE_DIR);
    let mut ratios: BTreeMap<SoundClass, Vec<f64>> = BTreeMap::new();
    let mut names: Vec<String> = fs::read_dir(&db)
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().into_string().unwrap();
            n.strip_suffix(".wav").map(str::to_string)
        })
        .collect();
    names.sort();
    for name in names {
        let mut reader = hound::WavReader::open(db.join(format!("{name}.wav"))).unwrap();
        let spec = reader.spec();
        let scale = 1.0 / (1u32 << (spec.bits_per_sample - 1)) as f32;
        let x: Vec<f32> = reader
            .samples::<i32>()
            .map(|s| s.unwrap() as f32 * scale)
            .collect();
        let rate = spec.sample_rate as f64;
        let text = fs::read_to_string(db.join(format!("{name}.txt"))).unwrap();
        for l in parse_annotation(&text) {
            if l.class == SoundClass::Crackle || l.class == SoundClass::Both {
                continue;
            }
            // 0.1 s around the middle of the cycle (always inside a wheeze's tone).
            let mid = ((l.onset + l.offset) / 2.0 * rate) as usize;
            let half = (0.05 * rate) as usize;
            if l.offset - l.onset < 0.3 || mid < half {
                continue;
            }
            let seg = &x[mid - half..mid + half];
            ratios.entry(l.class).or_default().push(
                crate::unit::signals::test_spectra::peak_to_median(seg, rate as f32),
            );
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    let normal = median(ratios.get_mut(&SoundClass::Normal).unwrap());
    let wheeze = median(ratios.get_mut(&SoundClass::Wheeze).unwrap());
    assert!(wheeze > 5.0 * normal, "wheeze {wheeze} vs normal {normal}");
}

#[test]
fn rejects_empty_options() {
    let dir = tempfile::tempdir().unwrap();
    let opts = IcbhiSynthOptions {
        recordings: 0,
        ..IcbhiSynthOptions::default()
    };
    assert!(matches!(
        synth_icbhi(dir.path(), &opts),
        Err(SynthError::Options(_))
    ));
}

#[test]
fn number_formatting_matches_the_real_style() {
    assert_eq!(seconds_text(36), "0.036");
    assert_eq!(seconds_text(2450), "2.450");
    assert_eq!(seconds_text(12_000), "12.000");
    assert_eq!(number_or_na(Some(70.0)), "70");
    assert_eq!(number_or_na(Some(28.47)), "28.47");
    assert_eq!(number_or_na(Some(9.8)), "9.8");
    assert_eq!(number_or_na(None), "NA");
}
