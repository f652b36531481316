//! Unit tests of `auscult::report::markdown` (`src/report/markdown.rs`).

use auscult::report::*;

#[test]
fn links_are_relative_to_the_report_folder() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("runs").join("seed_0").join("plots");
    std::fs::create_dir_all(&run).unwrap();
    let png = run.join("curves.png");
    std::fs::write(&png, b"x").unwrap();
    let runs = dir.path().join("runs");
    assert_eq!(relative_link(&png, &runs), "seed_0/plots/curves.png");
    let other = dir.path().join("elsewhere");
    std::fs::create_dir_all(&other).unwrap();
    assert_eq!(
        relative_link(&png, &other),
        "../runs/seed_0/plots/curves.png"
    );
    assert_eq!(relative_link(&runs, &runs), ".");
    let spaced = dir.path().join("my runs");
    std::fs::create_dir_all(&spaced).unwrap();
    assert_eq!(relative_link(&spaced, dir.path()), "<my runs>");
}
