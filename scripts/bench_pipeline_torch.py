"""The official scl_icbhi2017 preprocessing on a modern stack, timed on the same cycles as
`auscult pipeline build` (side-by-side benchmark; see docs/PERFORMANCE.md).

Per cycle, as dataset.py + main.py do: read the cycle's frames at the file's rate, mean over
channels, T.Resample(sr, 16000) built per cycle, linear fade in/out of 1000 samples, crop to 8 s or
circular-pad + fade-out, then MelSpectrogram(1024, hop 512, 64 mels, 50-2000 Hz) + AmplitudeToDB +
per-sample min-max. torchaudio 2.11's loader needs torchcodec, so audio is read with soundfile,
which is bit-identical to the official loader (see REFERENCE-NOTES).

usage: python bench_pipeline_torch.py <icbhi-root> [--threads 2] [--limit N]
"""
import argparse, glob, math, os, time

import soundfile as sf
import torch
import torchaudio.transforms as T


def cycles(root):
    rec_dir = next(d for d in (os.path.join(root, "ICBHI_final_database"), os.path.join(root, "audio_and_txt_files"), root) if os.path.isdir(d))
    out = []
    for txt in sorted(glob.glob(os.path.join(rec_dir, "*.txt"))):
        wav = txt[:-4] + ".wav"
        if not os.path.exists(wav):
            continue
        for line in open(txt):
            f = line.split()
            if len(f) == 4:
                out.append((wav, float(f[0]), float(f[1])))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cs = cycles(a.root)
    if a.limit:
        cs = cs[: a.limit]
    sr_out, target = 16000, 8 * 16000
    fade = T.Fade(fade_in_len=1000, fade_out_len=1000, fade_shape="linear")
    fade_out = T.Fade(fade_in_len=0, fade_out_len=1000, fade_shape="linear")
    mel = T.MelSpectrogram(sample_rate=sr_out, n_fft=1024, win_length=1024, hop_length=512, f_min=50, f_max=2000, n_mels=64)
    to_db = T.AmplitudeToDB()
    info = {}
    audio_s = 0.0
    t0 = time.perf_counter()
    for wav, on, off in cs:
        if wav not in info:
            info[wav] = sf.info(wav).samplerate
        sr = info[wav]
        start, stop = int(on * sr), int(off * sr)
        x, _ = sf.read(wav, start=start, frames=stop - start, dtype="float32", always_2d=True)
        audio = torch.from_numpy(x.T.copy())
        audio_s += (stop - start) / sr
        if audio.shape[0] > 1:
            audio = audio.mean(0, keepdim=True)
        if sr != sr_out:
            audio = T.Resample(sr, sr_out)(audio)
        audio = fade(audio)
        if audio.shape[-1] > target:
            audio = audio[..., :target]
        else:
            audio = fade_out(audio.repeat(1, math.ceil(target / audio.shape[-1]))[..., :target])
        m = to_db(mel(audio))
        m = (m - m.min()) / (m.max() - m.min())
    dt = time.perf_counter() - t0
    print(f"pytorch: {len(cs)} cycles in {dt:.2f} s = {len(cs)/dt:.1f} cycles/s, {audio_s/dt:.1f} audio-s/s (torch {torch.__version__}, {a.threads} threads)")


if __name__ == "__main__":
    main()
