//! `auscult predict`'s recordings and output: the audio files of an input, each one's
//! annotation, and one row per classified segment, as CSV or JSON (the segments themselves are
//! the pipeline's, which the library does not import: `auscult predict` joins the two).

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

/// One output row.
#[derive(Debug, Serialize)]
pub struct Row {
    pub file: String,
    pub segment: usize,
    pub start_s: f64,
    pub end_s: f64,
    /// `annotation` or `window`.
    pub source: &'static str,
    /// The annotation's label name, when it has one.
    pub label: Option<String>,
    pub predicted: String,
    /// Class name → probability, in the classes' order.
    pub probabilities: Probabilities,
    /// The normal-vs-abnormal decision at a chosen threshold (`predict --threshold`).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
}

/// A cycle called abnormal when its abnormal score (1 − the normal classes' probability) is ≥
/// the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Decision {
    pub p_abnormal: f32,
    pub threshold: f64,
    pub abnormal: bool,
}

/// 1 − the probability of the `normal` classes.
pub fn abnormal_score(p: &[f32], normal: &[usize]) -> f32 {
    1.0 - normal.iter().map(|&c| p[c]).sum::<f32>()
}

/// The predicted class of probabilities `p`: the argmax, or with a threshold the most probable
/// abnormal class when the abnormal score reaches it and the most probable normal class when
/// not.
pub fn decide(p: &[f32], normal: &[usize], threshold: Option<f64>) -> (usize, Option<Decision>) {
    let Some(t) = threshold else {
        return (argmax(p), None);
    };
    let score = abnormal_score(p, normal);
    let abnormal = score as f64 >= t;
    let best = (0..p.len())
        .filter(|c| normal.contains(c) != abnormal)
        .fold(None, |b: Option<usize>, c| match b {
            Some(b) if p[b] >= p[c] => Some(b),
            _ => Some(c),
        })
        .unwrap_or_else(|| argmax(p));
    (
        best,
        Some(Decision {
            p_abnormal: score,
            threshold: t,
            abnormal,
        }),
    )
}

/// One recording's summary of its rows (`predict`'s per-recording output).
#[derive(Debug, Serialize)]
pub struct RecordingRow {
    pub file: String,
    pub cycles: usize,
    /// Share of its cycles predicted as an abnormal class.
    pub share_abnormal: f64,
    /// Mean probability of each class over its cycles.
    pub mean_probabilities: Probabilities,
}

/// One [`RecordingRow`] per file of `rows`, in order of first appearance; `normal`: the normal
/// class names.
pub fn recordings(rows: &[Row], normal: &[&str]) -> Vec<RecordingRow> {
    let mut out: Vec<RecordingRow> = Vec::new();
    let mut sums: Vec<Vec<f64>> = Vec::new();
    let mut abnormal: Vec<usize> = Vec::new();
    for r in rows {
        let k = match out.iter().position(|o| o.file == r.file) {
            Some(k) => k,
            None => {
                out.push(RecordingRow {
                    file: r.file.clone(),
                    cycles: 0,
                    share_abnormal: 0.0,
                    mean_probabilities: Probabilities(
                        r.probabilities
                            .0
                            .iter()
                            .map(|(n, _)| (n.clone(), 0.0))
                            .collect(),
                    ),
                });
                sums.push(vec![0.0; r.probabilities.0.len()]);
                abnormal.push(0);
                out.len() - 1
            }
        };
        out[k].cycles += 1;
        abnormal[k] += !normal.contains(&r.predicted.as_str()) as usize;
        for (s, (_, p)) in sums[k].iter_mut().zip(&r.probabilities.0) {
            *s += *p as f64;
        }
    }
    for ((o, s), a) in out.iter_mut().zip(&sums).zip(&abnormal) {
        o.share_abnormal = *a as f64 / o.cycles as f64;
        for ((_, m), s) in o.mean_probabilities.0.iter_mut().zip(s) {
            *m = (*s / o.cycles as f64) as f32;
        }
    }
    out
}

