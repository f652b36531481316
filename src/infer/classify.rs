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
    let mut out = String::from("file,segment,start_s,end_s,source,label,predicted");
    for n in names {
        out.push_str(&format!(",p_{}", quote(n)));
    }
    out.push('\n');
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{}",
            quote(&r.file),
            r.segment,
            r.start_s,
            r.end_s,
            r.source,
            quote(r.label.as_deref().unwrap_or("")),
            quote(&r.predicted)
        ));
        for (_, p) in &r.probabilities.0 {
            out.push_str(&format!(",{p}"));
        }
        out.push('\n');
    }
    out
}
