//! Training objectives, as differentiable candle graphs matching the official PyTorch code
//! (scl_icbhi2017: main.py, losses.py):
//!
//! * [`class_weights`]: inverse-frequency CE weights exactly as main.py computes them.
//! * [`cross_entropy`]: `nn.CrossEntropyLoss(weight=w)` (weighted mean `Σ w_y·nll / Σ w_y`).
//! * [`supcon_loss`]: the official `SupConLoss` (temperature 0.06, two views).
//! * [`supcon_ce_loss`]: the official hybrid `SupConCELoss`.
//! * [`multi_head_supcon`]: `Σ λ_i · SupCon_i` over metadata heads with per-row validity.
//!
//! All functions take batch-major tensors and work for any batch size. Labels are integer
//! tensors (`u8`, `u32` or `i64`) of shape `[B]` on the same device as the features.
//!
//! # Anchors without positives (NaN behaviour)
//! The official SupCon divides by the number of positives of each anchor. With two views
//! every anchor's twin view is a positive (same row, so same label, and the identity mask in
//! the label-less case), so the count is ≥ 1 even for a class with a single member in the
//! batch: the official loss never yields NaN there (verified against PyTorch in
//! tests/numerics_parity.rs, case `labels` with two singleton classes). Rows masked out by a
//! validity mask are removed together with their twin, so the property still holds. The
//! implementation nevertheless guards the division: an anchor with no positive would be
//! excluded from the mean instead of producing NaN, and a head with no valid row contributes
//! exactly 0 (PyTorch would give the NaN of a mean over nothing).

use candle_core::{DType, Device, Result, Tensor, D};

/// Temperature of the official SupCon (`--tau 0.06`).
pub const OFFICIAL_TEMPERATURE: f64 = 0.06;
/// Trade-off of the official hybrid loss (`--alpha 0.5`).
pub const OFFICIAL_ALPHA: f64 = 0.5;
/// ICBHI official-split training counts (normal, crackle, wheeze, both) hard-coded in main.py.
pub const ICBHI_TRAIN_COUNTS: [usize; 4] = [2063, 1215, 501, 363];

/// Errors of the host-side loss helpers.
#[derive(Debug, thiserror::Error)]
pub enum LossError {
    /// `class_weights` got no class at all.
    #[error("class_weights: empty count list")]
    NoClasses,
    /// A class has zero examples: its inverse frequency is infinite and PyTorch's formula
    /// turns every weight into NaN.
    #[error("class_weights: class {class} has count 0 (inverse frequency is infinite)")]
    EmptyClass {
        /// Index of the first class with count 0.
        class: usize,
    },
}

/// Inverse-frequency class weights exactly as main.py: `w = c/Σc; w = 1/w; w = w/Σw`, in f32.
///
/// A zero count is an error ([`LossError::EmptyClass`]) rather than PyTorch's all-NaN weights.
pub fn class_weights(counts: &[usize]) -> std::result::Result<Vec<f32>, LossError> {
    if counts.is_empty() {
        return Err(LossError::NoClasses);
    }
    if let Some(class) = counts.iter().position(|&c| c == 0) {
        return Err(LossError::EmptyClass { class });
    }
    let counts: Vec<f32> = counts.iter().map(|&c| c as f32).collect();
    let total: f32 = counts.iter().sum();
    let inverse: Vec<f32> = counts.iter().map(|c| 1.0 / (c / total)).collect();
    let inverse_total: f32 = inverse.iter().sum();
    Ok(inverse.iter().map(|w| w / inverse_total).collect())
}

/// `log_softmax` over the last dimension with the (gradient-neutral) row max detached.
fn log_softmax_last(logits: &Tensor) -> Result<Tensor> {
    let max = logits.max_keepdim(D::Minus1)?.detach();
    let shifted = logits.broadcast_sub(&max)?;
    let log_sum = shifted.exp()?.sum_keepdim(D::Minus1)?.log()?;
    shifted.broadcast_sub(&log_sum)
}

