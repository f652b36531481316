"""Writes tests/fixtures/golden_model/cnn6.safetensors: PyTorch reference values for
tests/it/model_parity.rs (never needed by CI; run once, commit the small output).

Usage:  $(scripts/torch-venv.sh --python) scripts/golden_model.py
        $(scripts/torch-venv.sh --python) scripts/golden_model.py --check-load FILE [--prefix P]
          (loads a state dict written by the Rust `Cnn6::save_state_dict` into the PyTorch model
           with strict=True and prints eval logits on the golden input)

The full state dict is 17 MB, so the three large conv weights are not stored: they are
regenerated on both sides by a counter-based splitmix64 generator (`splitmix_uniform` below,
mirrored in the Rust test); each regenerated tensor's float64 sum and sum of squares are stored so
the test proves it rebuilt the same weights. For their (equally large) gradients the file keeps the
first two output channels in full, the L2 norm of every output channel and 4 projections onto
generated vectors. Everything else is stored in full.

Keys (f32 unless noted):
  gen.<name>          f64 [3]  (seed, offset, scale): value = offset + scale * U[-1,1) (in f32)
  gen_check.<name>    f64 [2]  sum and sum of squares of the generated tensor
  state.<name>        the other state-dict tensors (num_batches_tracked as i64 scalars)
  input               [3, 1, 64, 63]
  loss_weights        [3, 4]   loss = sum(train_logits * loss_weights)
  eval.embedding / eval.logits, train.embedding / train.logits
  after.<bn buffer>   running_mean / running_var / num_batches_tracked after the train forward
  grad.input, grad.<name>       full gradients (all but the three big conv weights)
  grad_rows.<name>    gradient of output channels 0..2, [2, C, 5, 5]
  grad_norms.<name>   per-output-channel L2 norm of the gradient, [O]
  grad_proj.<name>    f64 [4]  sum(grad * gen(seed_k)) for seeds in proj_seeds.<name> (f64 [4])
"""

import argparse
import copy
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cnn6_torch import Cnn6  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "golden_model", "cnn6.safetensors")
BIG = ("conv_block2.conv1.weight", "conv_block3.conv1.weight", "conv_block4.conv1.weight")
BATCH, MELS, FRAMES, CLASSES = 3, 64, 63, 4
MARGIN = 2e-5  # smallest |pre-ReLU value| allowed in the train-mode golden (see widen_relu_margins)


def splitmix_uniform(seed: int, n: int) -> np.ndarray:
    """n float32 values in [-1, 1): splitmix64 of seed + i * golden (i = 1..n), top 24 bits."""
    with np.errstate(over="ignore"):
        i = np.arange(1, n + 1, dtype=np.uint64)
        z = np.uint64(seed) + i * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(40)).astype(np.float32) / np.float32(2**24)
    return np.float32(2.0) * u - np.float32(1.0)


def generated(seed: int, offset: float, scale: float, shape) -> torch.Tensor:
    g = splitmix_uniform(seed, int(np.prod(shape)))
    return torch.from_numpy(np.float32(offset) + np.float32(scale) * g).reshape(shape)


