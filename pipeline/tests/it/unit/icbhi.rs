//! Unit tests of `src/icbhi.rs`.

use std::path::Path;

use auscult_pipeline::icbhi::*;

#[test]
fn manifest_classes_follow_the_cycle_labels() {
    let classes = icbhi_classes();
    let names: Vec<&str> = classes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ICBHI_CLASSES);
    assert!(classes.iter().zip(0..).all(|(c, i)| c.id == i));
    assert_eq!(
        classes
            .iter()
            .filter(|c| c.normal)
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        [cycle_label(false, false)]
    );
    assert_eq!(ICBHI_CLASSES[cycle_label(true, false) as usize], "crackle");
    assert_eq!(ICBHI_CLASSES[cycle_label(false, true) as usize], "wheeze");
    assert_eq!(ICBHI_CLASSES[cycle_label(true, true) as usize], "both");
}

#[test]
fn names_parse_and_match_split_by_four_fields() {
    let n = parse_recording_name("226_1b1_Pl_sc_LittC2SE").unwrap();
    assert_eq!(n.patient_id, 226);
    assert_eq!(n.device, "LittC2SE");
    let m = parse_recording_name("226_1b1_Pl_sc_Meditron").unwrap();
    assert_eq!(n.split_key(), m.split_key());
    assert!(parse_recording_name("226_1b1_Pl_sc").is_err());
    assert!(parse_recording_name("abc_1b1_Pl_sc_Meditron").is_err());
}

#[test]
fn annotation_lines_and_their_errors() {
    let p = Path::new("x.txt");
    let text =
        "0.036\t0.579\t0\t0\n0.5 1.0 1 1\n\n2.0\t1.0\t0\t0\n1\t2\t0\n1\t2\t2\t0\nabc\t2\t0\t0\n";
    let (ok, bad) = parse_annotation(p, text);
    assert_eq!(ok.len(), 2);
    assert_eq!(ok[0].label(), 0);
    assert_eq!(ok[1].label(), 3);
    assert_eq!(ok[1].line, 2);
    let lines: Vec<usize> = bad.iter().map(|i| i.line.unwrap()).collect();
    assert_eq!(lines, vec![4, 5, 6, 7]);
    assert!(
        bad[0].reason.contains("not before offset"),
        "{}",
        bad[0].reason
    );
    assert!(bad[0].to_string().contains("x.txt:4"), "{}", bad[0]);
}

#[test]
fn labels_follow_the_official_mapping() {
    let mk = |c, w| CycleLine {
        line: 1,
        onset_s: 0.0,
        offset_s: 1.0,
        crackles: c,
        wheezes: w,
    };
    assert_eq!(
        [
            mk(false, false),
            mk(true, false),
            mk(false, true),
            mk(true, true)
        ]
        .map(|c| c.label()),
        [0, 1, 2, 3]
    );
}

#[test]
fn demographics_with_na_and_leading_blank_line() {
    let t = "\n101 3 F NA 19 99\n223 NA NA NA NA NA\n150 70 M 25.3 NA NA\n";
    let d = parse_demographics(Path::new("d.txt"), t).unwrap();
    assert_eq!(d[&101].age, Some(3.0));
    assert_eq!(d[&101].child_height_cm, Some(99.0));
    assert_eq!(d[&223], Demographics::default());
    assert_eq!(d[&150].adult_bmi, Some(25.3));
    let e = parse_demographics(Path::new("d.txt"), "101 3 X NA 1 1\n").unwrap_err();
    assert!(e.to_string().contains("d.txt:1"), "{e}");
}

#[test]
fn diagnosis_both_formats() {
    let a = parse_diagnosis(Path::new("a"), "ID,CLASS\n101,URTI\n102,Healthy\n").unwrap();
    let b = parse_diagnosis(Path::new("b"), "101\tURTI\n102\tHealthy\n").unwrap();
    assert_eq!(a, b);
    assert_eq!(a[&101], "URTI");
}

#[test]
fn split_file_errors_name_the_line() {
    let e = parse_split_file(
        Path::new("s.txt"),
        "101_1b1_Al_sc_Meditron\ttrain\nfoo\tbar\n",
    )
    .unwrap_err();
    assert!(e.to_string().contains("s.txt:2"), "{e}");
}
