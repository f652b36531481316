#!/usr/bin/env python3
"""Golden fixtures for the per-cycle feature path (pipeline/tests/it/features_parity.rs).

Runs the official scl_icbhi2017 processing (dataset.py get_sample/get_dataset + main.py
MelSpectrogram + utils.Normalize's AmplitudeToDB) with torch/torchaudio on synthetic,
deterministic test signals and writes small safetensors files to
pipeline/tests/fixtures/golden_features/:

  shared.safetensors   torchaudio resampling kernels per source rate, the periodic Hann
                       window, the mel filterbank, and Fade gains (applied to ones).
  <case>.safetensors   integer PCM input, torchaudio-resampled 16 kHz wave (head, tail and
                       every 17th sample), fitted 8 s wave (head, tail, every 17th sample)
                       and the dB log-mel [64, 251]; metadata gives rate, PCM scale, padding.

Input floats are PCM integers scaled exactly as torchaudio.load does (int / 2^23 for 24-bit,
int / 32768 for 16-bit), so the Rust test rebuilds bit-identical input.

Run with the project venv:  $(scripts/torch-venv.sh --python) scripts/golden_features.py
"""

import json
import math
import os
import sys

import numpy as np
import torch
import torchaudio
from safetensors.torch import save_file
from torchaudio import transforms as T

OUT_DIR = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "pipeline", "tests", "fixtures", "golden_features"
)

# Official constants (dataset.py / main.py).
SR = 16000
TARGET = 8 * SR
FADE = int(SR / 16)
N_FFT, WIN, HOP, N_MELS, F_MIN, F_MAX = 1024, 1024, 512, 64, 50, 2000

HEAD = 4000  # samples stored from each end of a wave
STRIDE = 17  # coprime with every phase count used (160, 8, 4, 2, 1)

# name, source rate, bits, duration in samples, pad type
CASES = [
    ("icbhi44k_short", 44100, 24, 66150, "circular"),  # 1.5 s -> circular padding
    ("icbhi4k_crop", 4000, 16, 34000, "circular"),  # 8.5 s -> 136000 at 16 kHz, cropped
    ("icbhi10k_exact8s", 10000, 16, 80000, "circular"),  # exactly 128000 at 16 kHz
    ("sprs8k_3s", 8000, 16, 24000, "circular"),  # 3 s
    ("sprs8k_3s_zero", 8000, 16, 24000, "zero"),  # same input, zero padding
    ("odd48k_1s", 48000, 16, 62400, "circular"),  # 1.3 s, another rate
    ("long44k_4s", 44100, 16, 180697, "circular"),  # float32 output-length rounding case
    ("tiny44k_fade", 44100, 24, 2205, "circular"),  # 50 ms: 800 samples < fade, Fade raises
]


def synth(sr, n, seed):
    """Breathing-like test signal: chirp + band noise with envelope + crackle clicks + wheeze."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    top = min(0.45 * sr, 3000.0)
    dur = max(n / sr, 1e-3)
    chirp = 0.2 * np.sin(2 * np.pi * (60 * t + (top - 60) * t**2 / (2 * dur)))
    envelope = 0.5 - 0.5 * np.cos(2 * np.pi * t / 2.5)
    noise = np.convolve(rng.standard_normal(n), np.ones(8) / 8, mode="same") * 0.15 * envelope
    wheeze = 0.08 * np.sin(2 * np.pi * 400 * t) * (t % 2.0 > 1.0)
    clicks = np.zeros(n)
    for pos in rng.integers(0, n, size=max(1, n // sr * 6)):
        k = np.arange(min(int(0.004 * sr) + 2, n - pos))
        clicks[pos : pos + len(k)] += 0.5 * np.exp(-k / (0.0008 * sr + 1)) * np.sin(2 * np.pi * 0.25 * k)
    return chirp + noise + wheeze + clicks


def quantise(x, bits):
    full = 2 ** (bits - 1)
    ints = np.clip(np.round(x * full), -full, full - 1).astype(np.int32)
    wave = torch.from_numpy(ints.astype(np.float32)) / float(full)  # torchaudio.load scaling
    return ints, wave


def official_fit(audio, pad_type):
    """dataset.py get_sample (fade) + get_dataset (crop / pad) on a [1, n] waveform."""
    fade = T.Fade(fade_in_len=FADE, fade_out_len=FADE, fade_shape="linear")
    fade_out = T.Fade(fade_in_len=0, fade_out_len=FADE, fade_shape="linear")
    audio = fade(audio)
    if audio.shape[-1] > TARGET:
        return audio[..., :TARGET]
    if pad_type == "circular":
        ratio = math.ceil(TARGET / audio.shape[-1])
        audio = audio.repeat(1, ratio)[..., :TARGET]
        return fade_out(audio)
    tmp = torch.zeros(1, TARGET, dtype=torch.float32)
    diff = TARGET - audio.shape[-1]
    tmp[..., diff // 2 : audio.shape[-1] + diff // 2] = audio
    return tmp


def head_tail_strided(prefix, wave):
    w = wave.reshape(-1).contiguous()
    return {
        f"{prefix}_head": w[:HEAD].clone(),
        f"{prefix}_tail": w[-HEAD:].clone(),
        f"{prefix}_strided": w[::STRIDE].clone(),
    }


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    melspec = T.MelSpectrogram(
        n_fft=N_FFT, n_mels=N_MELS, win_length=WIN, hop_length=HOP, f_min=F_MIN, f_max=F_MAX
    )
    to_db = T.AmplitudeToDB()

    shared = {
        "hann_window": torch.hann_window(WIN),
        "mel_fb": melspec.mel_scale.fb.contiguous(),
        "fade_in_out_ones_3000": T.Fade(FADE, FADE, "linear")(torch.ones(1, 3000))[0],
        "fade_out_ones_1500": T.Fade(0, FADE, "linear")(torch.ones(1, 1500))[0],
    }
    for sr in sorted({c[1] for c in CASES}):
        if sr != SR:
            shared[f"kernel_{sr}"] = T.Resample(sr, SR).kernel[:, 0, :].contiguous()
    save_file(shared, os.path.join(OUT_DIR, "shared.safetensors"), metadata={"torch": torch.__version__})

    for seed, (name, sr, bits, n, pad_type) in enumerate(CASES):
        ints, wave = quantise(synth(sr, n, seed), bits)
        audio = wave[None, :]
        resampled = T.Resample(sr, SR)(audio) if sr != SR else audio
        tensors = {
            "pcm": torch.from_numpy(ints.astype(np.int16) if bits == 16 else ints),
            **head_tail_strided("resampled", resampled),
        }
        meta = {
            "source_sr": str(sr),
            "pcm_scale": str(2 ** (bits - 1)),
            "pad_mode": pad_type,
            "resampled_len": str(resampled.shape[-1]),
        }
        try:
            fitted = official_fit(resampled, pad_type)
        except RuntimeError as err:  # T.Fade on a waveform shorter than the fade
            meta["fade_error"] = str(err).splitlines()[0]
        else:
            mel_db = to_db(melspec(fitted))[0]
            assert mel_db.shape == (N_MELS, TARGET // HOP + 1), mel_db.shape
            tensors.update(head_tail_strided("fitted", fitted))
            tensors["mel_db"] = mel_db.contiguous()
        save_file(tensors, os.path.join(OUT_DIR, f"{name}.safetensors"), metadata=meta)
        print(name, json.dumps(meta), file=sys.stderr)
    print(f"torch {torch.__version__}, torchaudio {torchaudio.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