def f64(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def build_model():
    """Model with deterministic, non-trivial weights; returns (model, gen params by name)."""
    model = Cnn6(num_classes=CLASSES)
    gens = {}
    for k, (name, t) in enumerate(model.state_dict().items()):
        if name.endswith("num_batches_tracked"):
            t.fill_(7)
            continue
        if name.endswith("conv1.weight"):
            o, c, kh, kw = t.shape
            offset, scale = 0.0, float(np.float32(math.sqrt(6.0 / ((c + o) * kh * kw))))
        elif name.endswith("bn1.weight"):
            offset, scale = 1.0, 0.25
        elif name.endswith("running_var"):
            offset, scale = 1.0, 0.5
        elif name.startswith("linear"):
            offset, scale = 0.0, float(np.float32(1.0 / math.sqrt(512)))
        else:  # bn bias, running_mean
            offset, scale = 0.0, 0.1
        seed = 1000 + k
        t.copy_(generated(seed, offset, scale, t.shape))
        gens[name] = (seed, offset, scale)
    return model, gens


def widen_relu_margins(model, x, eps=MARGIN):
    """Train-mode gradients jump where a pre-ReLU value crosses 0, and f32 implementations differ
    by ~1e-6, so a value within that of 0 makes the golden ill-conditioned (it happened: 7e-8 in
    block 3). Working in float64, block by block, shift the BN bias of every channel with a
    pre-ReLU value (inside the pooled area) closer than `eps` to 0 by 0.01 steps until none is.
    Changes only `bn1.bias` of those channels; prints what it changed."""
    ref = copy.deepcopy(model).double().train()
    h = x.double()
    with torch.no_grad():
        for k, block in enumerate([ref.conv_block1, ref.conv_block2, ref.conv_block3, ref.conv_block4]):
            y = block.conv1(h)
            mean = y.mean(dim=(0, 2, 3), keepdim=True)
            var = y.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
            xhat = (y - mean) / torch.sqrt(var + block.bn1.eps)
            xhat = xhat[:, :, : y.shape[2] // 2 * 2, : y.shape[3] // 2 * 2]
            gamma = block.bn1.weight.view(1, -1, 1, 1)
            bias = getattr(model, f"conv_block{k + 1}").bn1.bias
            for c in range(y.shape[1]):
                steps = 0
                while (gamma[0, c] * xhat[:, c] + bias[c].double()).abs().min() < eps:
                    bias[c] += 0.01
                    steps += 1
                if steps:
                    print(f"conv_block{k + 1}.bn1.bias[{c}] shifted by {steps} x 0.01")
            block.bn1.bias.copy_(bias.double())
            h = F.avg_pool2d(F.relu(gamma * xhat + block.bn1.bias.view(1, -1, 1, 1)), 2)
        # The max over mel routes the gradient to one position: require a clear winner.
        t = h.mean(dim=3).sort(dim=2, descending=True).values
        gap = (t[:, :, 0] - t[:, :, 1]).min().item()
        assert gap > eps, f"max over mel nearly tied ({gap}); pick another input seed"


def write_goldens():
    torch.manual_seed(0)
    model, gens = build_model()
    out = {}
    for name, t in model.state_dict().items():
        if name in BIG:
            seed, offset, scale = gens[name]
            out[f"gen.{name}"] = f64([seed, offset, scale])
            t64 = t.double()
            out[f"gen_check.{name}"] = f64([t64.sum().item(), (t64 * t64).sum().item()])
    x = generated(7, 0.0, 1.0, (BATCH, 1, MELS, FRAMES))
    loss_w = generated(8, 0.0, 1.0, (BATCH, CLASSES))
    with torch.no_grad():
        widen_relu_margins(model, x)
    for name, t in model.state_dict().items():
        if name not in BIG:
            out[f"state.{name}"] = t.clone()
    out["input"], out["loss_weights"] = x, loss_w

    model.eval()
    with torch.no_grad():
        out["eval.embedding"] = model.embed(x)
        out["eval.logits"] = model(x)

    model.train()
    xg = x.clone().requires_grad_(True)
    emb = model.embed(xg)
    logits = model.linear(emb)
    (logits * loss_w).sum().backward()
    out["train.embedding"], out["train.logits"] = emb.detach(), logits.detach()
    for name, t in model.state_dict().items():
        if ".bn1.running" in name or name.endswith("num_batches_tracked"):
            out[f"after.{name}"] = t.clone()
    out["grad.input"] = xg.grad
    for k, (name, p) in enumerate(model.named_parameters()):
        g = p.grad
        if name not in BIG:
            out[f"grad.{name}"] = g.clone()
            continue
        out[f"grad_rows.{name}"] = g[:2].clone()
        out[f"grad_norms.{name}"] = g.flatten(1).norm(dim=1)
        seeds = [5000 + 10 * k + j for j in range(4)]
        out[f"proj_seeds.{name}"] = f64(seeds)
        g64 = g.double().flatten()
        out[f"grad_proj.{name}"] = f64(
            [(g64 * generated(s, 0.0, 1.0, g64.shape).double()).sum().item() for s in seeds]
        )
    out = {k: v.contiguous() for k, v in out.items()}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    tmp = OUT + ".tmp"
    save_file(out, tmp)
    os.replace(tmp, OUT)
    print(f"wrote {OUT}: {len(out)} tensors, {os.path.getsize(OUT)} bytes")


def check_load(path: str, prefix: str):
    sd = {k[len(prefix):]: v for k, v in load_file(path).items() if k.startswith(prefix)}
    model = Cnn6(num_classes=sd["linear.weight"].shape[0])
    model.load_state_dict(sd, strict=True)
    model.eval()
    x = generated(7, 0.0, 1.0, (BATCH, 1, MELS, FRAMES))
    with torch.no_grad():
        print("loaded with strict=True; eval logits on the golden input:")
        print(model(x))
    print({k: (str(v.dtype), tuple(v.shape)) for k, v in sd.items() if "num_batches" in k})


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--check-load")
    ap.add_argument("--prefix", default="")
    args = ap.parse_args()
    if args.check_load:
        check_load(args.check_load, args.prefix)
    else:
        write_goldens()
