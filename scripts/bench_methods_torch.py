"""PyTorch side of the CE vs SCL training-speed comparison (see scripts/bench_methods.sh).

Times full training steps the way the official code runs them (ce.py / scl.py), on random dB-mel
batches [B, 1, 64, 251] with torch.set_num_threads(THREADS):
  * CE: min-max scaling -> SpecAugment (2 freq masks of < 20 bins, 2 time masks of < 40 frames,
    iid per example) -> standardise -> CNN6 -> class-weighted cross-entropy -> backward ->
    Adam(lr 1e-3, weight_decay 1e-4);
  * SCL: two independently augmented views -> CNN6 embeddings -> projector (512-512-ReLU-128) ->
    L2 normalise -> SupCon (temperature 0.06) -> backward -> Adam.
The masks are drawn with plain torch ops (no torchaudio needed); their cost is negligible next to
the network. Prints `ce_samples_per_s=<x>` and `scl_samples_per_s=<y>`.
`--methods scl` (or `ce`) builds and times that method alone: nothing of the other is allocated,
so the process's peak RSS is that method's (scripts/bench_memory.sh).
`--device cuda` times the same on a GPU (synchronised before and after the timed steps).
Usage: python scripts/bench_methods_torch.py [--threads 2] [--batch 32] [--warmup 2] [--steps 4]
       [--methods ce,scl] [--device cpu|cuda]
"""

import argparse
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cnn6_torch import Cnn6  # noqa: E402


def minmax(x):
    """The official `Normalize`: the whole batch tensor to [0, 1]."""
    return (x - x.min()) / (x.max() - x.min())


def mask_axis(x, param, count, dim):
    """`count` masks of width U[0, param) per example along `dim` (2: mel, 3: time), value 0."""
    b, size, dev = x.shape[0], x.shape[dim], x.device
    keep = torch.ones(b, size, device=dev)
    for _ in range(count):
        width = (torch.rand(b, device=dev) * param).long()
        start = (torch.rand(b, device=dev) * (size - width)).long()
        pos = torch.arange(size, device=dev).unsqueeze(0)
        keep = keep * ~((pos >= start[:, None]) & (pos < (start + width)[:, None]))
    shape = [b, 1, 1, 1]
    shape[dim] = size
    return x * keep.view(shape)


def augment(x):
    x = mask_axis(x, 20, 2, 2)
    return mask_axis(x, 40, 2, 3)


def standardise(x):
    return (x - 0.3690) / 0.0255


class Projector(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear1 = nn.Linear(512, 512)
        self.linear2 = nn.Linear(512, 128)

    def forward(self, x):
        return F.normalize(self.linear2(F.relu(self.linear1(x))), dim=1)


def supcon(z1, z2, labels, temperature=0.06):
    """The official SupConLoss over 2N views (denominator: every other view)."""
    z = torch.cat([z1, z2], 0)
    y = torch.cat([labels, labels], 0)
    logits = z @ z.T / temperature
    n = z.shape[0]
    self_mask = torch.eye(n, dtype=torch.bool, device=z.device)
    logits = logits - logits.max(dim=1, keepdim=True)[0].detach()
    pos = (y[:, None] == y[None, :]) & ~self_mask
    exp = torch.exp(logits) * (~self_mask)
    log_prob = logits - torch.log(exp.sum(1, keepdim=True))
    mean_log_pos = (pos * log_prob).sum(1) / pos.sum(1).clamp(min=1)
    return -mean_log_pos.mean()


def time_steps(step, warmup, steps, sync):
    for _ in range(warmup):
        step()
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return (time.perf_counter() - t0) / steps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--device", default="cpu")
    ap.add_argument(
        "--methods",
        default="ce,scl",
        help="comma-separated methods to time (ce, scl); only those are built, so one alone gives"
        " its own peak memory (scripts/bench_memory.sh, scripts/gpu_check.sh)",
    )
    ap.add_argument(
        "--precision",
        choices=["f32", "tf32"],
        default="f32",
        help="f32: TF32 off for both cuDNN convs and matmuls; tf32: on for both",
    )
    args = ap.parse_args()
    methods = [m for m in args.methods.split(",") if m]
    unknown = sorted(set(methods) - {"ce", "scl"})
    if unknown or not methods:
        ap.error(f"--methods: expected a comma-separated list of ce, scl; got {args.methods!r}")
    tf32 = args.precision == "tf32"
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    dev = torch.device(args.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    x = (torch.randn(args.batch, 1, 64, 251) * 20 - 40).to(dev)
    y = torch.randint(0, 4, (args.batch,)).to(dev)
    weights = torch.tensor([0.1, 0.2, 0.3, 0.4]).to(dev)

    def ce_step_of():
        ce_model = Cnn6(num_classes=4).to(dev)
        ce_opt = torch.optim.Adam(ce_model.parameters(), lr=1e-3, weight_decay=1e-4)

        def ce_step():
            ce_opt.zero_grad()
            logits = ce_model(standardise(augment(minmax(x))))
            F.cross_entropy(logits, y, weight=weights).backward()
            ce_opt.step()

        return ce_step

    def scl_step_of():
        scl_model, projector = Cnn6(num_classes=4).to(dev), Projector().to(dev)
        scl_opt = torch.optim.Adam(
            list(scl_model.parameters()) + list(projector.parameters()), lr=1e-3, weight_decay=1e-4
        )

        def scl_step():
            scl_opt.zero_grad()
            scaled = minmax(x)
            v1, v2 = standardise(augment(scaled)), standardise(augment(scaled))
            z1, z2 = projector(scl_model.embed(v1)), projector(scl_model.embed(v2))
            supcon(z1, z2, y).backward()
            scl_opt.step()

        return scl_step

    step_of = {"ce": ce_step_of, "scl": scl_step_of}
    # Built and timed one after the other (in CE, SCL order, as before), each model and optimiser
    # freed before the next is built.
    seconds = {}
    for m in ["ce", "scl"]:
        if m in methods:
            seconds[m] = time_steps(step_of[m](), args.warmup, args.steps, sync)
    where = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"{args.threads} threads"
    print(f"torch {torch.__version__}, {where}, batch {args.batch}, precision {args.precision}")
    for m, secs in seconds.items():
        print(f"{m}_samples_per_s={args.batch / secs:.3f}")


if __name__ == "__main__":
    main()
