//! `auscult predict`'s recordings and output: the audio files of an input, each one's
//! annotation, their segments classified by a run, one row per segment, as CSV or JSON.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use auscult_pipeline::audio;
use auscult_pipeline::features::{CycleFeaturizer, FeatureParams};
use auscult_pipeline::segments::{featurize, segments, Segment, Segmentation};
use serde::Serialize;

use crate::eval::metrics::ConfusionMatrix;
use crate::infer::embed::run_checkpoint;
use crate::infer::predict::Predictor;

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

pub fn row(
    file: &Path,
    s: &Segment,
    how: &Segmentation,
    names: &[&str],
    best: usize,
    p: &[f32],
) -> Row {
    Row {
        file: file.display().to_string(),
        segment: s.index,
        start_s: s.start_s,
        end_s: s.end_s,
        source: match how {
            Segmentation::Annotation(_) => "annotation",
            Segmentation::Windows { .. } => "window",
        },
        label: s.label.as_ref().map(|(_, n)| n.clone()),
        predicted: names[best].to_string(),
        probabilities: Probabilities(
            names
                .iter()
                .zip(p)
                .map(|(n, v)| (n.to_string(), *v))
                .collect(),
        ),
    }
}

pub fn csv(rows: &[Row], names: &[&str]) -> String {
    // Every row's probabilities follow `names`.
    let quote = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
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

/// The run dir and checkpoint file of `auscult predict --run / --checkpoint`: a run dir with an
/// optional checkpoint name, or a checkpoint file inside a run dir.
pub fn resolve_checkpoint(
    run: Option<&Path>,
    checkpoint: Option<&str>,
) -> Result<(PathBuf, PathBuf)> {
    Ok(match (run, checkpoint) {
        (Some(run), ck) => (run.to_path_buf(), run_checkpoint(run, ck)?),
        (None, Some(file)) => {
            let file = PathBuf::from(file);
            let run = file
                .parent()
                .and_then(Path::parent)
                .filter(|r| r.join("config.toml").is_file())
                .with_context(|| {
                    format!(
                        "{}: not inside a run dir (<run>/checkpoints/<name>.safetensors); pass \
                         --run",
                        file.display()
                    )
                })?
                .to_path_buf();
            (run, file)
        }
        (None, None) => bail!("give --run or --checkpoint"),
    })
}

/// The recordings to classify, and how to cut them into segments.
#[derive(Debug, Clone, Copy)]
pub struct Recordings<'a> {
    /// An audio file, or a folder of them.
    pub input: &'a Path,
    /// The annotation of a single input file, or a folder of them (default: beside the audio).
    pub annotations: Option<&'a Path>,
    /// Windows of this many seconds instead of annotations.
    pub window: Option<f64>,
    /// Hop between windows (default half the window).
    pub hop: Option<f64>,
}

/// Every segment of some recordings, classified.
#[derive(Debug)]
pub struct Classified {
    /// One row per segment, in file and segment order.
    pub rows: Vec<Row>,
    /// The class names, in the classes' order (the probabilities' order).
    pub classes: Vec<String>,
    /// Recordings read.
    pub files: usize,
    /// Segments with a class label in their annotation, counted in `confusion`.
    pub labelled: usize,
    /// Predictions against the annotations' labels.
    pub confusion: ConfusionMatrix,
}

impl Classified {
    /// The rows as CSV (`p_<class>` columns) or pretty JSON.
    pub fn text(&self, json: bool) -> Result<String> {
        let names: Vec<&str> = self.classes.iter().map(String::as_str).collect();
        Ok(if json {
            serde_json::to_string_pretty(&self.rows)? + "\n"
        } else {
            csv(&self.rows, &names)
        })
    }
}

/// Classifies every segment of `r` with `predictor`: features made with the run's own parameters
/// (its features.json), segments from each recording's annotation or fixed windows.
pub fn classify(predictor: &Predictor, r: &Recordings) -> Result<Classified> {
    let spec = &predictor.spec;
    let params: FeatureParams = serde_json::from_value(
        spec.params
            .get("features")
            .cloned()
            .context("features.json has no `params.features`")?,
    )
    .context("features.json: `params.features` are not log-mel parameters")?;
    anyhow::ensure!(
        [params.n_mels, params.n_frames()] == spec.feature_shape,
        "features.json: parameters give {}×{} features, the run was trained on {:?}",
        params.n_mels,
        params.n_frames(),
        spec.feature_shape
    );
    let featurizer = CycleFeaturizer::new(params).context("features.json: log-mel parameters")?;
    let files = audio_files(r.input)?;
    if let Some(p) = &r.annotations {
        anyhow::ensure!(
            p.exists(),
            "{}: no such annotation file or folder",
            p.display()
        );
        anyhow::ensure!(
            p.is_dir() || files.len() == 1,
            "--annotations {} is one file but --input holds {} recordings: give a folder",
            p.display(),
            files.len()
        );
    }
    let windows = |w: f64| Segmentation::Windows {
        window_s: w,
        hop_s: r.hop.unwrap_or(w / 2.0),
    };
    let names: Vec<&str> = spec.classes.iter().map(|c| c.name.as_str()).collect();
    let mut rows = Vec::new();
    let normal: Vec<usize> = spec
        .classes
        .iter()
        .filter(|c| c.normal)
        .map(|c| c.id as usize)
        .collect();
    let mut confusion = ConfusionMatrix::new(spec.classes.len(), &normal)?;
    let mut labelled = 0usize;
    for file in &files {
        let how = match (
            r.window,
            annotation_of(file, r.annotations, files.len() == 1),
        ) {
            (Some(w), _) => windows(w),
            (None, Some(ann)) => Segmentation::Annotation(ann),
            (None, None) => {
                tracing::info!("{}: no annotation, 8 s windows", file.display());
                windows(8.0)
            }
        };
        let info = audio::probe(file)?;
        let (segs, warnings) = segments(file, &info, &how)?;
        for w in warnings {
            tracing::warn!("{w}");
        }
        let feats = featurize(&featurizer, file, &info, &segs)?;
        let probs = predictor.probabilities(&feats)?;
        for (s, p) in segs.iter().zip(probs) {
            let best = argmax(&p);
            if let Some((id, _)) = &s.label {
                if (*id as usize) < spec.classes.len() {
                    confusion.add(&[best], &[*id as usize])?;
                    labelled += 1;
                }
            }
            rows.push(row(file, s, &how, &names, best, &p));
        }
    }
    Ok(Classified {
        rows,
        classes: names.iter().map(|n| n.to_string()).collect(),
        files: files.len(),
        labelled,
        confusion,
    })
}
