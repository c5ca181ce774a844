"""PyTorch reference samples of the shipped digits model with GAG and PLADIS, from the training code's modules.

The training checkpoint is not shipped, so the weights are read back from models/digits/*.onnx into
`common.Model`; the unguided sample must reproduce reference.json (1e-5) before anything is written. The
cross-attention layers (the server's default `layers: "cross"`) are then guided with the rule of README's
"What GAG does", written here in PyTorch (float64) with the exact sort-based 1.5-entmax of Peters et al. 2019,
independently of the TypeScript and ONNX code under test:

    o_d = softmax(S)V, o_s = entmax15(S)V, D = o_s - o_d (per token and head, over the head dimension),
    D_par = (<D, o_s>/|o_s|^2) o_s, g = D_par + zeta (D - D_par), o = o_d + a D + b min(1, eta/|g|) g
    (none a=b=0, PLADIS a=lambda b=0, GAG a=1 b=w).

Writes tests/fixtures/digits_guided_reference.json, which tests/models/digits_guided_reference_test.ts compares
the patched ONNX model against. Run with the python3 that has torch and onnx:

    python3 tools/train/guided_reference.py
"""

import json
import os
import re
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import MODEL_DIR, ROOT, Attention, Model, tokenize  # noqa: E402
from export import gaussian_noise  # noqa: E402

OUT = os.path.join(ROOT, "tests", "fixtures", "digits_guided_reference.json")
PROMPT, SEED, STEPS = "a thick seven slanted right", 1, 4
# Each case: the request's guidance and the rule's scalars. The clip binds in the GAG cases with a small eta.
CASES = [
    {"label": "none", "guidance": {"mode": "none"}, "a": 0.0, "b": 0.0, "eta": 15.0, "zeta": 0.0},
    {"label": "pladis 1.25", "guidance": {"mode": "pladis", "scale": 1.25}, "a": 1.25, "b": 0.0, "eta": 15.0,
     "zeta": 0.0},
    {"label": "pladis 3", "guidance": {"mode": "pladis", "scale": 3}, "a": 3.0, "b": 0.0, "eta": 15.0, "zeta": 0.0},
    {"label": "gag w=2 eta=15 zeta=0", "guidance": {"mode": "gag", "scale": 2, "eta": 15, "zeta": 0},
     "a": 1.0, "b": 2.0, "eta": 15.0, "zeta": 0.0},
    {"label": "gag w=4 eta=0.5 zeta=0.5 (clipped)",
     "guidance": {"mode": "gag", "scale": 4, "eta": 0.5, "zeta": 0.5}, "a": 1.0, "b": 4.0, "eta": 0.5, "zeta": 0.5},
]


def state_dict_from_onnx():
    """common.Model's state dict from the exported ONNX files (named initializers, plus the anonymous
    MatMul / GroupNorm-affine ones, named after the node that reads them)."""
    sd = {}
    for file, prefix in (("text_encoder.onnx", "text."), ("denoiser.onnx", "denoiser.")):
        graph = onnx.load(os.path.join(MODEL_DIR, file)).graph
        readers = {}
        for node in graph.node:
            for name in node.input:
                readers.setdefault(name, node)
        for init in graph.initializer:
            value = torch.from_numpy(numpy_helper.to_array(init).copy())
            if not init.name.startswith("onnx::"):
                key = init.name[2:] if init.name.startswith("d.") else init.name
                sd[prefix + key] = value
                continue
            node = readers[init.name]
            path = node.name.strip("/").split("/")[:-1]
            if prefix == "text.":
                # The encoder's blocks export as /attn/q (block 0) and /attn/q_1 (block 1).
                m = re.fullmatch(r"(.*)_(\d+)", path[-1])
                block = int(m.group(2)) if m else 0
                path = ["blocks", str(block)] + path[:-1] + [m.group(1) if m else path[-1]]
            else:
                path = path[1:]  # drop the export wrapper's "d"
            # A Sequential's children export as /mlp/mlp.0: the child's scope already names the parent.
            path = [p for i, p in enumerate(path) if not (i + 1 < len(path) and path[i + 1].startswith(p + "."))]
            module = ".".join(path)
            if node.op_type == "MatMul":
                sd[f"{prefix}{module}.weight"] = value.T.contiguous()
            elif node.op_type == "Mul":
                sd[f"{prefix}{module}.weight"] = value.flatten()
            elif node.op_type == "Add":
                sd[f"{prefix}{module}.bias"] = value.flatten()
            else:
                raise ValueError(f"Cannot place initializer {init.name} read by {node.op_type} {node.name}")
    return sd


