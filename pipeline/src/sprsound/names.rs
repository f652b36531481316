//! File-stem fields: `patient_age_gender_location_recording`, e.g. `40890405_3.3_0_p3_3655`.

/// The five fields of a SPRSound file stem.
#[derive(Debug, Clone, PartialEq)]
pub struct StemFields {
    /// Patient number as written (7, 8 or 9 digits, possibly zero-padded), so kept as a string.
    pub patient_id: String,
    /// Age in years at the time of this recording (the same patient appears with several ages).
    pub age_years: f64,
    /// `M` (gender code 0) or `F` (gender code 1).
    pub sex: &'static str,
    /// Location code as written, e.g. `p3`.
    pub location_code: String,
    /// Documented name of the location (p1–p4); None for later codes such as p5–p8.
    pub location_name: Option<&'static str>,
    /// Recording number as written.
    pub recording_id: String,
}

/// Why a file stem does not follow the naming convention.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StemError {
    #[error("file name `{stem}`: expected 5 fields patient_age_gender_location_recording separated by `_`, found {found}")]
    FieldCount { stem: String, found: usize },
    #[error("file name `{stem}`: field {position} ({field}) is `{value}`, expected {expected}")]
    Field {
        stem: String,
        position: usize,
        field: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// Names of the documented locations p1..p4.
const LOCATION_NAMES: [&str; 4] = [
    "left posterior",
    "left lateral",
    "right posterior",
    "right lateral",
];

/// Human name of a location code (`p1` left posterior, `p2` left lateral, `p3` right posterior,
/// `p4` right lateral); None for any other code.
pub fn location_name(code: &str) -> Option<&'static str> {
    match code {
        "p1" => Some(LOCATION_NAMES[0]),
        "p2" => Some(LOCATION_NAMES[1]),
        "p3" => Some(LOCATION_NAMES[2]),
        "p4" => Some(LOCATION_NAMES[3]),
        _ => None,
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Splits and checks a file stem (no extension). Patient and recording numbers must be ASCII
/// digits, age a finite non-negative decimal, gender `0`/`1`, location `p` followed by a positive
/// number.
pub fn parse_stem(stem: &str) -> Result<StemFields, StemError> {
    let fields: Vec<&str> = stem.split('_').collect();
    let [patient, age, gender, location, recording] = fields[..] else {
        return Err(StemError::FieldCount {
            stem: stem.to_string(),
            found: fields.len(),
        });
    };
    let bad = |position: usize, field: &'static str, value: &str, expected: &'static str| {
        StemError::Field {
            stem: stem.to_string(),
            position,
            field,
            value: value.to_string(),
            expected,
        }
    };
    if !is_digits(patient) {
        return Err(bad(1, "patient number", patient, "digits"));
    }
    let age_ok = age.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let age_years = match age.parse::<f64>() {
        Ok(a) if age_ok && a.is_finite() => a,
        _ => return Err(bad(2, "age", age, "a decimal number of years such as 3.3")),
    };
    let sex = match gender {
        "0" => "M",
        "1" => "F",
        _ => return Err(bad(3, "gender", gender, "0 (male) or 1 (female)")),
    };
    let location_ok = location
        .strip_prefix('p')
        .is_some_and(|n| is_digits(n) && n.parse::<u32>().is_ok_and(|n| n > 0));
    if !location_ok {
        return Err(bad(4, "location", location, "p1, p2, ... (p<number>)"));
    }
    if !is_digits(recording) {
        return Err(bad(5, "recording number", recording, "digits"));
    }
    Ok(StemFields {
        patient_id: patient.to_string(),
        age_years,
        sex,
        location_code: location.to_string(),
        location_name: location_name(location),
        recording_id: recording.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
