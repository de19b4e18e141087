#!/usr/bin/env python3
"""Trains a small GPT-style model twice, with flashc.attention and with
PyTorch SDPA, from the same initial weights on the same batches, and
prints both loss curves side by side and each run's tokens/s.

The text is the project's own Markdown (README.md and docs/), read as
bytes: a 256-symbol language model. The model is plain PyTorch: token and
position embeddings, pre-norm blocks of causal self-attention (q, k, v
as views of one projection, [batch, seq, heads, head_dim] transposed) and
an MLP, under bf16 autocast.

    PYTHONPATH=python python3 bench/train.py [--steps 300] [--compile]
"""
import argparse
import glob
import math
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

import flashc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sdpa(q, k, v):
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)


def flashc_attention(q, k, v):
    return flashc.attention(q, k, v, causal=True)


class Block(nn.Module):
    def __init__(self, width, heads, attention):
        super().__init__()
        self.heads, self.attention = heads, attention
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(),
                                 nn.Linear(4 * width, width))

    def forward(self, x):
        b, s, w = x.shape
        qkv = self.qkv(self.norm1(x)).view(b, s, 3, self.heads, w // self.heads)
        q, k, v = (qkv[:, :, i].transpose(1, 2) for i in range(3))
        y = self.attention(q, k, v).transpose(1, 2).reshape(b, s, w)
        x = x + self.proj(y)
        return x + self.mlp(self.norm2(x))


class GPT(nn.Module):
    def __init__(self, layers, width, heads, seq, attention):
        super().__init__()
        self.tokens = nn.Embedding(256, width)
        self.positions = nn.Embedding(seq, width)
        self.blocks = nn.ModuleList(Block(width, heads, attention)
                                    for _ in range(layers))
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, 256, bias=False)

    def forward(self, idx):
        x = self.tokens(idx) + self.positions.weight[: idx.shape[1]]
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))


def corpus():
    paths = [os.path.join(ROOT, "README.md")] + sorted(
        glob.glob(os.path.join(ROOT, "docs", "*.md")))
    data = b"".join(open(p, "rb").read() for p in paths)
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).long()


def train(attention, args, data, batches):
    torch.manual_seed(0)  # the same initial weights for both runs
    model = GPT(args.layers, args.width, args.heads, args.seq, attention).cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.1)
    step_fn = torch.compile(model) if args.compile else model
    losses, tokens, elapsed = [], 0, 0.0
    for step, starts in enumerate(batches):
        x = torch.stack([data[i: i + args.seq] for i in starts]).cuda()
        y = torch.stack([data[i + 1: i + 1 + args.seq] for i in starts]).cuda()
        lr = args.lr * min(1.0, (step + 1) / 20) * \
            0.5 * (1 + math.cos(math.pi * step / len(batches)))
        for group in opt.param_groups:
            group["lr"] = lr
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = step_fn(x)
        loss = F.cross_entropy(logits.float().view(-1, 256), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        torch.cuda.synchronize()
        if step >= 10:  # the first steps compile and warm up
            elapsed += time.perf_counter() - t0
            tokens += x.numel()
        losses.append(loss.item())
        if not math.isfinite(losses[-1]):
            raise SystemExit(f"non-finite loss at step {step}")
    return losses, tokens / elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--every", type=int, default=25, help="steps per printed row")
    ap.add_argument("--compile", action="store_true",
                    help="torch.compile the model (both runs)")
    args = ap.parse_args()
    for name in ("steps", "batch", "seq", "layers", "width", "heads", "every"):
        if getattr(args, name) < 1:
            ap.error(f"--{name} must be at least 1")
    if args.width % args.heads:
        ap.error("--heads must divide --width")
    data = corpus()
    if len(data) <= args.seq + 1:
        ap.error(f"--seq must be below the corpus' {len(data)} bytes")
    gen = torch.Generator().manual_seed(1)
    batches = [torch.randint(0, len(data) - args.seq - 1, (args.batch,),
                             generator=gen).tolist() for _ in range(args.steps)]
    print(f"device: {torch.cuda.get_device_name()}; corpus {len(data)} bytes; "
          f"{args.layers} layers, width {args.width}, {args.heads} heads "
          f"(head_dim {args.width // args.heads}), seq {args.seq}, batch "
          f"{args.batch}, bf16 autocast{', torch.compile' if args.compile else ''}")
    ours, our_rate = train(flashc_attention, args, data, batches)
    theirs, their_rate = train(sdpa, args, data, batches)
    print(f"{'steps':>11} {'flashc loss':>12} {'sdpa loss':>10} {'diff':>8}")
    worst = 0.0
    for start in range(0, args.steps, args.every):
        stop = min(args.steps, start + args.every)
        a = sum(ours[start:stop]) / (stop - start)
        b = sum(theirs[start:stop]) / (stop - start)
        worst = max(worst, abs(a - b))
        print(f"{start:>5}-{stop - 1:<5} {a:12.4f} {b:10.4f} {a - b:+8.4f}")
    print(f"largest difference of a row's mean loss: {worst:.4f}")
    print(f"tokens/s: flashc {our_rate:,.0f}, sdpa {their_rate:,.0f} "
          f"({our_rate / their_rate:.2f}x)")


if __name__ == "__main__":
    main()
