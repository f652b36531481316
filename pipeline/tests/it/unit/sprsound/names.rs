//! Unit tests of `src/sprsound/names.rs`.

use auscult_pipeline::sprsound::names::*;

#[test]
fn documented_example() {
    let f = parse_stem("40890405_3.3_0_p3_3655").unwrap();
    assert_eq!(f.patient_id, "40890405");
    assert_eq!(f.age_years, 3.3);
    assert_eq!(f.sex, "M");
    assert_eq!(f.location_code, "p3");
    assert_eq!(f.location_name, Some("right posterior"));
    assert_eq!(f.recording_id, "3655");
}

#[test]
fn upstream_readme_example_is_female_left_lateral() {
    let f = parse_stem("65058931_3.4_1_p2_1086").unwrap();
    assert_eq!((f.sex, f.location_name), ("F", Some("left lateral")));
}

#[test]
fn patient_ids_keep_their_digits() {
    assert_eq!(
        parse_stem("00016281_3.7_1_p3_11865").unwrap().patient_id,
        "00016281"
    );
    assert_eq!(
        parse_stem("6624420_0.2_0_p2_4394").unwrap().patient_id,
        "6624420"
    );
    assert_eq!(
        parse_stem("662293914_7.9_0_p4_4899").unwrap().patient_id,
        "662293914"
    );
    assert_eq!(
        parse_stem("41279835_14.1_0_p2_2927").unwrap().age_years,
        14.1
    );
}

#[test]
fn later_locations_keep_the_code_without_a_name() {
    let f = parse_stem("00015105_5.3_0_p7_25271").unwrap();
    assert_eq!(f.location_code, "p7");
    assert_eq!(f.location_name, None);
    assert_eq!(location_name("p1"), Some("left posterior"));
    assert_eq!(location_name("p4"), Some("right lateral"));
}

#[test]
fn bad_fields_name_the_field() {
    let cases = [
        ("40890405_3.3_0_p3", "expected 5 fields"),
        ("40890405_3.3_0_p3_3655_x", "found 6"),
        ("4089x405_3.3_0_p3_3655", "field 1 (patient number)"),
        ("_3.3_0_p3_3655", "field 1 (patient number)"),
        ("40890405_old_0_p3_3655", "field 2 (age)"),
        ("40890405_-3.3_0_p3_3655", "field 2 (age)"),
        ("40890405_NaN_0_p3_3655", "field 2 (age)"),
        ("40890405_3.3_2_p3_3655", "field 3 (gender)"),
        ("40890405_3.3_M_p3_3655", "field 3 (gender)"),
        ("40890405_3.3_0_q3_3655", "field 4 (location)"),
        ("40890405_3.3_0_p0_3655", "field 4 (location)"),
        ("40890405_3.3_0_p_3655", "field 4 (location)"),
        ("40890405_3.3_0_p3_36a5", "field 5 (recording number)"),
    ];
    for (stem, needle) in cases {
        let msg = parse_stem(stem).unwrap_err().to_string();
        assert!(msg.contains(needle), "{stem}: {msg}");
        assert!(msg.contains(stem), "{msg}");
    }
}
