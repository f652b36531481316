//! The experiment file through the CLI: a run dir's `config.toml` re-runs to identical metrics,
//! and a method that disagrees with the file (or is missing, or a flag the method does not use)
//! is refused before anything is written.

use crate::common;

use std::path::Path;

use common::{auscult, lines_without_timing, shared_icbhi_cache};

/// A cache of 0.5 s, 16-mel clips.
fn tiny_cache() -> &'static (tempfile::TempDir, tempfile::TempDir) {
    shared_icbhi_cache(16, 11, 8000, 16, None)
}

const SCL_EXPERIMENT: &str = r#"method = "scl"
epochs = 1
batch_size = 16

[input]
standardize = "train-stats"

[input.specaugment]
freq_mask_param = 4
time_mask_param = 4

[scl]
labels = "sex+age_group"

[linear_eval]
epochs = 2
lr = 0.01
"#;

fn train(args: &[&str]) -> std::process::Output {
    let mut all = vec!["train"];
    all.extend_from_slice(args);
    auscult(&all)
}

/// `auscult train --config <config> --data <cache> --out <out>`, which must succeed.
fn train_ok(config: &Path, cache: &str, out: &Path) -> std::process::Output {
    let o = train(&[
        "--config",
        config.to_str().unwrap(),
        "--data",
        cache,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

fn text(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn a_runs_config_toml_reruns_to_identical_metrics() {
    let (_db, cache) = tiny_cache();
    let work = tempfile::tempdir().unwrap();
    let exp = work.path().join("exp.toml");
    std::fs::write(&exp, SCL_EXPERIMENT).unwrap();
    let (a, b) = (work.path().join("a"), work.path().join("b"));
    let c = cache.path().to_str().unwrap();
    let out = train_ok(&exp, c, &a);
    // A log that is not a terminal (here: a pipe) carries no colour codes.
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("scl epoch 1/1") && !log.contains('\x1b'),
        "{log:?}"
    );
    let written = a.join("config.toml");
    let config = text(&written);
    // The complete effective experiment: method, its section with defaults filled in.
    for needle in [
        "method = \"scl\"",
        "[scl]",
        "labels = \"sex+age_group\"",
        "temperature = 0.06",
        "[linear_eval]",
        "[schedule]",
        "t_max = 40",
    ] {
        assert!(config.contains(needle), "`{needle}` missing from\n{config}");
    }
    assert!(
        !config.contains("device") && !config.contains("residency"),
        "{config}"
    );
    train_ok(&written, c, &b);
    let (la, lb) = (
        lines_without_timing(&a.join("metrics.jsonl")),
        lines_without_timing(&b.join("metrics.jsonl")),
    );
    assert_eq!(la.len(), 3, "one scl and two linear-evaluation epochs");
    assert_eq!(la, lb, "the re-run's metrics differ");
    assert_eq!(config, text(&b.join("config.toml")));
    // The measured statistics are outputs, the same in both runs.
    let t: serde_json::Value = serde_json::from_str(&text(&a.join("transform.json"))).unwrap();
    assert!(t["standardize"]["std"].as_f64().unwrap() > 0.0, "{t}");
    assert_eq!(
        text(&a.join("transform.json")),
        text(&b.join("transform.json"))
    );
}

#[test]
fn a_method_that_disagrees_with_the_file_is_refused() {
    // Refused before any cache is opened: the cache named need not exist.
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("no-cache");
    let exp = work.path().join("scl_exp.toml");
    std::fs::write(&exp, SCL_EXPERIMENT).unwrap();
    let out_dir = work.path().join("never");
    let c = cache.to_str().unwrap();
    let o = out_dir.to_str().unwrap();
    let e = exp.to_str().unwrap();

    // Each refusal: the command fails and its message holds every needle.
    let refused = |args: &[&str], needles: &[&str]| {
        let out = train(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} was accepted");
        for n in needles {
            assert!(err.contains(n), "{args:?}: `{n}` missing from {err}");
        }
    };
    refused(
        &["ce", "--config", e, "--data", c, "--out", o],
        &["scl_exp.toml", "`scl`", "train ce"],
    );
    // A method flag the method does not use is an error, not silently dropped.
    refused(
        &[
            "scl", "--config", e, "--data", c, "--out", o, "--alpha", "0.3",
        ],
        &["--alpha", "hybrid"],
    );
    let nameless = work.path().join("nameless.toml");
    std::fs::write(&nameless, "epochs = 1\n").unwrap();
    let n = nameless.to_str().unwrap();
    refused(
        &["--config", n, "--data", c, "--out", o],
        &["name the method"],
    );
    let foreign = work.path().join("foreign.toml");
    std::fs::write(&foreign, "method = \"ce\"\n[hybrid]\nalpha = 0.2\n").unwrap();
    let f = foreign.to_str().unwrap();
    refused(&["--config", f, "--data", c, "--out", o], &["[hybrid]"]);
    assert!(!out_dir.exists(), "a refused experiment writes nothing");
}
