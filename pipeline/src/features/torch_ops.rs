//! Small float32 helpers that reproduce how torch computes a few tensors on the CPU.

/// Value `k` of `torch.linspace(start, end, steps)` in float32: the step is
/// `(end − start) / (steps − 1)` in float32, the first half counts up from `start`, the second
/// half counts down from `end` (so both endpoints are exact). `steps == 1` gives `start`.
///
/// torch's vectorised CPU kernel can differ from this scalar formula by one ulp on some
/// elements of the second half; the parity test measures that.
pub fn linspace_at(start: f32, end: f32, steps: usize, k: usize) -> f32 {
    if steps <= 1 {
        return start;
    }
    let step = (end - start) / (steps - 1) as f32;
    if k < steps / 2 {
        start + step * k as f32
    } else {
        end - step * (steps - 1 - k) as f32
    }
}

/// `torch.linspace(start, end, steps)` as a vector (see [`linspace_at`]).
pub fn linspace(start: f32, end: f32, steps: usize) -> Vec<f32> {
    (0..steps)
        .map(|k| linspace_at(start, end, steps, k))
        .collect()
}
