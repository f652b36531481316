#!/usr/bin/env python3
"""Writes the PyTorch goldens for the trainer's numerics (tests/it/numerics_parity.rs).

Run with the throwaway torch venv (never needed by CI):

    $(scripts/torch-venv.sh --python) scripts/golden_numerics.py

Outputs (small, committed) under tests/fixtures/golden_numerics/:
  adam.safetensors        torch.optim.Adam (coupled L2 weight decay), lr change, a missing grad
  schedule.safetensors    CosineAnnealingLR(T_max=40, eta_min=1e-6) lrs for 400 epochs (f64)
  losses.safetensors      class weights, weighted CE, SupCon (labels / no labels / singleton
                          class), hybrid SupCon+CE, multi-head masked SupCon: values and grads
  transforms.safetensors  min-max (per sample / per batch) + standardise; SpecAugment band
                          geometry from fixed uniforms (torchaudio 2.11 and 0.9.1 formulas)

The SupCon / hybrid references below restate the official losses.py (scl_icbhi2017) op by op:
two L2-normalised views concatenated view-major ([view1; view2]), similarities / temperature,
row max (detached) subtracted, self-contrast removed from both the positives and the
denominator, mean of log-probabilities over positives, mean over all 2B anchors, no
base-temperature factor. Without labels the positive mask is the identity (each view's only
positive is its twin).
"""
import json
import math
import os

import torch
import torch.nn.functional as F
import torchaudio
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "golden_numerics")
TAU = 0.06
ICBHI_COUNTS = [2063, 1215, 501, 363]


def official_class_weights(counts):
    w = torch.tensor(counts, dtype=torch.float32)
    w = w / w.sum()
    w = 1.0 / w
    return w / w.sum()


def supcon_reference(p1, p2, labels, tau):
    """SupCon as in the official losses.py (restated)."""
    z1, z2 = F.normalize(p1), F.normalize(p2)
    bsz = z1.shape[0]
    if labels is None:
        pos = torch.eye(bsz, dtype=torch.float32)
    else:
        col = labels.contiguous().view(-1, 1)
        pos = torch.eq(col, col.T).float()
    z = torch.cat([z1, z2], dim=0)
    sim = torch.matmul(z, z.T) / tau
    row_max, _ = torch.max(sim, dim=1, keepdim=True)
    logits = sim - row_max.detach()
    pos = pos.repeat(2, 2)
    not_self = torch.scatter(torch.ones_like(pos), 1, torch.arange(2 * bsz).view(-1, 1), 0)
    pos = pos * not_self
    exp_logits = torch.exp(logits) * not_self
    log_prob = logits - torch.log(exp_logits.sum(1, keepdim=True))
    mean_log_prob_pos = (pos * log_prob).sum(1) / pos.sum(1)
    return (-mean_log_prob_pos).view(2, bsz).mean()


def adam_golden(out):
    torch.manual_seed(1)
    p0 = torch.randn(3, 4)
    p1 = torch.randn(5)
    steps = 6
    g0 = torch.randn(steps, 3, 4)
    g1 = torch.randn(steps, 5) * 10.0
    # p1 has no gradient at step index 2 (PyTorch skips it: no moment update, no step count).
    has_g1 = torch.tensor([1, 1, 0, 1, 1, 1], dtype=torch.uint8)
    lrs = torch.tensor([1e-3, 1e-3, 1e-3, 5e-4, 5e-4, 2e-2], dtype=torch.float64)
    for wd, tag in [(0.0, "wd0"), (0.05, "wd005")]:
        a = p0.clone().requires_grad_(True)
        b = p1.clone().requires_grad_(True)
        opt = torch.optim.Adam([a, b], lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd)
        after0, after1 = [], []
        for s in range(steps):
            for group in opt.param_groups:
                group["lr"] = float(lrs[s])
            a.grad = g0[s].clone()
            b.grad = g1[s].clone() if has_g1[s] else None
            opt.step()
            after0.append(a.detach().clone())
            after1.append(b.detach().clone())
        out[f"adam.{tag}.p0_after"] = torch.stack(after0)
        out[f"adam.{tag}.p1_after"] = torch.stack(after1)
    out["adam.p0_init"] = p0
    out["adam.p1_init"] = p1
    out["adam.g0"] = g0
    out["adam.g1"] = g1
    out["adam.has_g1"] = has_g1
    out["adam.lrs"] = lrs


