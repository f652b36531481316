//! Class sound generators for synthetic respiratory recordings, usable at any sample rate and
//! duration. All generators *add* into a caller-provided buffer of float samples, so they compose:
//! a crackle cycle is breath noise plus crackles, a "both" cycle adds a wheeze on top.
//!
//! Levels are relative to `level`, the RMS of the breath noise at the peak of its envelope.
//! Everything is cheap (a fast xoshiro noise source, biquad filters, a sine table) and
//! deterministic given the random generator passed in.

use std::sync::OnceLock;

use rand::{Rng, RngCore};

/// ICBHI cycle class, from the annotation's crackles/wheezes flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SoundClass {
    Normal,
    Crackle,
    Wheeze,
    Both,
}

impl SoundClass {
    /// All classes in label order.
    pub const ALL: [SoundClass; 4] = [
        SoundClass::Normal,
        SoundClass::Crackle,
        SoundClass::Wheeze,
        SoundClass::Both,
    ];

    pub fn from_flags(crackles: bool, wheezes: bool) -> Self {
        match (crackles, wheezes) {
            (false, false) => SoundClass::Normal,
            (true, false) => SoundClass::Crackle,
            (false, true) => SoundClass::Wheeze,
            (true, true) => SoundClass::Both,
        }
    }

    /// ICBHI label index: 0 normal, 1 crackle, 2 wheeze, 3 both.
    pub fn label(self) -> usize {
        self as usize
    }

    pub fn crackles(self) -> bool {
        matches!(self, SoundClass::Crackle | SoundClass::Both)
    }

    pub fn wheezes(self) -> bool {
        matches!(self, SoundClass::Wheeze | SoundClass::Both)
    }
}

/// Fast non-cryptographic noise source (xoshiro256+), seeded from a caller's generator.
#[derive(Debug, Clone)]
pub struct NoiseRng {
    state: [u64; 4],
}

impl NoiseRng {
    /// Seeds from four words of `rng` (never the all-zero state).
    pub fn from_rng<R: RngCore + ?Sized>(rng: &mut R) -> Self {
        let mut state = [0u64; 4];
        for word in &mut state {
            *word = rng.next_u64();
        }
        if state == [0; 4] {
            state[0] = 0x9E37_79B9_7F4A_7C15;
        }
        NoiseRng { state }
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[0].wrapping_add(s[3]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform white noise with unit variance (uniform on [-√3, √3)).
    #[inline]
    pub fn white(&mut self) -> f32 {
        const SCALE: f32 = 2.0 * 1.732_050_8 / (1u32 << 24) as f32;
        ((self.next_u64() >> 40) as f32) * SCALE - 1.732_050_8
    }
}

const SINE_TABLE_LEN: usize = 4096;

/// The `sin(2π·i/4096)` table, `i` in `0..=4096`, for [`sin_turns`] (built once).
pub fn sine_table() -> &'static [f32] {
    static TABLE: OnceLock<Vec<f32>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..=SINE_TABLE_LEN)
            .map(|i| (i as f64 / SINE_TABLE_LEN as f64 * std::f64::consts::TAU).sin() as f32)
            .collect()
    })
}

/// What a generator adding into `out` needs: the sine table and the sample rate as `f32`;
/// `None` when `out` is empty (nothing to add).
fn setup(out: &[f32], sample_rate: u32) -> Option<(&'static [f32], f32)> {
    (!out.is_empty()).then(|| (sine_table(), sample_rate as f32))
}

/// `sin(2π·phase)` for `phase` in [0, 1), by linear interpolation in a 4096-entry table
/// (error below 3e-7).
#[inline]
pub fn sin_turns(table: &[f32], phase: f32) -> f32 {
    let x = phase * SINE_TABLE_LEN as f32;
    let i = (x as usize).min(SINE_TABLE_LEN - 1);
    let frac = x - i as f32;
    table[i] + (table[i + 1] - table[i]) * frac
}

