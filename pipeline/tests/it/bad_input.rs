//! Every kind of malformed ICBHI input: `--on-error fail` names the file (and line) and writes
//! nothing; `--on-error skip` builds the rest and lists each skipped input with its reason.

use std::path::{Path, PathBuf};

use crate::support::synth_icbhi_db;
use auscult_pipeline::build::{build, BuildOptions, Dataset, OnError};

struct Db {
    dir: tempfile::TempDir,
    stems: Vec<String>,
}

impl Db {
    fn new() -> Db {
        let dir = synth_icbhi_db(6, 5);
        let mut stems: Vec<String> = std::fs::read_dir(dir.path().join("ICBHI_final_database"))
            .unwrap()
            .filter_map(|e| {
                let p = e.unwrap().path();
                (p.extension()? == "wav")
                    .then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
            })
            .collect();
        stems.sort();
        Db { dir, stems }
    }
    fn file(&self, i: usize, ext: &str) -> PathBuf {
        self.dir
            .path()
            .join("ICBHI_final_database")
            .join(format!("{}.{ext}", self.stems[i]))
    }
    fn run(
        &self,
        on_error: OnError,
    ) -> (
        tempfile::TempDir,
        Result<auscult_pipeline::build::BuildReport, String>,
    ) {
        let out = tempfile::tempdir().unwrap();
        let mut o = BuildOptions::new(Dataset::Icbhi, self.dir.path(), out.path());
        o.on_error = on_error;
        let r = build(&o).map_err(|e| e.to_string());
        (out, r)
    }
}

fn nothing_written(out: &Path) {
    assert!(!out.join("manifest.json").exists());
    assert!(!out.join("metadata.parquet").exists());
    let shards = out.join("shards");
    assert!(!shards.exists() || std::fs::read_dir(shards).unwrap().count() == 0);
}

fn append_line(path: &Path, line: &str) {
    let mut t = std::fs::read_to_string(path).unwrap();
    t.push_str(line);
    std::fs::write(path, t).unwrap();
}

/// Applies `mutate`, checks the failing build's message, and that nothing was written.
fn fails_with(mutate: impl Fn(&Db), expect: &[&str]) {
    let db = Db::new();
    mutate(&db);
    let (out, r) = db.run(OnError::Fail);
    let msg = r.expect_err("build must fail");
    for e in expect {
        assert!(msg.contains(e), "expected `{e}` in:\n{msg}");
    }
    nothing_written(out.path());
}

#[test]
fn unreadable_wav() {
    fails_with(
        |db| std::fs::write(db.file(0, "wav"), b"garbage, not audio").unwrap(),
        &["not a readable WAV"],
    );
}

#[test]
fn wrong_header() {
    fails_with(
        |db| {
            let mut b = std::fs::read(db.file(1, "wav")).unwrap();
            b[8..12].copy_from_slice(b"AVI ");
            std::fs::write(db.file(1, "wav"), b).unwrap();
        },
        &["not a readable WAV"],
    );
}

#[test]
fn truncated_wav_makes_the_last_cycle_run_past_the_end() {
    fails_with(
        |db| {
            let b = std::fs::read(db.file(0, "wav")).unwrap();
            std::fs::write(db.file(0, "wav"), &b[..b.len() * 2 / 3]).unwrap();
        },
        &["runs past the end", "header declares"],
    );
}

#[test]
fn annotation_line_that_does_not_parse() {
    fails_with(
        |db| append_line(&db.file(2, "txt"), "0.5\tabc\t0\t0\n"),
        &[".txt:", "not numbers"],
    );
}

#[test]
fn onset_not_before_offset() {
    fails_with(
        |db| append_line(&db.file(2, "txt"), "3.0\t2.0\t0\t0\n"),
        &["not before offset"],
    );
}

#[test]
fn cycle_past_the_end_of_the_audio() {
    fails_with(
        |db| append_line(&db.file(3, "txt"), "500.0\t501.0\t1\t0\n"),
        &["runs past the end"],
    );
}

#[test]
fn annotation_without_audio() {
    fails_with(
        |db| std::fs::remove_file(db.file(0, "wav")).unwrap(),
        &["annotation without audio"],
    );
}

#[test]
fn audio_without_annotation() {
    fails_with(
        |db| std::fs::remove_file(db.file(0, "txt")).unwrap(),
        &["audio without annotation"],
    );
}

#[test]
fn recording_absent_from_the_split_file() {
    fails_with(
        |db| {
            let split = db.dir.path().join("ICBHI_challenge_train_test.txt");
            let t = std::fs::read_to_string(&split).unwrap();
            let kept: String = t
                .lines()
                .filter(|l| !l.starts_with(&db.stems[4]))
                .map(|l| format!("{l}\n"))
                .collect();
            std::fs::write(&split, kept).unwrap();
        },
        &["absent from the split file"],
    );
}

#[test]
fn skip_builds_the_rest_and_lists_every_skipped_input() {
    let db = Db::new();
    let (clean_out, clean) = db.run(OnError::Fail);
    let clean_rows = clean.unwrap().rows;
    drop(clean_out);

    std::fs::write(db.file(0, "wav"), b"garbage").unwrap();
    append_line(&db.file(2, "txt"), "3.0\t2.0\t0\t0\n");
    append_line(&db.file(3, "txt"), "500.0\t501.0\t1\t0\n");
    let cycles_0 = std::fs::read_to_string(db.file(0, "txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();

    let (out, r) = db.run(OnError::Skip);
    let report = r.unwrap();
    assert_eq!(report.rows, clean_rows - cycles_0);
    assert_eq!(report.skipped.len(), 3, "{:?}", report.skipped);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("manifest.json")).unwrap()).unwrap();
    let skipped = manifest["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 3);
    let text = serde_json::to_string(skipped).unwrap();
    assert!(
        text.contains("not a readable WAV")
            && text.contains("not before offset")
            && text.contains("past the end")
    );
    auscult_cache::CacheReader::open(out.path())
        .unwrap()
        .verify()
        .unwrap();
}