/// `nn.CrossEntropyLoss(weight=weights)` with mean reduction.
///
/// `logits` `[N, C]`, `targets` integer `[N]`, `weights` `[C]` (same dtype as the logits) or
/// `None` for the plain mean. Weighted: `Σ_i w_{y_i}·nll_i / Σ_i w_{y_i}`.
pub fn cross_entropy(
    logits: &Tensor,
    targets: &Tensor,
    weights: Option<&Tensor>,
) -> Result<Tensor> {
    let (n, _c) = logits.dims2()?;
    let targets = targets.flatten_all()?;
    let log_probs = log_softmax_last(logits)?;
    let nll = log_probs
        .gather(&targets.reshape((n, 1))?.contiguous()?, 1)?
        .reshape(n)?
        .neg()?;
    match weights {
        None => nll.mean_all(),
        Some(w) => {
            let w_y = w.index_select(&targets, 0)?;
            (nll * &w_y)?.sum_all()?.broadcast_div(&w_y.sum_all()?)
        }
    }
}

/// `F.normalize(x)` over dim 1: `x / max(‖x‖₂, 1e-12)`.
fn l2_normalize(x: &Tensor) -> Result<Tensor> {
    let norm = x.sqr()?.sum_keepdim(1)?.sqrt()?.maximum(1e-12)?;
    x.broadcast_div(&norm)
}

/// `[2B, 2B]` matrix `m` tiled 2×2 from a `[B, B]` one (`mask.repeat(2, 2)`).
fn tile_2x2(m: &Tensor) -> Result<Tensor> {
    let row = Tensor::cat(&[m, m], 1)?;
    Tensor::cat(&[&row, &row], 0)
}

/// `1 − I` of size `n` (removes self-contrast), as `dtype` on `device`.
fn not_self_mask(n: usize, dtype: DType, device: &Device) -> Result<Tensor> {
    Tensor::eye(n, dtype, device)?.affine(-1.0, 1.0)
}

/// The official `SupConLoss(temperature)(proj1, proj2, labels)`.
///
/// `proj1`, `proj2`: `[B, D]` projections of the two views (normalised here); `labels`: `[B]`
/// class ids, or `None` for the label-less (SimCLR) case where each view's only positive is its
/// twin. Both views are anchors; the denominator runs over all `2B − 1` other views (positives
/// included); the loss is the mean over the `2B` anchors of `−mean_{p∈P(i)} log_prob(i, p)`,
/// with no base-temperature factor.
pub fn supcon_loss(
    proj1: &Tensor,
    proj2: &Tensor,
    labels: Option<&Tensor>,
    temperature: f64,
) -> Result<Tensor> {
    masked_supcon_loss(proj1, proj2, labels, None, temperature)
}

/// [`supcon_loss`] restricted to the rows where `valid` (`[B]`, any dtype, non-zero = valid)
/// holds: an invalid row (e.g. missing metadata label) is excluded as an anchor AND as a
/// contrast member, in both views, which equals the official loss on the sub-batch of valid
/// rows. The mean runs over the valid anchors; no valid row gives 0.
pub fn masked_supcon_loss(
    proj1: &Tensor,
    proj2: &Tensor,
    labels: Option<&Tensor>,
    valid: Option<&Tensor>,
    temperature: f64,
) -> Result<Tensor> {
    let (batch, _dim) = proj1.dims2()?;
    let n = 2 * batch;
    let dtype = proj1.dtype();
    let device = proj1.device();

    let features = Tensor::cat(&[l2_normalize(proj1)?, l2_normalize(proj2)?], 0)?;
    let similarity = (features.matmul(&features.t()?)? / temperature)?;
    let row_max = similarity.max_keepdim(1)?.detach();
    let logits = similarity.broadcast_sub(&row_max)?;

    let same_class = match labels {
        None => Tensor::eye(batch, dtype, device)?,
        Some(labels) => {
            let labels = labels.flatten_all()?;
            labels
                .reshape((batch, 1))?
                .broadcast_eq(&labels.reshape((1, batch))?)?
                .to_dtype(dtype)?
        }
    };
    let mut contrast = not_self_mask(n, dtype, device)?;
    let mut positives = (tile_2x2(&same_class)? * &contrast)?;
    let mut anchor_valid: Option<Tensor> = None;
    if let Some(valid) = valid {
        let valid = valid.flatten_all()?.ne(0u8)?.to_dtype(dtype)?;
        let valid = Tensor::cat(&[&valid, &valid], 0)?;
        let column = valid.reshape((1, n))?;
        let row = valid.reshape((n, 1))?;
        contrast = contrast.broadcast_mul(&column)?;
        positives = positives.broadcast_mul(&column)?.broadcast_mul(&row)?;
        anchor_valid = Some(row);
    }

    let positive_count = positives.sum_keepdim(1)?;
    // Anchors that count: valid rows with at least one positive (all of them, with two views).
    let has_positive = positive_count.gt(0.0)?.to_dtype(dtype)?;
    let anchors = match anchor_valid {
        Some(row) => (has_positive * row)?,
        None => has_positive,
    };

    let exp_sum = (logits.exp()? * &contrast)?.sum_keepdim(1)?;
    // + (1 − anchor) keeps the log finite on excluded rows; adds exactly 0 on counted anchors.
    let log_denominator = (exp_sum + anchors.affine(-1.0, 1.0)?)?.log()?;
    let log_prob = logits.broadcast_sub(&log_denominator)?;
    let mean_log_prob_pos = (positives * log_prob)?
        .sum_keepdim(1)?
        .div(&positive_count.maximum(1.0)?)?;
    let anchor_count = anchors.sum_all()?.maximum(1.0)?;
    (mean_log_prob_pos * &anchors)?
        .sum_all()?
        .neg()?
        .div(&anchor_count)
}

