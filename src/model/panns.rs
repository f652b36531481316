//! Initialisation of [`Cnn6`] from the PANNs AudioSet checkpoint (`Cnn6_mAP=0.343.pth`,
//! Kong et al. 2020), as the official respiratory code does.
//!
//! The checkpoint is a PyTorch zip file holding `{'iteration': int, 'model': state_dict}` of
//! PANNs' own Cnn6. Only the four conv weights and their BatchNorm parameters / running
//! statistics (and `num_batches_tracked` when present) are loaded; the STFT / log-mel buffers,
//! `bn0`, `fc1` and `fc_audioset` are ignored. PANNs feeds `[B, 1, time, mel]` while CNN6 here
//! takes `[B, 1, mel, time]`; like the official code, the 5×5 kernels are loaded as they are
//! (no transposition). A flat `.safetensors` with the same names (optionally prefixed `model.`)
//! is accepted too. Legacy (pre-1.6, non-zip) pickles are rejected with a conversion recipe.

use crate::model::cnn6::{set_checked, CheckpointError, Cnn6};
use candle_core::Tensor;
use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// What [`load_panns_cnn6`] did, by PyTorch key (sorted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PannsReport {
    /// Keys copied into the model.
    pub loaded: Vec<String>,
    /// Keys present in the file but not used (front end, `bn0`, heads, …).
    pub ignored: Vec<String>,
}

impl fmt::Display for PannsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "PANNs CNN6 init: loaded {} tensors, ignored {}",
            self.loaded.len(),
            self.ignored.len()
        )?;
        writeln!(f, "  loaded: {}", self.loaded.join(", "))?;
        write!(f, "  ignored: {}", self.ignored.join(", "))
    }
}

/// Errors of [`load_panns_cnn6`]; each names the file (and key) at fault.
#[derive(Debug, thiserror::Error)]
pub enum PannsError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}: legacy (pre-1.6, non-zip) PyTorch pickle, which cannot be read here; convert it once with: \
         python -c \"import torch; torch.save(torch.load('{name}', map_location='cpu'), '{stem}_zip.pth')\""
    )]
    LegacyPickle {
        path: PathBuf,
        name: String,
        stem: String,
    },
    #[error("{path}: neither a PyTorch zip checkpoint nor a safetensors file")]
    UnknownFormat { path: PathBuf },
    #[error("{path}: cannot parse checkpoint: {source}")]
    Parse {
        path: PathBuf,
        source: Box<candle_core::Error>,
    },
    #[error("{path}: no CNN6 tensor `{key}` in the checkpoint (keys present: {present})")]
    MissingKey {
        path: PathBuf,
        key: String,
        present: String,
    },
    #[error(transparent)]
    Tensor(#[from] CheckpointError),
}

/// File formats recognised by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Zip,
    Safetensors,
    LegacyPickle,
}

fn sniff(path: &Path) -> Result<Format, PannsError> {
    let io = |source| PannsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut head = Vec::with_capacity(16);
    std::fs::File::open(path)
        .map_err(io)?
        .take(16)
        .read_to_end(&mut head)
        .map_err(io)?;
    if head.starts_with(b"PK\x03\x04") {
        return Ok(Format::Zip);
    }
    // safetensors: u64 little-endian header length, then the JSON header.
    if head.len() > 8 && head[8] == b'{' {
        return Ok(Format::Safetensors);
    }
    // Pickle protocol 2+ starts with PROTO (0x80); legacy torch.save writes a pickled magic number.
    if head.first() == Some(&0x80) {
        return Ok(Format::LegacyPickle);
    }
    Err(PannsError::UnknownFormat {
        path: path.to_path_buf(),
    })
}

/// All tensors of the checkpoint by name (the `model` entry of a zip `.pth`, or the whole
/// safetensors file with any `model.` prefix removed).
fn read_tensors(path: &Path) -> Result<BTreeMap<String, Tensor>, PannsError> {
    let parse = |e| PannsError::Parse {
        path: path.to_path_buf(),
        source: Box::new(e),
    };
    let dev = candle_core::Device::Cpu;
    let named: Vec<(String, Tensor)> = match sniff(path)? {
        Format::Zip => match candle_core::pickle::read_all_with_key(path, Some("model")) {
            Ok(t) if !t.is_empty() => t,
            // A bare state dict saved without the {'model': ...} wrapper.
            first => match candle_core::pickle::read_all_with_key(path, None) {
                Ok(t) if !t.is_empty() => t,
                _ => {
                    return Err(parse(first.err().unwrap_or_else(|| {
                        candle_core::Error::Msg("no tensors found".into())
                    })))
                }
            },
        },
        Format::Safetensors => candle_core::safetensors::load(path, &dev)
            .map_err(parse)?
            .into_iter()
            .collect(),
        Format::LegacyPickle => {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let stem = path
                .file_stem()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            return Err(PannsError::LegacyPickle {
                path: path.to_path_buf(),
                name,
                stem,
            });
        }
    };
    Ok(named
        .into_iter()
        .map(|(k, v)| (k.strip_prefix("model.").map(str::to_string).unwrap_or(k), v))
        .collect())
}

/// Copies the PANNs CNN6 conv and BatchNorm tensors of `path` into `model` (its variables are
/// set in place, so a `VarMap` holding them sees the new values). The linear head keeps its
/// initialisation. Shapes must match exactly; `num_batches_tracked` is optional.
pub fn load_panns_cnn6(path: &Path, model: &Cnn6) -> Result<PannsReport, PannsError> {
    let mut tensors = read_tensors(path)?;
    let mut report = PannsReport::default();
    for entry in model
        .state_dict()
        .into_iter()
        .filter(|e| e.name.starts_with("conv_block"))
    {
        match tensors.remove(&entry.name) {
            Some(t) => {
                set_checked(&entry.var, &t, path, &entry.name)?;
                report.loaded.push(entry.name);
            }
            None if entry.name.ends_with("num_batches_tracked") => {}
            None => {
                let present = tensors.keys().cloned().collect::<Vec<_>>().join(", ");
                return Err(PannsError::MissingKey {
                    path: path.to_path_buf(),
                    key: entry.name,
                    present,
                });
            }
        }
    }
    report.loaded.sort();
    report.ignored = tensors.into_keys().collect();
    Ok(report)
}