/// Fractional part of a non-negative `x` (truncation, no libm call).
#[inline]
fn fract_pos(x: f32) -> f32 {
    x - (x as u32) as f32
}

/// Adds `inc` (non-negative) to a phase in turns, wrapping into [0, 1).
#[inline]
fn advance(phase: f32, inc: f32) -> f32 {
    fract_pos(phase + inc)
}

/// Second-order IIR section (RBJ cookbook), direct form I, written so that the recursion's
/// critical path is one multiply and one subtraction per sample.
#[derive(Debug, Clone, Copy)]
pub struct Biquad {
    b0: f32,
    b1: f32,
    b2: f32,
    a1: f32,
    a2: f32,
    x1: f32,
    x2: f32,
    y1: f32,
    y2: f32,
}

impl Biquad {
    fn from_coefficients(b: [f64; 3], a: [f64; 3]) -> Self {
        Biquad {
            b0: (b[0] / a[0]) as f32,
            b1: (b[1] / a[0]) as f32,
            b2: (b[2] / a[0]) as f32,
            a1: (a[1] / a[0]) as f32,
            a2: (a[2] / a[0]) as f32,
            x1: 0.0,
            x2: 0.0,
            y1: 0.0,
            y2: 0.0,
        }
    }

    /// (cos ω0, α) for a cutoff clamped to [1 Hz, 0.45·rate].
    fn omega(sample_rate: u32, cutoff_hz: f32, q: f32) -> (f64, f64) {
        let rate = sample_rate as f64;
        let fc = (cutoff_hz as f64).clamp(1.0, 0.45 * rate);
        let w0 = std::f64::consts::TAU * fc / rate;
        (w0.cos(), w0.sin() / (2.0 * q as f64))
    }

    pub fn lowpass(sample_rate: u32, cutoff_hz: f32, q: f32) -> Self {
        let (cos, alpha) = Self::omega(sample_rate, cutoff_hz, q);
        let b = [(1.0 - cos) / 2.0, 1.0 - cos, (1.0 - cos) / 2.0];
        Self::from_coefficients(b, [1.0 + alpha, -2.0 * cos, 1.0 - alpha])
    }

    pub fn highpass(sample_rate: u32, cutoff_hz: f32, q: f32) -> Self {
        let (cos, alpha) = Self::omega(sample_rate, cutoff_hz, q);
        let b = [(1.0 + cos) / 2.0, -(1.0 + cos), (1.0 + cos) / 2.0];
        Self::from_coefficients(b, [1.0 + alpha, -2.0 * cos, 1.0 - alpha])
    }

    #[inline]
    pub fn process(&mut self, x: f32) -> f32 {
        let feed = self.b0 * x + self.b1 * self.x1 + self.b2 * self.x2 - self.a2 * self.y2;
        let y = feed - self.a1 * self.y1;
        self.x2 = self.x1;
        self.x1 = x;
        self.y2 = self.y1;
        self.y1 = y;
        y
    }
}

/// Shape of the band-limited breath noise of one cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct BreathParams {
    /// High-pass cutoff (one 2nd-order section).
    pub low_hz: f32,
    /// Low-pass cutoff (two 2nd-order sections), clamped to 0.45·rate.
    pub high_hz: f32,
    /// Share of the cycle taken by inhalation; exhalation takes the rest.
    pub inhale_fraction: f32,
    /// Exhalation peak relative to the inhalation peak.
    pub exhale_gain: f32,
    /// Envelope floor, so the whole cycle carries some breath sound.
    pub floor: f32,
}

impl BreathParams {
    /// A plausible random breath: 80–150 Hz to 800–1100 Hz, inhale 35–50 % of the cycle.
    pub fn random<R: Rng + ?Sized>(rng: &mut R) -> Self {
        BreathParams {
            low_hz: rng.gen_range(80.0..150.0),
            high_hz: rng.gen_range(800.0..1100.0),
            inhale_fraction: rng.gen_range(0.35..0.5),
            exhale_gain: rng.gen_range(0.5..0.9),
            floor: rng.gen_range(0.08..0.2),
        }
    }
}