def schedule_golden(out):
    for base, tag in [(1e-3, "lr1e-3"), (1e-4, "lr1e-4")]:
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.Adam([p], lr=base)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=40, eta_min=1e-6)
        lrs = [opt.param_groups[0]["lr"]]
        for _ in range(400):
            opt.step()
            sched.step()
            lrs.append(opt.param_groups[0]["lr"])
        out[f"schedule.{tag}"] = torch.tensor(lrs, dtype=torch.float64)
        closed = [1e-6 + (base - 1e-6) * (1 + math.cos(math.pi * e / 40)) / 2 for e in range(401)]
        diff = max(abs(x - y) / y for x, y in zip(lrs, closed))
        print(f"schedule {tag}: max rel diff recursive vs closed form = {diff:.3e}")


def losses_golden(out):
    w = official_class_weights(ICBHI_COUNTS)
    out["class_weights.icbhi"] = w

    torch.manual_seed(2)
    logits = torch.randn(10, 4) * 2.0
    target = torch.tensor([0, 1, 2, 3, 0, 0, 1, 3, 2, 0], dtype=torch.int64)
    out["ce.logits"] = logits
    out["ce.target"] = target
    for weight, tag in [(w, "weighted"), (None, "unweighted")]:
        x = logits.clone().requires_grad_(True)
        loss = torch.nn.CrossEntropyLoss(weight=weight)(x, target)
        loss.backward()
        out[f"ce.{tag}.loss"] = loss.detach().reshape(1)
        out[f"ce.{tag}.grad"] = x.grad

    bsz, dim = 8, 16
    p1 = torch.randn(bsz, dim)
    p2 = p1 + 1.5 * torch.randn(bsz, dim)
    out["supcon.p1"] = p1
    out["supcon.p2"] = p2
    cases = {
        # classes 2 and 3 have a single member: their anchors' only positive is the twin view.
        "labels": torch.tensor([0, 1, 0, 2, 1, 0, 3, 1], dtype=torch.int64),
        "distinct": torch.arange(bsz, dtype=torch.int64),
        "nolabels": None,
    }
    for tag, labels in cases.items():
        a = p1.clone().requires_grad_(True)
        b = p2.clone().requires_grad_(True)
        loss = supcon_reference(a, b, labels, TAU)
        loss.backward()
        if labels is not None:
            out[f"supcon.{tag}.labels"] = labels
        out[f"supcon.{tag}.loss"] = loss.detach().reshape(1)
        out[f"supcon.{tag}.grad1"] = a.grad
        out[f"supcon.{tag}.grad2"] = b.grad
        print(f"supcon {tag}: {loss.item():.6f} (finite: {math.isfinite(loss.item())})")

    # Hybrid (official SupConCELoss): alpha * SupCon(proj, target) + (1 - alpha) * weighted CE
    # over the concatenated classifier logits of both views with the target repeated.
    labels = cases["labels"] % 4
    pred1 = torch.randn(bsz, 4)
    pred2 = torch.randn(bsz, 4)
    out["hybrid.pred1"] = pred1
    out["hybrid.pred2"] = pred2
    out["hybrid.target"] = labels
    alpha = 0.5
    a, b = p1.clone().requires_grad_(True), p2.clone().requires_grad_(True)
    c, d = pred1.clone().requires_grad_(True), pred2.clone().requires_grad_(True)
    ce = torch.nn.CrossEntropyLoss(weight=w)
    loss = alpha * supcon_reference(a, b, labels, TAU) + (1 - alpha) * ce(
        torch.cat([c, d], 0), torch.cat([labels, labels], 0)
    )
    loss.backward()
    out["hybrid.loss"] = loss.detach().reshape(1)
    out["hybrid.grad_p1"] = a.grad
    out["hybrid.grad_p2"] = b.grad
    out["hybrid.grad_pred1"] = c.grad
    out["hybrid.grad_pred2"] = d.grad

    # Multi-head: sum_i lambda_i * SupCon_i; rows whose label is missing (valid = 0) are excluded
    # as anchors and as contrast members, i.e. the head's loss is the official SupCon on the
    # subset of valid rows. Head 2 has no labels (SimCLR).
    heads = [
        (torch.tensor([0, 1, 0, 1, 1, 0, 0, 1]), torch.ones(bsz, dtype=torch.uint8), 1.0),
        (torch.tensor([2, 0, 1, 2, 0, 0, 1, 2]), torch.tensor([1, 0, 1, 1, 0, 1, 1, 1], dtype=torch.uint8), 0.5),
        (None, torch.tensor([1, 1, 0, 1, 1, 1, 0, 1], dtype=torch.uint8), 0.25),
    ]
    total = 0.0
    for i, (labels_i, valid_i, lam) in enumerate(heads):
        q1 = torch.randn(bsz, dim)
        q2 = q1 + 1.5 * torch.randn(bsz, dim)
        a, b = q1.clone().requires_grad_(True), q2.clone().requires_grad_(True)
        keep = valid_i.bool()
        sub_labels = None if labels_i is None else labels_i[keep]
        head_loss = supcon_reference(a[keep], b[keep], sub_labels, TAU)
        head_loss.backward()
        total += lam * head_loss.item()
        out[f"multi.h{i}.p1"] = q1
        out[f"multi.h{i}.p2"] = q2
        if labels_i is not None:
            out[f"multi.h{i}.labels"] = labels_i
        out[f"multi.h{i}.valid"] = valid_i
        out[f"multi.h{i}.lambda"] = torch.tensor([lam], dtype=torch.float64)
        out[f"multi.h{i}.loss"] = head_loss.detach().reshape(1)
        out[f"multi.h{i}.grad1"] = a.grad * lam
        out[f"multi.h{i}.grad2"] = b.grad * lam
    out["multi.total"] = torch.tensor([total], dtype=torch.float32)