/// Components of the hybrid objective (scalar tensors; `total` is the one to differentiate).
#[derive(Debug, Clone)]
pub struct HybridLoss {
    /// `α·supcon + (1 − α)·ce`.
    pub total: Tensor,
    /// SupCon term on the projections (with labels).
    pub supcon: Tensor,
    /// (Weighted) CE term on the classifier logits of both views.
    pub ce: Tensor,
}

/// The official `SupConCELoss(weights, alpha)(proj1, proj2, pred1, pred2, target)`:
/// `α·SupCon(proj1, proj2, target) + (1 − α)·CE(cat[pred1, pred2], cat[target, target])`, the
/// CE weighted by `class_weights` when given (main.py passes the ICBHI weights).
#[allow(clippy::too_many_arguments)]
pub fn supcon_ce_loss(
    proj1: &Tensor,
    proj2: &Tensor,
    logits1: &Tensor,
    logits2: &Tensor,
    targets: &Tensor,
    class_weights: Option<&Tensor>,
    alpha: f64,
    temperature: f64,
) -> Result<HybridLoss> {
    let supcon = supcon_loss(proj1, proj2, Some(targets), temperature)?;
    let targets = targets.flatten_all()?;
    let logits = Tensor::cat(&[logits1, logits2], 0)?;
    let both_targets = Tensor::cat(&[&targets, &targets], 0)?;
    let ce = cross_entropy(&logits, &both_targets, class_weights)?;
    let total = (supcon.affine(alpha, 0.0)? + ce.affine(1.0 - alpha, 0.0)?)?;
    Ok(HybridLoss { total, supcon, ce })
}

/// One SupCon head of a multi-head (metadata) objective.
#[derive(Debug, Clone, Copy)]
pub struct SupConHead<'a> {
    /// Projections of view 1, `[B, D]`.
    pub proj1: &'a Tensor,
    /// Projections of view 2, `[B, D]`.
    pub proj2: &'a Tensor,
    /// Labels of this head, `[B]`, or `None` for the label-less (SimCLR) objective.
    pub labels: Option<&'a Tensor>,
    /// Rows whose label is known (`[B]`, non-zero = valid), or `None` for all rows.
    pub valid: Option<&'a Tensor>,
    /// Weight λ of this head in the sum.
    pub weight: f64,
}

/// Result of [`multi_head_supcon`].
#[derive(Debug, Clone)]
pub struct MultiHeadLoss {
    /// `Σ_i λ_i · per_head[i]` (the tensor to differentiate).
    pub total: Tensor,
    /// Unweighted loss of each head, in input order.
    pub per_head: Vec<Tensor>,
}

/// `Σ_i λ_i · SupCon_i` where head i uses [`masked_supcon_loss`] with its own projections,
/// labels and validity mask. Zero heads gives an error.
pub fn multi_head_supcon(heads: &[SupConHead<'_>], temperature: f64) -> Result<MultiHeadLoss> {
    let mut per_head = Vec::with_capacity(heads.len());
    let mut total: Option<Tensor> = None;
    for head in heads {
        let loss =
            masked_supcon_loss(head.proj1, head.proj2, head.labels, head.valid, temperature)?;
        let weighted = loss.affine(head.weight, 0.0)?;
        total = Some(match total {
            None => weighted,
            Some(t) => (t + weighted)?,
        });
        per_head.push(loss);
    }
    let total =
        total.ok_or_else(|| candle_core::Error::Msg("multi_head_supcon: no heads".into()))?;
    Ok(MultiHeadLoss { total, per_head })
}
