//! Safetensors files written the one way the project writes any file: serialised in memory,
//! then [`auscult_cache::write_atomic`] (a temporary name, fsync, rename, directory fsync), so a
//! crash never leaves a partial checkpoint.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use candle_core::Tensor;

/// Writes `tensors` (host or device: candle's `View` reads each one) to `path` as safetensors,
/// with `metadata` in its header.
pub fn write_safetensors(
    path: &Path,
    tensors: impl IntoIterator<Item = (String, Tensor)>,
    metadata: Option<HashMap<String, String>>,
) -> Result<()> {
    let bytes = safetensors::serialize(tensors, metadata)
        .with_context(|| format!("serialising {}", path.display()))?;
    auscult_cache::write_atomic(path, &bytes).with_context(|| format!("writing {}", path.display()))
}