/// [`RecordingRow`]s as CSV: `file, cycles, share_abnormal, mean_p_<class>…`.
pub fn recordings_csv(rows: &[RecordingRow], names: &[&str]) -> String {
    let quote = crate::csv::field;
    let mut out = header("file,cycles,share_abnormal", "mean_p_", names);
    out.push('\n');
    for r in rows {
        let p = probabilities_csv(&r.mean_probabilities);
        let (file, cycles, share) = (quote(&r.file), r.cycles, r.share_abnormal);
        out.push_str(&format!("{file},{cycles},{share}{p}\n"));
    }
    out
}

/// A CSV header: the `fixed` columns, then one `<prefix><class>` column per name.
fn header(fixed: &str, prefix: &str, names: &[&str]) -> String {
    let mut out = fixed.to_string();
    for n in names {
        out.push_str(&format!(",{prefix}{}", crate::csv::field(n)));
    }
    out
}

/// `,p` for each class probability.
fn probabilities_csv(probabilities: &Probabilities) -> String {
    probabilities
        .0
        .iter()
        .map(|(_, p)| format!(",{p}"))
        .collect()
}

#[derive(Debug)]
pub struct Probabilities(pub Vec<(String, f32)>);

impl Serialize for Probabilities {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

pub const AUDIO_EXTENSIONS: [&str; 4] = ["wav", "flac", "ogg", "mp3"];

pub fn audio_files(input: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if input.is_file() {
        return Ok(vec![input.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(input)
        .with_context(|| format!("reading {}", input.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|x| AUDIO_EXTENSIONS.iter().any(|a| x.eq_ignore_ascii_case(a)))
        })
        .collect();
    files.sort();
    anyhow::ensure!(
        !files.is_empty(),
        "{}: no audio files ({})",
        input.display(),
        AUDIO_EXTENSIONS.join(", ")
    );
    Ok(files)
}

/// The annotation of `audio` (None: none found).
pub fn annotation_of(audio: &Path, given: Option<&Path>, single: bool) -> Option<PathBuf> {
    let stem = audio.file_stem()?;
    let dir = match given {
        Some(p) if p.is_file() && single => return Some(p.to_path_buf()),
        Some(p) => p.to_path_buf(),
        None => audio.parent()?.to_path_buf(),
    };
    // By name, not `with_extension`: SPRSound stems hold dots (`44165864_7.5_1_p4_844`).
    ["txt", "json"]
        .iter()
        .map(|e| {
            let mut name = stem.to_os_string();
            name.push(format!(".{e}"));
            dir.join(name)
        })
        .find(|p| p.is_file())
}

pub fn argmax(p: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in p.iter().enumerate() {
        if *v > p[best] {
            best = i;
        }
    }
    best
}

pub fn csv(rows: &[Row], names: &[&str]) -> String {
    // Every row's probabilities follow `names`.
    let quote = crate::csv::field;
    let mut out = header(
        "file,segment,start_s,end_s,source,label,predicted",
        "p_",
        names,
    );
    let decided = rows.iter().any(|r| r.decision.is_some());
    if decided {
        out.push_str(",p_abnormal,threshold,abnormal");
    }
    out.push('\n');
    for r in rows {
        let decision = match &r.decision {
            Some(d) => format!(",{},{},{}", d.p_abnormal, d.threshold, d.abnormal),
            None if decided => ",,,".to_string(),
            None => String::new(),
        };
        out.push_str(&format!(
            "{},{},{},{},{},{},{}{}{decision}\n",
            quote(&r.file),
            r.segment,
            r.start_s,
            r.end_s,
            r.source,
            quote(r.label.as_deref().unwrap_or("")),
            quote(&r.predicted),
            probabilities_csv(&r.probabilities)
        ));
    }
    out
}
