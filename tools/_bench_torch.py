"""PyTorch eager reference for `deno task bench`: the digits denoiser as a user would run it instead.

Usage: /usr/bin/python3 tools/_bench_torch.py INPUTS.json
INPUTS.json (written by tools/bench.ts) holds the token ids, x, t, dt, the ONNX velocity for the same
inputs, and the iteration budget. Prints one JSON object: per-call times, the output difference to ONNX, and
fp32 matmul roofs (torch and numpy) of this CPU.
"""

import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "train"))
from common import ROOT, Model  # noqa: E402


def timed(fn, runs, budget_s):
    fn()
    times = []
    t_end = time.perf_counter() + budget_s
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
        if len(times) >= 3 and time.perf_counter() > t_end:
            break
    return times


def roof(mm, n=1024, runs=8):
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    best = min(timed(lambda: mm(a), runs, 10.0))
    return 2 * n ** 3 / best / 1e6


def main():
    spec = json.load(open(sys.argv[1]))
    ckpt = os.path.join(ROOT, ".cache", "train", "ckpt.pt")
    model = Model()
    state = torch.load(ckpt, map_location="cpu")
    model.load_state_dict(state["ema"])
    model.eval()
    ids = torch.tensor([spec["ids"]])
    x = torch.tensor(spec["x"], dtype=torch.float32).reshape(1, 1, 28, 28)
    t = torch.tensor([spec["t"]], dtype=torch.float32)
    dt = torch.tensor([spec["dt"]], dtype=torch.float32)
    # One thread per core (as onnxruntime-node's default pool), and one thread, which avoids OpenMP's
    # spin-waiting when the cores are shared.
    threads = os.cpu_count() or 1
    times = {}
    with torch.inference_mode():
        text = model.text(ids)
        v = model.denoiser(x, t, dt, text)
        for n in sorted({threads, 1}, reverse=True):
            torch.set_num_threads(n)
            times[str(n)] = timed(lambda: model.denoiser(x, t, dt, text), spec["runs"], spec["budgetS"] / 2)
        torch.set_num_threads(threads)
        ta = torch.from_numpy(np.random.default_rng(0).standard_normal((1024, 1024)).astype(np.float32))
        torch_roof = roof(lambda _a: torch.mm(ta, ta))
    onnx_v = np.asarray(spec["onnxVelocity"], dtype=np.float32)
    print(json.dumps({
        "torch": torch.__version__,
        "threads": threads,
        "checkpointStep": int(state.get("step", -1)),
        "timesMs": times,
        "maxAbsDiffToOnnx": float(np.abs(v.numpy().reshape(-1) - onnx_v).max()),
        "roofGflops": {"torch": torch_roof, "numpy": roof(lambda a: a @ a)},
    }))


if __name__ == "__main__":
    main()
