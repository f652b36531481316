//! Unit tests of `auscult::train::experiment` (`src/train/experiment/mod.rs`).

use auscult::data::transforms::{MinMax, SpecAugmentApply};
use auscult::train::experiment::sections::*;
use auscult::train::experiment::*;
use std::path::Path;

#[test]
fn defaults_are_the_papers() {
    let e = Experiment::of(MethodKind::Scl);
    assert_eq!((e.epochs, e.batch_size, e.schedule.t_max), (400, 128, 40));
    assert_eq!(
        (e.lr, e.weight_decay, e.schedule.eta_min),
        (1e-3, 1e-4, 1e-6)
    );
    let c = e.contrastive().unwrap();
    assert_eq!((c.temperature, c.projection_dim), (0.06, 128));
    assert_eq!(c.labels, Some("class"));
    assert_eq!(HybridConfig::default().alpha, 0.5);
    assert_eq!(
        e.linear_eval(),
        LinearEvalConfig {
            epochs: 50,
            lr: 0.1,
            weight_decay: 1e-4
        }
    );
    assert_eq!(MsclConfig::default().heads, DEFAULT_MSCL_HEADS);
}

#[test]
fn toml_round_trip_and_overrides() {
    let mut e = Experiment::of(MethodKind::Scl);
    e.set("lr=1e-4").unwrap();
    e.set("input.minmax=per-batch").unwrap();
    e.set("input.specaugment.apply=off").unwrap();
    e.set("linear_eval.epochs=7").unwrap();
    e.set("data.eval_split=inter_test").unwrap();
    e.set("scl.labels=sex+age_group").unwrap();
    e.set("matmul_precision=tf32").unwrap();
    assert_eq!(e.matmul_precision, MatmulPrecision::Tf32);
    assert_eq!(e.lr, 1e-4);
    assert_eq!(e.input.minmax, MinMax::PerBatch);
    assert_eq!(e.input.specaugment.apply, SpecAugmentApply::Off);
    assert_eq!(e.linear_eval().epochs, 7);
    assert_eq!(e.data.eval_split.as_deref(), Some("inter_test"));
    assert_eq!(e.contrastive().unwrap().labels, Some("sex+age_group"));
    let back = Experiment::parse(&e.to_toml(), Path::new("x")).unwrap();
    assert_eq!(back, e);
    assert!(e.set("no_such_field=1").is_err());
    assert!(e.set("epochs=many").is_err());
}

#[test]
fn the_written_experiment_names_its_method_and_section() {
    let text = Experiment::of(MethodKind::Hybrid).to_toml();
    assert!(text.contains("method = \"hybrid\""), "{text}");
    assert!(
        text.contains("[hybrid]") && text.contains("alpha = 0.5"),
        "{text}"
    );
    assert!(
        !text.contains("[scl]") && !text.contains("[linear_eval]"),
        "{text}"
    );
    let text = Experiment::of(MethodKind::Mscl).to_toml();
    assert!(
        text.contains("[mscl]") && text.contains("[linear_eval]"),
        "{text}"
    );
}

#[test]
fn method_mismatch_and_foreign_sections_are_errors() {
    let mut e = Experiment::parse("method = \"scl\"\n", Path::new("a.toml")).unwrap();
    let err = e.require_method(MethodKind::Ce, "a.toml").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("a.toml") && msg.contains("`scl`") && msg.contains("train ce"),
        "{msg}"
    );
    e.require_method(MethodKind::Scl, "a.toml").unwrap();
    e.validate().unwrap();

    let e =
        Experiment::parse("method = \"ce\"\n[scl]\nlabels = \"sex\"\n", Path::new("b")).unwrap();
    let msg = e.validate().unwrap_err().to_string();
    assert!(msg.contains("[scl]") && msg.contains("`ce`"), "{msg}");

    let e = Experiment::parse(
        "method = \"hybrid\"\n[linear_eval]\nepochs = 3\n",
        Path::new("c"),
    )
    .unwrap();
    assert!(e
        .validate()
        .unwrap_err()
        .to_string()
        .contains("[linear_eval]"));

    let e = Experiment::parse("epochs = 3\n", Path::new("d")).unwrap();
    assert!(e.validate().unwrap_err().to_string().contains("no method"));

    let mut e = Experiment::parse("epochs = 3\n", Path::new("d")).unwrap();
    e.require_method(MethodKind::Mscl, "d").unwrap();
    assert_eq!(e.contrastive().unwrap().heads, Some(DEFAULT_MSCL_HEADS));
    e.validate().unwrap();

    assert!(Experiment::parse("method = \"cee\"\n", Path::new("e")).is_err());
    assert!(Experiment::parse("lr = 1e-3\nunknown = 1\n", Path::new("e")).is_err());
}

#[test]
fn signatures_tell_the_papers_rows_apart() {
    let mut a = Experiment::of(MethodKind::Scl);
    a.set("scl.labels=age_group+sex").unwrap();
    a.pretrained = Some("w.pth".into());
    let s = a.signature();
    assert_eq!((s.method.as_str(), s.init.as_str()), ("scl", "audioset"));
    assert_eq!(s.labels.as_deref(), Some("age_group+sex"));
    let mut b = Experiment::of(MethodKind::Scl);
    b.set("scl.labels=sex + age_group").unwrap();
    b.pretrained = Some("other.pth".into());
    assert_eq!(a.signature(), b.signature());
    assert_ne!(a.signature(), Experiment::of(MethodKind::Scl).signature());
    assert_eq!(Experiment::of(MethodKind::Ce).signature().labels, None);
    assert_eq!(
        canonical_labels("class:0.25, sex+age_group:0.75"),
        "class:0.25,age_group+sex:0.75"
    );
}
