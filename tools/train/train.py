"""Trains the digits text-to-image model: shortcut models (Frans et al. 2024) plus model guidance (Tang et al. 2025).

Usage: /usr/bin/python3 tools/train/train.py [--steps N] [--resume] [--mg W] [--mg-from STEP]
Checkpoints go to .cache/train/ckpt.pt every 25 steps; the log is appended to models/digits/training_log.txt.
"""

import os

# torch parallelises with OpenMP; OpenBLAS threads on top of that only spin against it, and spinning
# OpenMP workers stall whenever the machine has other work, so wait passively.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from common import (CACHE, MODEL_DIR, PAD_ID, TEXT_LEN, Model, attribute_thresholds, attributes, caption,
                    fetch_mnist, sample, split, tokenize)

RUN_DIR = os.path.join(os.path.dirname(CACHE), "train")
CKPT = os.path.join(RUN_DIR, "ckpt.pt")
LOG = os.path.join(MODEL_DIR, "training_log.txt")
SEED = 1234
BATCH = 128
SC_BATCH = 32  # rows of each batch trained on the self-consistency target
MAX_LEVEL = 6  # shortcut step sizes 1, 1/2, ..., 1/64 (and dt = 0 for plain flow matching)
P_UNCOND = 0.1
# Model guidance (Tang et al. 2025, "Diffusion Models without Classifier-free Guidance"): from --mg-from on, the
# flow-matching target of captioned rows becomes v + w·sg(s(x,t,0,c) − s(x,t,0,∅)), whose fixed point is the
# classifier-free-guided velocity of scale 1/(1 − w). Shortcut self-consistency then carries it to 1, 2, 4 steps.
MG_RAMP = 50  # steps over which w rises from 0 to --mg


def log(msg):
    line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
    print(line, flush=True)
    with open(LOG, "a") as f:
        f.write(line + "\n")


def lr_at(step, total, peak=8e-4, warmup=50, floor=5e-5):
    if step < warmup:
        return peak * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    return floor + 0.5 * (peak - floor) * (1 + np.cos(np.pi * min(1.0, p)))


