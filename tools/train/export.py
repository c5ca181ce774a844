"""Exports the trained digits model to ONNX (opset 17, fp32) with its tokenizer, manifest and references.

Usage: /usr/bin/python3 tools/train/export.py [--checkpoint .cache/train/ckpt.pt]
Writes models/digits/{text_encoder,denoiser}.onnx, tokenizer.json, reference.json and samples.png.
`deno task test` checks the ONNX files against reference.json (PyTorch outputs) to 1e-4.
"""

import argparse
import json
import os

import numpy as np
import onnx
import torch

from common import MODEL_DIR, TEXT_LEN, WORDS, Model, sample, tokenize, tokenizer_json

OPSET = 17


def lowbias32(x):
    m, u = np.uint64(0xFFFFFFFF), np.uint64
    x = np.asarray(x, dtype=np.uint64) & m
    x ^= x >> u(16)
    x = (x * u(0x7FEB352D)) & m
    x ^= x >> u(15)
    x = (x * u(0x846CA68B)) & m
    x ^= x >> u(16)
    return x


def gaussian_noise(seed, count, stream=0):
    """The server's seeded noise (sampler/rng.ts), bit-for-bit up to float rounding."""
    j = np.arange((count + 1) // 2, dtype=np.uint64)
    two, one = np.uint64(2), np.uint64(1)
    base = lowbias32(lowbias32(seed) ^ np.uint64(stream))
    u1 = (lowbias32(base ^ (two * j)).astype(np.float64) + 0.5) / 4294967296.0
    u2 = (lowbias32(base ^ (two * j + one)).astype(np.float64) + 0.5) / 4294967296.0
    r = np.sqrt(-2 * np.log(u1))
    out = np.empty(2 * len(j))
    out[0::2] = r * np.cos(2 * np.pi * u2)
    out[1::2] = r * np.sin(2 * np.pi * u2)
    return out[:count].astype(np.float32)


class DenoiserExport(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        self.d = d

    def forward(self, x, t, dt, text_states):
        return self.d(x, t, dt, text_states)


def export(model):
    te = os.path.join(MODEL_DIR, "text_encoder.onnx")
    dn = os.path.join(MODEL_DIR, "denoiser.onnx")
    ids = torch.tensor([tokenize("a thick seven"), tokenize("")])
    torch.onnx.export(model.text, (ids,), te, input_names=["input_ids"], output_names=["text_states"],
                      dynamic_axes={"input_ids": {0: "batch"}, "text_states": {0: "batch"}}, opset_version=OPSET)
    text = model.text(ids)
    x = torch.randn(2, 1, 28, 28)
    t = torch.tensor([0.0, 0.5])
    dt = torch.tensor([0.25, 0.5])
    torch.onnx.export(DenoiserExport(model.denoiser), (x, t, dt, text), dn,
                      input_names=["x", "t", "dt", "text_states"], output_names=["velocity"],
                      dynamic_axes={k: {0: "batch"} for k in ["x", "t", "dt", "text_states", "velocity"]},
                      opset_version=OPSET)
    for f in (te, dn):
        onnx.checker.check_model(onnx.load(f))
        ops = {n.op_type for n in onnx.load(f).graph.node}
        assert not ops & {"Attention", "MultiHeadAttention"}, ops


@torch.no_grad()
def references(model):
    """PyTorch outputs the Deno test reproduces: one denoiser call and a full 4-step sample."""
    prompt, seed, steps = "a thick seven slanted right", 1, 4
    ids = torch.tensor([tokenize(prompt)])
    text = model.text(ids)
    x0 = torch.from_numpy(gaussian_noise(seed, 28 * 28)).reshape(1, 1, 28, 28)
    v = model.denoiser(x0, torch.tensor([0.0]), torch.tensor([1.0 / steps]), text)
    x = x0.clone()
    for i in range(steps):
        x = x + (1.0 / steps) * model.denoiser(x, torch.tensor([i / steps]), torch.tensor([1.0 / steps]), text)
    ref = {
        "prompt": prompt, "seed": seed, "steps": steps, "input_ids": ids[0].tolist(),
        "text_states_head": text[0, :2].flatten().tolist(),
        "velocity_first_step": v.flatten().tolist(),
        "sample": x.flatten().tolist(),
    }
    with open(os.path.join(MODEL_DIR, "reference.json"), "w") as f:
        json.dump(ref, f)


@torch.no_grad()
def grid(model):
    """Sample grid: rows are prompts for digits 0-9, bare and with attributes; columns 1, 2, 4 steps."""
    from PIL import Image
    prompts = []
    for d in range(10):
        prompts += [WORDS[d], f"a thick {WORDS[d]} slanted right", f"a small thin {d} slanted left"]
    ids = torch.tensor([tokenize(p) for p in prompts])
    cols = [sample(model, ids, s, seed=2024) for s in (1, 2, 4)]
    rows = []
    for r in range(len(prompts)):
        rows.append(torch.cat([c[r, 0] for c in cols], 1))
    g = torch.cat(rows, 0)
    arr = ((g + 1) * 127.5).round().clamp(0, 255).byte().numpy()
    Image.fromarray(arr).resize((arr.shape[1] * 2, arr.shape[0] * 2), Image.NEAREST).save(
        os.path.join(MODEL_DIR, "samples.png"))
    with open(os.path.join(MODEL_DIR, "samples.txt"), "w") as f:
        f.write("samples.png rows (top to bottom), columns 1, 2, 4 steps, seed 2024:\n")
        f.write("\n".join(prompts) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", default=os.path.join(os.path.dirname(MODEL_DIR), "..", ".cache", "train",
                                                         "ckpt.pt"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    model = Model()
    model.load_state_dict(torch.load(args.checkpoint)["ema"])
    model.eval()
    os.makedirs(MODEL_DIR, exist_ok=True)
    with open(os.path.join(MODEL_DIR, "tokenizer.json"), "w") as f:
        json.dump(tokenizer_json(), f, indent=1)
    export(model)
    references(model)
    grid(model)
    print("exported to", MODEL_DIR)


if __name__ == "__main__":
    main()
