//! Unit tests of `src/icbhi_corpus.rs`.

use std::fs;
use std::path::{Path, PathBuf};

use auscult_synth::icbhi::{synth_icbhi, IcbhiSynthOptions, DATABASE_DIR, SPLIT_FILE};
use auscult_synth::icbhi_corpus::*;
use auscult_synth::signals::SoundClass;
use auscult_synth::wav::PcmFormat;
use auscult_synth::SynthError;

fn shared_icbhi() -> Option<PathBuf> {
    let dir = Path::new(
        &std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../shared/data/icbhi");
    if dir.join("all_annotations").is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: ../shared/data/icbhi/all_annotations not found");
        None
    }
}

/// Checks every WAV against its annotation: format by device, length = last offset + 0.5 s.
fn check_output(out: &Path, names: &[String]) -> usize {
    let db = out.join(DATABASE_DIR);
    let mut cycles = 0;
    for name in names {
        let reader = hound::WavReader::open(db.join(format!("{name}.wav"))).unwrap();
        let spec = reader.spec();
        match name.rsplit('_').next().unwrap() {
            "Litt3200" => assert_eq!((spec.sample_rate, spec.bits_per_sample), (4000, 16)),
            _ => assert!([44100, 10000].contains(&spec.sample_rate), "{name}"),
        }
        let path = db.join(format!("{name}.txt"));
        let parsed = parse_annotation(&path, &fs::read(&path).unwrap()).unwrap();
        let last = parsed.iter().map(|c| c.offset_s).fold(0.0, f64::max);
        let expected = ((last + TAIL_SECONDS) * spec.sample_rate as f64).ceil() as u32;
        assert_eq!(reader.duration(), expected, "{name}");
        cycles += parsed.len();
    }
    cycles
}

#[test]
fn corpus_from_synthetic_annotations_round_trips() {
    // Annotations from the synthetic database stand in for the real ones.
    let source = tempfile::tempdir().unwrap();
    let report = synth_icbhi(
        source.path(),
        &IcbhiSynthOptions {
            recordings: 5,
            seed: 7,
            max_cycles_per_recording: 4,
        },
    )
    .unwrap();
    let annotations = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    for entry in fs::read_dir(source.path().join(DATABASE_DIR)).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().unwrap() == "txt" {
            fs::copy(&path, annotations.path().join(path.file_name().unwrap())).unwrap();
            names.push(path.file_stem().unwrap().to_string_lossy().into_owned());
        }
    }
    names.sort();
    let opts = CorpusFromAnnotations {
        annotations_dir: annotations.path().to_path_buf(),
        split_file: source.path().join(SPLIT_FILE),
        demographics_file: Some(source.path().join(auscult_synth::icbhi::DEMOGRAPHICS_FILE)),
        diagnosis_file: None,
        seed: 3,
    };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let corpus = synth_icbhi_from_annotations(a.path(), &opts).unwrap();
    synth_icbhi_from_annotations(b.path(), &opts).unwrap();
    assert_eq!(corpus.recordings, 5);
    assert_eq!(corpus.cycles, report.cycles);
    assert_eq!(corpus.cycles_per_label, report.cycles_per_label);
    assert_eq!(corpus.files_written, 2 * 5 + 3);
    assert_eq!(check_output(a.path(), &names), report.cycles);
    for name in &names {
        for ext in ["wav", "txt"] {
            let rel = format!("{DATABASE_DIR}/{name}.{ext}");
            assert_eq!(
                fs::read(a.path().join(&rel)).unwrap(),
                fs::read(b.path().join(&rel)).unwrap(),
                "{rel} differs between runs"
            );
        }
    }
    assert_eq!(
        fs::read(a.path().join(SPLIT_FILE)).unwrap(),
        fs::read(source.path().join(SPLIT_FILE)).unwrap()
    );
    assert!(a
        .path()
        .join(auscult_synth::icbhi::DEMOGRAPHICS_FILE)
        .is_file());
}

