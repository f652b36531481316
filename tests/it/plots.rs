//! PNG plots of real (tiny) runs and the Markdown report that embeds them.

use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use auscult::jobs::train_named;
use auscult::report::plots::{
    curves_size, embedding_png, embedding_size, write_run_plots, EmbeddingPanel, CONFUSION_PNG,
    CONFUSION_SIZE, CURVES_PNG, EMBEDDING_PNG, PLOTS_DIR,
};
use auscult::train::experiment::{Experiment, MethodKind};
use auscult::train::runtime::Runtime;
use common::{auscult, shared_icbhi_cache, synth_icbhi_cache};

/// A few cheap epochs of `method` (plus `linear` linear-evaluation epochs for contrastive ones),
/// without SpecAugment.
fn tiny(method: MethodKind, epochs: usize, linear: usize, extra: &str) -> Experiment {
    common::tiny(method, epochs, linear, extra, "apply = \"off\"")
}

/// Decodes an 8-bit RGB PNG: (width, height, pixels).
fn decode(path: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap_or_else(|e| panic!("{}: not a PNG: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(
        (info.color_type, info.bit_depth),
        (png::ColorType::Rgb, png::BitDepth::Eight),
        "{}",
        path.display()
    );
    let px = buf[..info.buffer_size()]
        .chunks_exact(3)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    (info.width, info.height, px)
}

/// Asserts that `path` is a PNG of `size` pixels that is more than a blank canvas: many
/// colours (lines, shades, anti-aliased text), none covering nearly all of it.
fn assert_plot(path: &Path, size: (u32, u32)) {
    let (w, h, px) = decode(path);
    assert_eq!((w, h), size, "{}", path.display());
    let mut counts: HashMap<[u8; 3], usize> = HashMap::new();
    for p in &px {
        *counts.entry(*p).or_default() += 1;
    }
    let top = counts.values().copied().max().unwrap_or(0) as f64 / px.len() as f64;
    assert!(
        counts.len() > 150,
        "{}: only {} colours",
        path.display(),
        counts.len()
    );
    assert!(
        top < 0.95,
        "{}: one colour covers {:.1} % of the image",
        path.display(),
        100.0 * top
    );
}

fn plots(dir: &Path) -> [PathBuf; 2] {
    [CURVES_PNG, CONFUSION_PNG].map(|f| dir.join(PLOTS_DIR).join(f))
}

#[test]
fn a_ce_run_and_a_contrastive_run_get_their_plots() {
    let (_db, cache) = shared_icbhi_cache(16, 5, 8000, 16, None);
    let runs = tempfile::tempdir().unwrap();
    let rt = Runtime::default();

    // CE with a validation split: one stage, best-by-eval and best-by-val epochs.
    let ce = runs.path().join("ce");
    let exp = tiny(MethodKind::Ce, 2, 0, "[data]\nval_fraction = 0.25");
    train_named(&exp, &rt, Some("ce"), cache.path(), &ce, false).unwrap();
    let [curves, confusion] = plots(&ce);
    assert_plot(&curves, curves_size(1));
    assert_plot(&confusion, CONFUSION_SIZE);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ce.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        summary["class_names"],
        serde_json::json!(["normal", "crackle", "wheeze", "both"])
    );

    // SCL on metadata labels: a pretraining row and a linear-evaluation row, and the frozen
    // encoder's test embeddings by class, sex and age group.
    let scl = runs.path().join("scl");
    train_named(
        &tiny(MethodKind::Scl, 1, 2, "[scl]\nlabels = \"sex+age_group\""),
        &rt,
        None,
        cache.path(),
        &scl,
        false,
    )
    .unwrap();
    let [curves, confusion] = plots(&scl);
    assert_plot(&curves, curves_size(2));
    assert_plot(&confusion, CONFUSION_SIZE);
    let embedding = scl.join(PLOTS_DIR).join(EMBEDDING_PNG);
    assert_plot(&embedding, embedding_size(3));
    let (report, _) = {
        let o = auscult(&["report", runs.path().to_str().unwrap()]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (
            std::fs::read_to_string(runs.path().join("report.md")).unwrap(),
            o,
        )
    };
    assert!(
        report.contains("![embedding](scl/plots/embedding.png)"),
        "{report}"
    );

    // Redrawing from the run dir alone gives the same files, byte for byte.
    let before = std::fs::read(&curves).unwrap();
    std::fs::remove_dir_all(scl.join(PLOTS_DIR)).unwrap();
    assert_eq!(write_run_plots(&scl).unwrap(), plots(&scl).to_vec());
    assert_eq!(std::fs::read(&curves).unwrap(), before);
    // No temporary file is left beside them.
    let names: Vec<String> = std::fs::read_dir(scl.join(PLOTS_DIR))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    // A plot that cannot be written does not fail the finished run: `plots` is a file here.
    let blocked = runs.path().join("blocked");
    std::fs::create_dir_all(&blocked).unwrap();
    std::fs::write(blocked.join(PLOTS_DIR), "not a folder").unwrap();
    let s = train_named(
        &tiny(MethodKind::Ce, 1, 0, ""),
        &rt,
        None,
        cache.path(),
        &blocked,
        false,
    );
    assert!(
        s.is_ok() && blocked.join("summary.json").is_file(),
        "{:?}",
        s.err()
    );
    assert!(write_run_plots(&blocked).is_err());

    // A broken metrics.jsonl is an error naming it and its line, not a panic.
    let log = scl.join("metrics.jsonl");
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str("{\"stage\": \"linear_eval\", \"epoch\": 3, \"train_lo\n");
    std::fs::write(&log, &text).unwrap();
    let err = format!("{:#}", write_run_plots(&scl).unwrap_err());
    let line = text.lines().count();
    assert!(
        err.contains(&log.display().to_string()) && err.contains(&format!("line {line}")),
        "{err}"
    );
}

/// `](target)` link targets of a Markdown text.
fn link_targets(md: &str) -> Vec<String> {
    md.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(|t| t.trim_matches(['<', '>']).to_string())
        .collect()
}

#[test]
fn multi_seed_runs_get_mean_std_plots_and_the_report_embeds_every_run() {
    let (_db, cache) = synth_icbhi_cache(16, 6, 8000, 16, None);
    let runs = tempfile::tempdir().unwrap();
    let rt = Runtime::default();
    let one = runs.path().join("a_one");
    train_named(
        &tiny(MethodKind::Ce, 1, 0, ""),
        &rt,
        None,
        cache.path(),
        &one,
        false,
    )
    .unwrap();
    let two = runs.path().join("b_two");
    train_named(
        &tiny(MethodKind::Ce, 2, 0, "runs = 2"),
        &rt,
        Some("ce_two_seeds"),
        cache.path(),
        &two,
        false,
    )
    .unwrap();
    let [curves, confusion] = plots(&two);
    assert_plot(&curves, curves_size(1));
    assert_plot(&confusion, CONFUSION_SIZE);
    for seed in ["seed_0", "seed_1"] {
        for p in plots(&two.join(seed)) {
            assert!(p.is_file(), "{}", p.display());
        }
    }

    // The report draws what is missing, and links every plot relative to itself.
    std::fs::remove_dir_all(two.join("seed_1").join(PLOTS_DIR)).unwrap();
    std::fs::remove_dir_all(one.join(PLOTS_DIR)).unwrap();
    let o = auscult(&["report", runs.path().to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout.contains("| ce_two_seeds |"),
        "the table on stdout:\n{stdout}"
    );
    let report = runs.path().join("report.md");
    let md = std::fs::read_to_string(&report).unwrap();
    assert!(
        md.contains(stdout.trim_end()),
        "the printed table is in report.md:\n{md}"
    );
    for want in [
        "![curves](a_one/plots/curves.png)",
        "![confusion](a_one/plots/confusion.png)",
        "![curves](b_two/plots/curves.png)",
        "![confusion](b_two/plots/confusion.png)",
        "(b_two/seed_1/plots/curves.png)",
        "(b_two/seed_1/plots/confusion.png)",
    ] {
        assert!(md.contains(want), "`{want}` missing from\n{md}");
    }
    let targets = link_targets(&md);
    assert_eq!(targets.len(), 8, "{targets:?}");
    for t in &targets {
        let p = runs.path().join(t);
        assert!(
            p.is_file(),
            "{t} does not resolve from {}",
            report.display()
        );
        let size = if t.ends_with(CURVES_PNG) {
            curves_size(1)
        } else {
            CONFUSION_SIZE
        };
        assert_plot(&p, size);
    }

    // --out elsewhere: links climb out of the report's folder.
    let elsewhere = runs.path().join("notes").join("r.md");
    let o = auscult(&[
        "report",
        one.to_str().unwrap(),
        "--out",
        elsewhere.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(&elsewhere).unwrap();
    assert!(md.contains("![curves](../a_one/plots/curves.png)"), "{md}");
    for t in link_targets(&md) {
        assert!(elsewhere.parent().unwrap().join(&t).is_file(), "{t}");
    }
}

#[test]
fn embedding_png_draws_one_scatter_per_label_set() {
    // Three clusters in 8-D along different axes; two label sets (cluster, parity of the row).
    let dim = 8;
    let mut emb = Vec::new();
    let mut cluster = Vec::new();
    let mut parity = Vec::new();
    for i in 0..300usize {
        let c = i % 3;
        for k in 0..dim {
            let centre = if k == c { 5.0 } else { 0.0 };
            let jitter = ((i * 7 + k * 13) % 11) as f32 / 11.0 - 0.5;
            emb.push(centre + jitter);
        }
        cluster.push(["normal", "crackle", "wheeze"][c].to_string());
        parity.push(if i % 2 == 0 { "even" } else { "odd" }.to_string());
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("emb").join("embedding.png");
    let panels = [
        EmbeddingPanel {
            title: "class".into(),
            labels: cluster,
        },
        EmbeddingPanel {
            title: "parity".into(),
            labels: parity,
        },
    ];
    embedding_png(&path, &emb, dim, &panels).unwrap();
    assert_plot(&path, embedding_size(2));
    // The clusters' colours are all drawn: the palette's first three colours appear (blended
    // over white by the points' transparency, so look for pixels near them).
    let (_, _, px) = decode(&path);
    for (r, g, b) in [(31, 119, 180), (255, 127, 14), (44, 160, 44)] {
        let near = px.iter().filter(|p| {
            let d = |a: u8, b: u8| (a as i32 - b as i32).abs();
            d(p[0], r) + d(p[1], g) + d(p[2], b) < 90
        });
        assert!(near.count() > 50, "colour {r},{g},{b} missing");
    }

    // One label per row is required, and the error names the file.
    let bad = [EmbeddingPanel {
        title: "short".into(),
        labels: vec!["x".into(); 10],
    }];
    let err = embedding_png(&path, &emb, dim, &bad)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("embedding.png") && err.contains("10 labels for 300"),
        "{err}"
    );
    assert!(embedding_png(&path, &emb, 7, &panels).is_err());
}