/// Adds band-limited breath noise with a smooth inhale/exhale envelope over all of `out`; `level`
/// is its RMS at the envelope peak (the gain compensates the band's share of white noise power).
pub fn add_breath_noise(
    out: &mut [f32],
    sample_rate: u32,
    level: f32,
    params: &BreathParams,
    noise: &mut NoiseRng,
) {
    let Some((table, rate)) = setup(out, sample_rate) else {
        return;
    };
    let n = out.len();
    let nyquist = 0.5 * rate;
    let high = params.high_hz.min(0.9 * nyquist);
    let band = (high - params.low_hz).max(50.0);
    let gain = level * (nyquist / band).sqrt();
    let mut hp = Biquad::highpass(sample_rate, params.low_hz, std::f32::consts::FRAC_1_SQRT_2);
    let mut lp1 = Biquad::lowpass(sample_rate, high, std::f32::consts::FRAC_1_SQRT_2);
    let mut lp2 = lp1;
    let mut filtered: Vec<f32> = (0..n).map(|_| noise.white()).collect();
    for v in &mut filtered {
        *v = lp2.process(lp1.process(hp.process(*v)));
    }
    let n_in = ((n as f32 * params.inhale_fraction).round() as usize).clamp(1, n);
    let segments = [(0, n_in, 1.0f32), (n_in, n, params.exhale_gain)];
    for (start, end, peak) in segments {
        if start >= end {
            continue;
        }
        let inc = 0.5 / (end - start) as f32;
        let mut phase = 0.0f32;
        for (y, v) in out[start..end].iter_mut().zip(&filtered[start..end]) {
            let shape = sin_turns(table, phase);
            let env = params.floor + (1.0 - params.floor) * peak * shape;
            *y += gain * env * v;
            phase = (phase + inc).min(0.5);
        }
    }
}

/// Adds unit-variance white noise scaled to RMS `rms` (a device noise floor).
pub fn add_white_noise(out: &mut [f32], rms: f32, noise: &mut NoiseRng) {
    for y in out {
        *y += rms * noise.white();
    }
}

/// Crackles: short explosive transients, each a damped sinusoid `A·e^(-t/τ)·sin(2πft)`.
#[derive(Debug, Clone, PartialEq)]
pub struct CrackleParams {
    /// Crackles per second of cycle (uniform in the range).
    pub per_second: (f32, f32),
    /// At least this many crackles per cycle, however short.
    pub min_count: usize,
    /// Oscillation frequency, clamped to 0.45·rate.
    pub freq_hz: (f32, f32),
    /// Decay time constant τ.
    pub decay_ms: (f32, f32),
    /// Peak amplitude relative to the breath `level`.
    pub peak: (f32, f32),
}

impl CrackleParams {
    /// The fields in declaration order (the presets below are one line each).
    const fn new(
        per_second: (f32, f32),
        min_count: usize,
        freq_hz: (f32, f32),
        decay_ms: (f32, f32),
        peak: (f32, f32),
    ) -> Self {
        CrackleParams {
            per_second,
            min_count,
            freq_hz,
            decay_ms,
            peak,
        }
    }

    /// Fine crackles: high-pitched, very short.
    pub fn fine() -> Self {
        Self::new((4.0, 10.0), 3, (650.0, 1800.0), (0.8, 2.0), (8.0, 13.0))
    }

    /// Coarse crackles: lower-pitched, longer.
    pub fn coarse() -> Self {
        Self::new((2.0, 6.0), 2, (200.0, 600.0), (2.5, 6.0), (7.0, 12.0))
    }

    /// Both kinds mixed (the ICBHI "crackle" class).
    pub fn mixed() -> Self {
        Self::new((3.0, 8.0), 3, (250.0, 1800.0), (1.2, 4.0), (7.0, 13.0))
    }
}