#[test]
fn corpus_from_real_annotations_keeps_cycle_counts() {
    let Some(icbhi) = shared_icbhi() else {
        return;
    };
    let names = [
        "101_1b1_Al_sc_Meditron",
        "104_1b1_Al_sc_Litt3200",
        "107_2b3_Pr_mc_AKGC417L",
    ];
    let annotations = tempfile::tempdir().unwrap();
    let mut expected_cycles = 0;
    for name in names {
        let src = icbhi.join("all_annotations").join(format!("{name}.txt"));
        let text = fs::read_to_string(&src).unwrap();
        expected_cycles += text.lines().filter(|l| !l.trim().is_empty()).count();
        fs::copy(&src, annotations.path().join(format!("{name}.txt"))).unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    let report = synth_icbhi_from_annotations(
        out.path(),
        &CorpusFromAnnotations {
            annotations_dir: annotations.path().to_path_buf(),
            split_file: icbhi.join("ICBHI_challenge_train_test.txt"),
            demographics_file: Some(icbhi.join("demographic_info.txt")),
            diagnosis_file: Some(icbhi.join("patient_diagnosis.csv")),
            seed: 0,
        },
    )
    .unwrap();
    assert_eq!(report.recordings, 3);
    assert_eq!(report.cycles, expected_cycles);
    assert_eq!(report.files_written, 3 * 2 + 4);
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    assert_eq!(check_output(out.path(), &names), expected_cycles);
    assert!(out.path().join("demographic_info.txt").is_file());
    assert!(out.path().join("patient_diagnosis.csv").is_file());
}

#[test]
fn parse_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("101_1b1_Al_sc_Meditron.txt");
    for (text, line, needle) in [
        ("0.1\t0.5\t0\t0\n0.5\t0.9\t0\n", 2, "4 fields"),
        ("\n0.1\t0.5\t0\t2\n", 2, "wheezes flag"),
        ("0.5\t0.1\t0\t0\n", 1, "not after onset"),
        ("x\t0.1\t0\t0\n", 1, "onset"),
    ] {
        let err = parse_annotation(&path, text.as_bytes()).unwrap_err();
        match &err {
            SynthError::Parse { line: l, .. } => assert_eq!(*l, line, "{err}"),
            other => panic!("{other}"),
        }
        let msg = err.to_string();
        assert!(msg.contains("101_1b1_Al_sc_Meditron.txt"), "{msg}");
        assert!(msg.contains(needle), "{msg}");
    }
    let ok = parse_annotation(&path, b"0.036\t0.579\t1\t0\r\n0.579\t2.45\t0\t1\n\n").unwrap();
    assert_eq!(ok.len(), 2);
    assert_eq!(ok[0].class, SoundClass::Crackle);
    assert_eq!(ok[1].class, SoundClass::Wheeze);
}

#[test]
fn formats_follow_devices_with_a_small_10k_subset() {
    let path = Path::new("x.txt");
    let (mut ten_k, mut sixteen, total) = (0, 0, 4000);
    for i in 0..total {
        let f = format_for(path, &format!("{}_1b1_Al_mc_AKGC417L", 100 + i), 0).unwrap();
        ten_k += (f.sample_rate == 10000) as usize;
        sixteen += (f.bits_per_sample == 16) as usize;
    }
    let (ten_k, sixteen) = (ten_k as f64 / total as f64, sixteen as f64 / total as f64);
    assert!((0.03..0.07).contains(&ten_k), "10 kHz share {ten_k}");
    assert!((0.07..0.13).contains(&sixteen), "16-bit share {sixteen}");
    assert_eq!(
        format_for(path, "104_1b1_Al_sc_Litt3200", 0).unwrap(),
        PcmFormat::new(4000, 16)
    );
    assert!(matches!(
        format_for(path, "104_1b1_Al_sc_Foo", 0),
        Err(SynthError::BadName { .. })
    ));
    assert!(matches!(
        format_for(path, "104_1b1_Al", 0),
        Err(SynthError::BadName { .. })
    ));
}
