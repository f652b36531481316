//! Unit tests of `auscult::infer::classify` (`src/infer/classify.rs`).

use auscult::infer::classify::*;

fn row(file: &str, predicted: &str, p: [f32; 3]) -> Row {
    Row {
        file: file.into(),
        segment: 0,
        start_s: 0.0,
        end_s: 1.0,
        source: "annotation",
        label: None,
        predicted: predicted.into(),
        probabilities: Probabilities(
            ["normal", "crackle", "wheeze"]
                .iter()
                .zip(p)
                .map(|(n, v)| (n.to_string(), v))
                .collect(),
        ),
        decision: None,
    }
}

#[test]
fn a_threshold_moves_the_decision_between_normal_and_abnormal() {
    let p = [0.6f32, 0.3, 0.1];
    assert_eq!(decide(&p, &[0], None), (0, None));
    let (c, d) = decide(&p, &[0], Some(0.35));
    assert_eq!(
        c, 1,
        "abnormal score 0.4 ≥ 0.35: the most probable abnormal class"
    );
    assert!(d.unwrap().abnormal && (d.unwrap().p_abnormal - 0.4).abs() < 1e-6);
    let (c, d) = decide(&[0.2, 0.5, 0.3], &[0], Some(0.9));
    assert_eq!((c, d.unwrap().abnormal), (0, false));
}

#[test]
fn one_row_per_recording_with_its_means() {
    let rows = [
        row("a.wav", "normal", [0.8, 0.1, 0.1]),
        row("b.wav", "wheeze", [0.2, 0.2, 0.6]),
        row("a.wav", "crackle", [0.2, 0.7, 0.1]),
    ];
    let r = recordings(&rows, &["normal"]);
    assert_eq!(r.len(), 2);
    assert_eq!(
        (r[0].file.as_str(), r[0].cycles, r[0].share_abnormal),
        ("a.wav", 2, 0.5)
    );
    assert!((r[0].mean_probabilities.0[1].1 - 0.4).abs() < 1e-6);
    assert_eq!((r[1].cycles, r[1].share_abnormal), (1, 1.0));
    let csv = recordings_csv(&r, &["normal", "crackle", "wheeze"]);
    assert!(
        csv.starts_with("file,cycles,share_abnormal,mean_p_normal,"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 3);
}
