//! `auscult pipeline verify` on good and damaged caches, and a `pipeline build` killed at a
//! random moment (kill -9) then rerun: the cache comes out byte-identical to an uninterrupted one.

use crate::common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{auscult, synth_icbhi_db};

/// `pipeline build` of `db` into `out`, 16 rows per shard, one worker (so a kill lands mid-build).
fn build_args(db: &Path, out: &Path) -> Vec<String> {
    let (db, out) = (db.display().to_string(), out.display().to_string());
    [
        "pipeline",
        "build",
        "--dataset",
        "icbhi",
        "--input",
        &db,
        "--output",
        &out,
    ]
    .into_iter()
    .chain(["--shard-size", "16", "--jobs", "1"])
    .map(str::to_string)
    .collect()
}

fn build_cache(db: &Path, out: &Path) {
    let args = build_args(db, out);
    let o = auscult(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// (exit ok, stdout) of `pipeline verify dir`.
fn verify(dir: &Path) -> (bool, String) {
    let o = auscult(&["pipeline", "verify", dir.to_str().unwrap()]);
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

/// Every file under `dir` (relative path → bytes), sorted.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for sub in ["", "shards"] {
        let d = dir.join(sub);
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn verify_reports_every_problem_with_its_file() {
    let db = synth_icbhi_db(12, 3);
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    build_cache(db.path(), &cache);
    let (ok, out) = verify(&cache);
    assert!(ok && out.starts_with("ok: "), "{out}");

    // A flipped byte in one shard, a leftover file, and a missing shard: all three reported.
    let shard0 = cache.join("shards/00000.safetensors");
    let mut bytes = std::fs::read(&shard0).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&shard0, bytes).unwrap();
    std::fs::write(cache.join("shards/99999.safetensors.tmp"), b"x").unwrap();
    std::fs::remove_file(cache.join("shards/00001.safetensors")).unwrap();
    let (ok, out) = verify(&cache);
    assert!(!ok);
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("PROBLEM")).collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("00000.safetensors") && l.contains("checksum")),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("00001.safetensors") && l.contains("missing")),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("99999.safetensors.tmp") && l.contains("not listed")),
        "{out}"
    );

    // An unfinished cache (no manifest) says so.
    std::fs::remove_file(cache.join("manifest.json")).unwrap();
    let (ok, out) = verify(&cache);
    assert!(!ok && out.contains("did not finish"), "{out}");
}

#[test]
fn verify_checks_the_metadata_table_against_the_shards() {
    let db = synth_icbhi_db(8, 4);
    let work = tempfile::tempdir().unwrap();
    let (a, b) = (work.path().join("a"), work.path().join("b"));
    build_cache(db.path(), &a);
    // Another database's table in this cache: its rows no longer match the manifest.
    let other = synth_icbhi_db(10, 9);
    build_cache(other.path(), &b);
    std::fs::copy(b.join("metadata.parquet"), a.join("metadata.parquet")).unwrap();
    let (ok, out) = verify(&a);
    assert!(!ok && out.contains("metadata.parquet"), "{out}");
}

#[test]
fn a_build_killed_midway_and_rerun_is_byte_identical() {
    let db = synth_icbhi_db(40, 6);
    let work = tempfile::tempdir().unwrap();
    let (clean, killed) = (work.path().join("clean"), work.path().join("killed"));
    build_cache(db.path(), &clean);
    // Kill -9 as soon as the first shard exists (the manifest comes last), or at a deadline.
    let mut child = Command::new(env!("CARGO_BIN_EXE_auscult"))
        .args(build_args(db.path(), &killed))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(60) {
        let started = std::fs::read_dir(killed.join("shards"))
            .map(|d| d.count() > 0)
            .unwrap_or(false);
        if started || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let finished_anyway = child.try_wait().unwrap().is_some();
    child.kill().ok(); // SIGKILL on Unix
    child.wait().unwrap();
    if !finished_anyway {
        let (ok, out) = verify(&killed);
        assert!(
            !ok && out.contains("did not finish"),
            "a killed build is unfinished: {out}"
        );
    } else {
        eprintln!("the build finished before it could be killed; checking the rerun only");
    }
    build_cache(db.path(), &killed);
    assert!(verify(&killed).0);
    let (x, y) = (files(&clean), files(&killed));
    assert_eq!(
        x.iter().map(|f| &f.0).collect::<Vec<_>>(),
        y.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for ((name, a), (_, b)) in x.iter().zip(&y) {
        assert!(a == b, "{name} differs after the killed build was rerun");
    }
}