def batch(step, images, labels, attrs):
    """The batch for a step depends only on (SEED, step), so a resumed run sees the same data."""
    rng = np.random.default_rng([SEED, step])
    idx = rng.integers(0, len(images), BATCH)
    ids = []
    for i in idx:
        if rng.random() < P_UNCOND:
            ids.append([PAD_ID] * TEXT_LEN)
        else:
            ids.append(tokenize(caption(rng, int(labels[i]), *(int(a[i]) for a in attrs))))
    x1 = torch.from_numpy(images[idx] * 2 - 1).unsqueeze(1)
    g = torch.Generator().manual_seed(SEED * 1_000_003 + step)
    x0 = torch.randn(x1.shape, generator=g)
    t = torch.rand(BATCH, generator=g)
    dt = torch.zeros(BATCH)
    # Self-consistency rows: a step of 2^-k must equal two half steps (targets made below).
    k = torch.randint(0, MAX_LEVEL + 1, (SC_BATCH,), generator=g)
    big = 2.0 ** (-k.float())
    half = big / 2
    t[-SC_BATCH:] = half * torch.floor(torch.rand(SC_BATCH, generator=g) * (2 ** (k + 1) - 1).float())
    dt[-SC_BATCH:] = big
    return torch.tensor(ids), x0, x1, t, dt, half


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--max-minutes", type=float, default=89.5)
    ap.add_argument("--mg", type=float, default=0.6, help="model-guidance weight w (0 = off)")
    ap.add_argument("--mg-from", type=int, default=560, help="first step trained with model guidance")
    ap.add_argument("--ema", type=float, default=0.998, help="EMA decay before --mg-from")
    ap.add_argument("--mg-ema", type=float, default=0.99, help="EMA decay from --mg-from on")
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    os.makedirs(RUN_DIR, exist_ok=True)
    os.makedirs(MODEL_DIR, exist_ok=True)

    images, labels = fetch_mnist()
    train_idx, _ = split(len(images))
    images, labels = images[train_idx], labels[train_idx]
    th = attribute_thresholds(images, labels)
    with open(os.path.join(MODEL_DIR, "attributes.json"), "w") as f:
        json.dump(th, f, indent=2)
    attrs = attributes(images, labels, th)

    model = Model()
    ema = copy.deepcopy(model).requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=8e-4, weight_decay=0.0)
    step, elapsed = 0, 0.0
    if args.resume and os.path.exists(CKPT):
        ck = torch.load(CKPT)
        model.load_state_dict(ck["model"])
        ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["opt"])
        step, elapsed = ck["step"], ck["elapsed"]
        log(f"resumed at step {step} ({elapsed / 60:.1f} min trained)")
    else:
        if os.path.exists(LOG):
            os.remove(LOG)
        n = sum(p.numel() for p in model.parameters())
        log(f"start: {len(images)} training images, {n} parameters, batch {BATCH}, {args.steps} steps")

    def save():
        tmp = CKPT + ".tmp"
        torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                    "step": step, "elapsed": elapsed}, tmp)
        os.replace(tmp, CKPT)

    t_last = time.time()
    losses = []
    while step < args.steps and elapsed / 60 < args.max_minutes:
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args.steps)
        ids, x0, x1, t, dt, half = batch(step, images, labels, attrs)
        xt = (1 - t[:, None, None, None]) * x0 + t[:, None, None, None] * x1
        target = x1 - x0
        text = model.text(ids)
        with torch.no_grad():
            s = slice(BATCH - SC_BATCH, BATCH)
            # The smallest half step (1/128) is queried as the instantaneous flow (dt = 0).
            q = torch.where(half < 2.0 ** -MAX_LEVEL, torch.zeros_like(half), half)
            ctx = text[s].detach()
            v1 = model.denoiser(xt[s], t[s], q, ctx)
            x_mid = xt[s] + half[:, None, None, None] * v1
            v2 = model.denoiser(x_mid, t[s] + half, q, ctx)
            target[s] = (v1 + v2) / 2
        pred = model.denoiser(xt, t, dt, text)
        w = args.mg * min(1.0, (step - args.mg_from + 1) / MG_RAMP) if step >= args.mg_from else 0.0
        if w > 0:
            with torch.no_grad():
                fm = slice(0, BATCH - SC_BATCH)
                captioned = (ids[fm] != PAD_ID).any(dim=1)[:, None, None, None]
                empty = model.text(torch.full((1, TEXT_LEN), PAD_ID)).expand(BATCH - SC_BATCH, -1, -1)
                uncond = model.denoiser(xt[fm], t[fm], dt[fm], empty)
                target[fm] += torch.where(captioned, w * (pred[fm].detach() - uncond), torch.zeros_like(uncond))
        loss = F.mse_loss(pred, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        decay = min(args.mg_ema if step >= args.mg_from else args.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(decay).add_(pm, alpha=1 - decay)
        step += 1
        now = time.time()
        elapsed += now - t_last
        t_last = now
        losses.append(loss.item())
        if step % 25 == 0 or step == args.steps:
            log(f"step {step} loss {np.mean(losses):.4f} lr {lr_at(step - 1, args.steps):.2e} mg {w:.2f} "
                f"elapsed {elapsed / 60:.1f} min")
            losses = []
            save()
        if step % 200 == 0:
            preview(ema, step)
    save()
    log(f"done at step {step} after {elapsed / 60:.1f} min")


def preview(model, step):
    """Writes a quick 10x3 grid (digits x 1/2/4 steps) to .cache/train for watching progress."""
    from PIL import Image  # noqa: optional, only for watching training
    ids = torch.tensor([tokenize(str(d)) for d in range(10)])
    cols = [sample(model, ids, s, seed=7) for s in (1, 2, 4)]
    grid = torch.cat([torch.cat(list(c[:, 0]), 0) for c in cols], 1)
    arr = ((grid + 1) * 127.5).round().clamp(0, 255).byte().numpy()
    Image.fromarray(arr).resize((arr.shape[1] * 3, arr.shape[0] * 3), Image.NEAREST).save(
        os.path.join(RUN_DIR, f"preview_{step:05d}.png"))


if __name__ == "__main__":
    main()
