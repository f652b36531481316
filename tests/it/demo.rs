//! `auscult demo` end to end, shrunk (the README's main command runs it at full demo size).

use crate::common;

#[test]
fn demo_builds_trains_ce_and_scl_and_reports() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("demo");
    let o = common::auscult(&[
        "demo",
        "--out",
        out.to_str().unwrap(),
        "--recordings",
        "12",
        "--epochs",
        "1",
        "--scl-epochs",
        "1",
    ]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success(), "{stderr}");
    for step in ["1/5", "2/5", "3/5", "4/5", "5/5", "done in"] {
        assert!(stderr.contains(step), "`{step}` missing from\n{stderr}");
    }
    // The report table has one row per run; the cache is synthetic, so no paper numbers.
    assert!(stdout.contains("| ce | ce | 1 |"), "{stdout}");
    assert!(stdout.contains("| scl | scl | 1 |"), "{stdout}");
    assert!(
        stdout.contains("not compared with the paper") && !stdout.contains("Paper"),
        "{stdout}"
    );
    for run in ["ce", "scl"] {
        for f in [
            "config.toml",
            "transform.json",
            "metrics.jsonl",
            "summary.json",
        ] {
            assert!(out.join("runs").join(run).join(f).is_file(), "{run}/{f}");
        }
    }
}
