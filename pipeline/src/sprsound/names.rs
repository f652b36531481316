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
