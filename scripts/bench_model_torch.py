"""PyTorch side of the CNN6 CPU speed comparison (see scripts/bench_model.sh).

Measures, with torch.set_num_threads(THREADS):
  * CE training step (forward + cross-entropy + backward + plain SGD update), batch 32, input
    [32, 1, 64, 251], in samples/s;
  * inference (eval mode, no grad), batch 64, in samples/s.
Prints `train_samples_per_s=<x>` and `infer_samples_per_s=<y>` lines for the wrapper to parse.
Usage: python scripts/bench_model_torch.py [--threads 2] [--warmup 3] [--steps 5]
"""

import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cnn6_torch import Cnn6  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", "2")))
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--train-batch", type=int, default=32)
    ap.add_argument("--infer-batch", type=int, default=64)
    ap.add_argument("--frames", type=int, default=251)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = Cnn6(num_classes=4)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    x = torch.randn(args.train_batch, 1, 64, args.frames)
    y = torch.randint(0, 4, (args.train_batch,))

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    model.train()
    for _ in range(args.warmup):
        train_step()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        train_step()
    dt = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    train_sps = args.steps * args.train_batch / dt
    print(f"torch train step: {dt / args.steps:.3f} s/step (batch {args.train_batch})")
    print(f"train_cpu_s_per_step={cpu / args.steps:.3f}")
    print(f"train_samples_per_s={train_sps:.3f}")

    model.eval()
    xi = torch.randn(args.infer_batch, 1, 64, args.frames)
    with torch.no_grad():
        for _ in range(args.warmup):
            model(xi)
        t0 = time.perf_counter()
        for _ in range(args.steps):
            model(xi)
        dt = time.perf_counter() - t0
    infer_sps = args.steps * args.infer_batch / dt
    print(f"torch inference: {dt / args.steps:.3f} s/batch (batch {args.infer_batch})")
    print(f"infer_samples_per_s={infer_sps:.3f}")


if __name__ == "__main__":
    main()