def entmax15(s, dim=-1):
    """Exact 1.5-entmax: max(z/2 - tau, 0)^2 with the sort-based threshold."""
    z = (s - s.max(dim=dim, keepdim=True).values) / 2
    zs = torch.sort(z, dim=dim, descending=True).values
    k = torch.arange(1, z.shape[dim] + 1, dtype=z.dtype)
    mean = zs.cumsum(dim) / k
    mean_sq = (zs ** 2).cumsum(dim) / k
    tau = mean - torch.sqrt(torch.clamp((1 - k * (mean_sq - mean ** 2)) / k, min=0))
    support = (tau <= zs).sum(dim=dim, keepdim=True)
    tau_star = tau.gather(dim, support - 1)
    return torch.clamp(z - tau_star, min=0) ** 2


class GuidedAttention(torch.nn.Module):
    """common.Attention with the combined guidance rule applied to each head's output."""

    def __init__(self, attn, scalars):
        super().__init__()
        self.attn, self.s = attn, scalars

    def forward(self, x, ctx=None):
        s, v = self.attn.scores_values(x, ctx)
        o_d = torch.matmul(torch.softmax(s, dim=-1), v)
        o_s = torch.matmul(entmax15(s), v)
        delta = o_s - o_d
        coef = (delta * o_s).sum(-1, keepdim=True) / torch.clamp((o_s * o_s).sum(-1, keepdim=True), min=1e-12)
        par = coef * o_s
        g = par + self.s["zeta"] * (delta - par)
        clip = torch.clamp(self.s["eta"] / torch.clamp(g.norm(dim=-1, keepdim=True), min=1e-12), max=1.0)
        o = o_d + self.s["a"] * delta + self.s["b"] * clip * g
        return self.attn.merge(o)


def guide_cross(model, scalars):
    """A copy of the model whose cross-attention layers apply the rule (self-attention stays plain)."""
    import copy
    guided = copy.deepcopy(model)
    for block in guided.denoiser.modules():
        if hasattr(block, "cross_attn") and isinstance(block.cross_attn, Attention):
            block.cross_attn = GuidedAttention(block.cross_attn, scalars)
    return guided


@torch.no_grad()
def sample(model, ids):
    x = torch.from_numpy(gaussian_noise(SEED, 28 * 28)).reshape(1, 1, 28, 28).double()
    text = model.text(ids)
    for i in range(STEPS):
        t, dt = torch.tensor([i / STEPS], dtype=torch.float64), torch.tensor([1.0 / STEPS], dtype=torch.float64)
        x = x + (1.0 / STEPS) * model.denoiser(x, t, dt, text)
    return x.flatten()


def main():
    torch.set_num_threads(2)
    model = Model()
    model.load_state_dict(state_dict_from_onnx(), strict=True)
    model = model.double().eval()
    ids = torch.tensor([tokenize(PROMPT)])
    with open(os.path.join(MODEL_DIR, "reference.json")) as f:
        ref = json.load(f)
    plain = sample(model, ids)
    worst = float((plain - torch.tensor(ref["sample"], dtype=torch.float64)).abs().max())
    assert worst <= 1e-5, f"the weights read back from ONNX do not reproduce reference.json: {worst}"
    cases = []
    for case in CASES:
        x = sample(guide_cross(model, case), ids)
        cases.append({"label": case["label"], "guidance": case["guidance"],
                      "sample": [round(float(v), 7) for v in x]})
        print(f"{case['label']}: max |guided - plain| {float((x - plain).abs().max()):.4f}")
    out = {"prompt": PROMPT, "seed": SEED, "steps": STEPS, "layers": "cross",
           "note": "written by tools/train/guided_reference.py (PyTorch, float64)", "cases": cases}
    with open(OUT, "w") as f:
        json.dump(out, f)
        f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
