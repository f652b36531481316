//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Mutex, OnceLock};

use auscult::train::experiment::{Experiment, MethodKind};
use candle_core::{Tensor, WithDType};

pub mod shared;
pub use shared::{mini_database, shared_data, synth_sprsound_db};

/// Runs the `auscult` binary.
pub fn auscult(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_auscult"))
        .args(args)
        .output()
        .expect("run auscult")
}

/// A small synthetic ICBHI database in a temp dir.
pub fn synth_icbhi_db(recordings: usize, seed: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    synth_icbhi_db_into(dir.path(), recordings, seed);
    dir
}

/// [`synth_icbhi_db`] into the folder `dir`.
pub fn synth_icbhi_db_into(dir: &Path, recordings: usize, seed: u64) {
    let o = auscult_synth::IcbhiSynthOptions {
        recordings,
        seed,
        ..Default::default()
    };
    auscult_synth::synth_icbhi(dir, &o).unwrap();
}

/// A synthetic ICBHI database and its cache: clips of `samples` samples at 16 kHz (the paper:
/// 128000) with `mels` mel bands (the paper: 64), `shard_size` rows per shard (None: the default).
/// Small clips keep CNN6 cheap in tests. Returns (database, cache).
pub fn synth_icbhi_cache(
    recordings: usize,
    seed: u64,
    samples: usize,
    mels: usize,
    shard_size: Option<usize>,
) -> (tempfile::TempDir, tempfile::TempDir) {
    let db = synth_icbhi_db(recordings, seed);
    let cache = build_cache(
        auscult_pipeline::build::Dataset::Icbhi,
        db.path(),
        samples,
        mels,
        shard_size,
    );
    (db, cache)
}

/// The cache of database `db` of `dataset` in a temp dir, with clips of `samples` samples and
/// `mels` mel bands (`shard_size` rows per shard; None: the default).
pub fn build_cache(
    dataset: auscult_pipeline::build::Dataset,
    db: &Path,
    samples: usize,
    mels: usize,
    shard_size: Option<usize>,
) -> tempfile::TempDir {
    let cache = tempfile::tempdir().unwrap();
    build_cache_into(dataset, db, cache.path(), samples, mels, shard_size);
    cache
}

/// [`build_cache`] into the folder `cache`.
pub fn build_cache_into(
    dataset: auscult_pipeline::build::Dataset,
    db: &Path,
    cache: &Path,
    samples: usize,
    mels: usize,
    shard_size: Option<usize>,
) {
    let mut o = auscult_pipeline::build::BuildOptions::new(dataset, db, cache);
    o.features.target_samples = samples;
    o.features.n_mels = mels;
    if let Some(n) = shard_size {
        o.shard_size = n;
    }
    auscult_pipeline::build::build(&o).unwrap();
}

/// The lines of a run's `metrics.jsonl` without their timing fields (which vary run to run).
pub fn lines_without_timing(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let o = v.as_object_mut().unwrap();
            o.remove("seconds");
            o.remove("samples_per_s");
            v
        })
        .collect()
}

/// Asserts that the command succeeded (else fails with its stderr); returns (stdout, stderr).
pub fn ok(o: &Output) -> (String, String) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A JSON file's value (a failure names the file).
pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

/// A tensor's elements, flattened, as `T`.
pub fn values<T: WithDType>(t: &Tensor) -> candle_core::Result<Vec<T>> {
    t.to_dtype(T::DTYPE)?.flatten_all()?.to_vec1::<T>()
}

/// A few cheap epochs of `method` at batch 16 (plus `linear` linear-evaluation epochs for the
/// contrastive ones), standardised on the train split; `extra` TOML lines (top-level fields
/// first, then sections) and the `[input.specaugment]` lines `specaugment` complete it.
pub fn tiny(
    method: MethodKind,
    epochs: usize,
    linear: usize,
    extra: &str,
    specaugment: &str,
) -> Experiment {
    let le = if method.needs_linear_eval() {
        format!("[linear_eval]\nepochs = {linear}\nlr = 0.01\n")
    } else {
        String::new()
    };
    let text = format!(
        "method = \"{method}\"\nepochs = {epochs}\nbatch_size = 16\n{extra}\n\
         [input]\nstandardize = \"train-stats\"\n\
         [input.specaugment]\n{specaugment}\n{le}"
    );
    Experiment::parse(&text, Path::new("tiny")).unwrap()
}

/// This process's folder for the data it shares between tests (under cargo's per-target temp
/// dir; the folders of processes that have ended are removed on first use).
fn process_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("it-shared");
        let me = std::process::id();
        // Where /proc tells which processes live, drop what earlier test processes left.
        if Path::new("/proc/self").exists() {
            for e in std::fs::read_dir(&root).into_iter().flatten().flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Ok(pid) = name.parse::<u32>() {
                    if pid != me && !Path::new("/proc").join(&name).exists() {
                        let _ = std::fs::remove_dir_all(e.path());
                    }
                }
            }
        }
        let dir = root.join(me.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

/// A temp dir that lives as long as the process (for data shared between tests).
pub fn process_tempdir() -> tempfile::TempDir {
    tempfile::tempdir_in(process_dir()).unwrap()
}

/// [`synth_icbhi_cache`] built once per process for each set of arguments and shared by every
/// test asking for it: (database, cache). Read-only: a test that changes them copies them first.
pub fn shared_icbhi_cache(
    recordings: usize,
    seed: u64,
    samples: usize,
    mels: usize,
    shard_size: Option<usize>,
) -> &'static (tempfile::TempDir, tempfile::TempDir) {
    type Key = (usize, u64, usize, usize, Option<usize>);
    type Cell = &'static OnceLock<(tempfile::TempDir, tempfile::TempDir)>;
    static CACHES: OnceLock<Mutex<HashMap<Key, Cell>>> = OnceLock::new();
    let key = (recordings, seed, samples, mels, shard_size);
    // The map's lock is held only to find the key's cell: different caches build in parallel.
    let cell: Cell = *CACHES
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(key)
        .or_insert_with(|| Box::leak(Box::new(OnceLock::new())));
    cell.get_or_init(|| {
        let db = process_tempdir();
        synth_icbhi_db_into(db.path(), recordings, seed);
        let cache = process_tempdir();
        build_cache_into(
            auscult_pipeline::build::Dataset::Icbhi,
            db.path(),
            cache.path(),
            samples,
            mels,
            shard_size,
        );
        (db, cache)
    })
}