/// Adds crackles at random times over `out`.
pub fn add_crackles<R: Rng + ?Sized>(
    out: &mut [f32],
    sample_rate: u32,
    level: f32,
    params: &CrackleParams,
    rng: &mut R,
) {
    let Some((table, rate)) = setup(out, sample_rate) else {
        return;
    };
    let n = out.len();
    let seconds = n as f32 / rate;
    let per_second = rng.gen_range(params.per_second.0..=params.per_second.1);
    let count = ((per_second * seconds).round() as usize).max(params.min_count);
    for _ in 0..count {
        let freq = rng
            .gen_range(params.freq_hz.0..=params.freq_hz.1)
            .min(0.45 * rate);
        let tau = rng.gen_range(params.decay_ms.0..=params.decay_ms.1) * 1e-3 * rate;
        let sign = if rng.gen::<bool>() { 1.0 } else { -1.0 };
        let mut amplitude = sign * level * rng.gen_range(params.peak.0..=params.peak.1);
        let len = ((6.0 * tau).ceil() as usize).clamp(1, n);
        let start = rng.gen_range(0..=n - len);
        let decay = (-1.0 / tau.max(1e-3)).exp();
        let inc = freq / rate;
        let mut phase = 0.0f32;
        for y in &mut out[start..start + len] {
            *y += amplitude * sin_turns(table, phase);
            amplitude *= decay;
            phase = advance(phase, inc);
        }
    }
}

/// Wheezes and their relatives: a sustained tone with harmonics over part of the cycle, its
/// pitch gliding linearly.
#[derive(Debug, Clone, PartialEq)]
pub struct WheezeParams {
    /// Starting fundamental frequency.
    pub f0_hz: (f32, f32),
    /// Largest relative pitch change from start to end (0.2: ±20 %).
    pub glide: f32,
    /// Share of `out` covered by the tone; with a lower bound above 0.5 the middle sample of the
    /// buffer is always inside the tone.
    pub coverage: (f32, f32),
    /// Tone RMS relative to the breath `level`, in dB.
    pub level_db: (f32, f32),
    /// Amplitudes of the fundamental and the 2nd and 3rd harmonics (those at or above 0.45·rate
    /// are dropped).
    pub harmonics: [f32; 3],
}

impl WheezeParams {
    /// The fields in declaration order (the presets below are one line each).
    const fn new(
        f0_hz: (f32, f32),
        glide: f32,
        coverage: (f32, f32),
        level_db: (f32, f32),
        harmonics: [f32; 3],
    ) -> Self {
        WheezeParams {
            f0_hz,
            glide,
            coverage,
            level_db,
            harmonics,
        }
    }

    /// Wheeze: 150–900 Hz, up to ±25 % glide, 55–90 % of the cycle, 0–5 dB above the breath RMS
    /// (about 15–20 dB above the noise in a 64-band mel bin).
    pub fn wheeze() -> Self {
        Self::new(
            (150.0, 900.0),
            0.25,
            (0.55, 0.9),
            (0.0, 5.0),
            [1.0, 0.45, 0.2],
        )
    }

    /// Rhonchus: a low-pitched (100–200 Hz) snoring tone with strong harmonics.
    pub fn rhonchus() -> Self {
        Self::new(
            (100.0, 200.0),
            0.1,
            (0.55, 0.9),
            (0.0, 5.0),
            [1.0, 0.7, 0.5],
        )
    }

    /// Stridor: a loud high-pitched (500–1000 Hz) tone.
    pub fn stridor() -> Self {
        Self::new(
            (500.0, 1000.0),
            0.1,
            (0.6, 0.95),
            (4.0, 9.0),
            [1.0, 0.3, 0.1],
        )
    }
}

