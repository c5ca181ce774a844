"""Trains the digit judge (a small CNN) on the training split and exports models/digits/judge.onnx.

Usage: /usr/bin/python3 tools/train/train_judge.py
The judge measures prompt adherence and gives the features for the Fréchet distance in `deno task eval`.
"""

import os

import numpy as np
import onnx
import torch
import torch.nn.functional as F

from common import MODEL_DIR, Judge, fetch_mnist, split

SEED = 7
EPOCHS = 4


def main():
    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    images, labels = fetch_mnist()
    tr, ho = split(len(images))
    x = torch.from_numpy(images * 2 - 1).unsqueeze(1)
    y = torch.from_numpy(labels)
    judge = Judge()
    opt = torch.optim.Adam(judge.parameters(), 1e-3)
    g = torch.Generator().manual_seed(SEED)
    for epoch in range(EPOCHS):
        perm = torch.from_numpy(tr)[torch.randperm(len(tr), generator=g)]
        for i in range(0, len(perm), 128):
            idx = perm[i:i + 128]
            xb = x[idx]
            # Small random shifts so the judge does not depend on exact centring.
            dx, dy = torch.randint(-2, 3, (2,), generator=g).tolist()
            xb = torch.roll(xb, shifts=(dy, dx), dims=(2, 3))
            loss = F.cross_entropy(judge(xb)[0], y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        judge.eval()
        with torch.no_grad():
            acc = (judge(x[ho])[0].argmax(1) == y[ho]).float().mean().item()
        judge.train()
        print(f"epoch {epoch + 1} held-out accuracy {acc:.4f}", flush=True)
    judge.eval()
    path = os.path.join(MODEL_DIR, "judge.onnx")
    torch.onnx.export(judge, (x[:2],), path, input_names=["image"], output_names=["logits", "features"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}, "features": {0: "batch"}},
                      opset_version=17)
    onnx.checker.check_model(onnx.load(path))
    with open(os.path.join(MODEL_DIR, "judge_log.txt"), "w") as f:
        f.write(f"judge: {EPOCHS} epochs, held-out accuracy {acc:.4f} on {len(ho)} real digits\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
