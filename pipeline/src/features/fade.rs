//! Linear fades, as torchaudio `T.Fade(fade_in_len, fade_out_len, fade_shape="linear")`.

use super::torch_ops::linspace_at;

/// Multiplies `x` in place by torchaudio's linear fade-in and fade-out gains.
///
/// The fade-in gain of sample `i < fade_in` is `linspace(0, 1, fade_in)[i]` and the fade-out
/// gain of the last `fade_out` samples is `1 − linspace(0, 1, fade_out)`, so the first and the
/// last sample become exactly 0; each sample is scaled by `(gain_in · gain_out) · x` in float32
/// as torch does. A zero length disables that fade.
///
/// torchaudio raises when the waveform is shorter than a fade; here the ramps are instead cut
/// to the waveform: the fade-in keeps its first `len` gains and the fade-out its last `len`
/// gains (still ending at exactly 0). For waveforms at least as long as both fades this is
/// identical to torchaudio.
pub fn apply_fade(x: &mut [f32], fade_in: usize, fade_out: usize) {
    let len = x.len();
    let fade_in_end = fade_in.min(len);
    let fade_out_start = len.saturating_sub(fade_out);
    let gain = |i: usize| {
        let gain_in = if i < fade_in {
            linspace_at(0.0, 1.0, fade_in, i)
        } else {
            1.0
        };
        let gain_out = if i >= fade_out_start {
            // Ramp index of sample i when the ramp's last value sits on the last sample.
            1.0 - linspace_at(0.0, 1.0, fade_out, i + fade_out - len)
        } else {
            1.0
        };
        gain_in * gain_out
    };
    for i in (0..fade_in_end).chain(fade_out_start.max(fade_in_end)..len) {
        x[i] *= gain(i);
    }
}