/// Adds one wheeze-like tone somewhere in `out`, with 30 ms (at most a quarter of the tone)
/// linear fade-in and fade-out.
pub fn add_wheeze<R: Rng + ?Sized>(
    out: &mut [f32],
    sample_rate: u32,
    level: f32,
    params: &WheezeParams,
    rng: &mut R,
) {
    let Some((table, rate)) = setup(out, sample_rate) else {
        return;
    };
    let n = out.len();
    let f_start = rng.gen_range(params.f0_hz.0..=params.f0_hz.1);
    let f_end = f_start * (1.0 + rng.gen_range(-params.glide..=params.glide));
    let coverage = rng.gen_range(params.coverage.0..=params.coverage.1);
    let db = rng.gen_range(params.level_db.0..=params.level_db.1);
    let len = ((n as f32 * coverage).round() as usize).clamp(1, n);
    let start = rng.gen_range(0..=n - len);

    let top = f_start.max(f_end);
    let mut amps = [0.0f32; 3];
    for (k, amp) in amps.iter_mut().enumerate() {
        if (k + 1) as f32 * top < 0.45 * rate {
            *amp = params.harmonics[k];
        }
    }
    let power: f32 = amps.iter().map(|a| a * a / 2.0).sum();
    if power <= 0.0 {
        return;
    }
    let scale = level * 10f32.powf(db / 20.0) / power.sqrt();
    let ramp = ((0.03 * rate) as usize).min(len / 4).max(1);
    let inc_start = f_start / rate;
    let inc_step = (f_end - f_start) / rate / len as f32;
    let mut phase = 0.0f32;
    for (i, y) in out[start..start + len].iter_mut().enumerate() {
        let fade = (i.min(len - 1 - i) as f32 / ramp as f32).min(1.0);
        let mut tone = amps[0] * sin_turns(table, phase);
        for (k, &amp) in amps.iter().enumerate().skip(1) {
            if amp != 0.0 {
                let hk = (k + 1) as f32 * phase;
                tone += amp * sin_turns(table, fract_pos(hk));
            }
        }
        *y += scale * fade * tone;
        phase = advance(phase, inc_start + inc_step * i as f32);
    }
}

/// Renders one ICBHI cycle of `class` into `out` (adding): breath noise, plus crackles and/or a
/// wheeze as the class says.
pub fn render_cycle<R: Rng + ?Sized>(
    out: &mut [f32],
    class: SoundClass,
    sample_rate: u32,
    level: f32,
    rng: &mut R,
) {
    let breath = BreathParams::random(rng);
    let mut noise = NoiseRng::from_rng(rng);
    add_breath_noise(out, sample_rate, level, &breath, &mut noise);
    if class.crackles() {
        add_crackles(out, sample_rate, level, &CrackleParams::mixed(), rng);
    }
    if class.wheezes() {
        add_wheeze(out, sample_rate, level, &WheezeParams::wheeze(), rng);
    }
}

/// A cycle to render: frames `[start, end)` of the recording and its class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CycleSpan {
    pub start: usize,
    pub end: usize,
    pub class: SoundClass,
}

/// Device noise floor relative to the breath level (−34 dB).
pub const HISS_RELATIVE: f32 = 0.02;

/// Renders a whole recording of `n_frames`: a random breath level (RMS 0.02–0.05 of full scale),
/// a white noise floor everywhere, and each cycle's class sound over its span (spans past the end
/// are cut; overlapping spans add).
pub fn render_recording<R: Rng + ?Sized>(
    n_frames: usize,
    sample_rate: u32,
    cycles: &[CycleSpan],
    rng: &mut R,
) -> Vec<f32> {
    let level = rng.gen_range(0.02..0.05);
    let mut out = vec![0.0f32; n_frames];
    let mut noise = NoiseRng::from_rng(rng);
    add_white_noise(&mut out, level * HISS_RELATIVE, &mut noise);
    for cycle in cycles {
        let end = cycle.end.min(n_frames);
        if cycle.start < end {
            render_cycle(
                &mut out[cycle.start..end],
                cycle.class,
                sample_rate,
                level,
                rng,
            );
        }
    }
    out
}