def mask_bands_torchaudio(uniforms_width, uniforms_start, size, param, shape):
    """Runs torchaudio 2.11's own mask_along_axis_iid with torch.rand replaced by fixed draws."""
    queue = [uniforms_width.clone(), uniforms_start.clone()]
    real_rand = torch.rand

    def fake_rand(*args, **kwargs):
        return queue.pop(0).reshape(args[0]).to(kwargs.get("dtype", torch.float32))

    torch.rand = fake_rand
    try:
        ones = torch.ones(shape)
        axis = 2 if shape[2] == size else 3
        masked = torchaudio.functional.mask_along_axis_iid(ones, param, 0.0, axis)
    finally:
        torch.rand = real_rand
    return masked


def mask_bands_v091(u_width, u_start, size, param):
    """torchaudio 0.9.1 (the official pinned version): continuous band [s, s + v), no flooring."""
    value = u_width * param
    start = u_start * (size - value)
    end = start + value
    idx = torch.arange(0, size, dtype=torch.float32)
    return ~((idx[None, :] >= start[:, None]) & (idx[None, :] < end[:, None]))


def transforms_golden(out):
    torch.manual_seed(3)
    x = torch.rand(3, 1, 6, 10) * 120.0 - 100.0
    x[1] = x[1] * 0.3 + 5.0  # a sample with a different range
    out["tf.x"] = x
    flat = x.reshape(x.shape[0], -1)
    mn = flat.min(dim=1).values.view(-1, 1, 1, 1)
    mx = flat.max(dim=1).values.view(-1, 1, 1, 1)
    per_sample = (x - mn) / (mx - mn)
    per_batch = (x - x.min()) / (x.max() - x.min())  # the official Normalize
    out["tf.per_sample"] = per_sample
    out["tf.per_batch"] = per_batch
    out["tf.per_sample_std"] = (per_sample - 0.3690) / 0.0255
    out["tf.per_batch_std"] = (per_batch - 0.3690) / 0.0255
    out["tf.per_sample_mean"] = per_sample.mean().reshape(1).double()
    out["tf.per_sample_pstd"] = per_sample.std(unbiased=False).reshape(1).double()

    bsz, mels, frames = 6, 64, 251
    # Fixed uniforms, including edge cases: u -> 1 (widest band / latest start), u = 0.
    uw = torch.tensor([0.0, 0.99999994, 0.5, 0.73, 0.999, 0.05], dtype=torch.float32)
    us = torch.tensor([0.3, 0.99999994, 0.0, 0.61, 0.5, 0.999], dtype=torch.float32)
    out["spec.u_width"] = uw
    out["spec.u_start"] = us
    for axis_name, size, param in [("freq", mels, 20), ("time", frames, 40)]:
        masked = mask_bands_torchaudio(uw, us, size, param, (bsz, 1, mels, frames))
        if axis_name == "freq":
            keep = masked[:, 0, :, :].amax(dim=2)
        else:
            keep = masked[:, 0, :, :].amax(dim=1)
        out[f"spec.{axis_name}.keep_floor"] = keep
        out[f"spec.{axis_name}.keep_v091"] = mask_bands_v091(uw, us, size, param).float()


def main():
    os.makedirs(OUT, exist_ok=True)
    groups = {
        "adam": adam_golden,
        "schedule": schedule_golden,
        "losses": losses_golden,
        "transforms": transforms_golden,
    }
    meta = {"torch": torch.__version__, "torchaudio": torchaudio.__version__}
    for name, fill in groups.items():
        out = {}
        fill(out)
        out = {k: v.contiguous() for k, v in out.items()}
        path = os.path.join(OUT, f"{name}.safetensors")
        tmp = path + ".tmp"
        save_file(out, tmp, metadata=meta)
        os.replace(tmp, path)
        print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path)} bytes, {len(out)} tensors)")
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
