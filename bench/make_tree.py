"""Make the benchmark folder: 10,000 files, ~300 MB, mixed sizes, some compressible.

Deterministic (seeded): the same folder on every run and every machine.
"""
from __future__ import annotations

import os
import random
import sys

WORDS = b"the quick brown fox jumps over the lazy dog canalis pipeline dataset step model".split()


def make(root: str, files: int = 10_000, total: int = 300 << 20, seed: int = 7) -> int:
    rnd = random.Random(seed)
    # sizes: many small (1-16 KiB), some medium (64 KiB-1 MiB), a few large (4-24 MiB)
    sizes = []
    for i in range(files):
        r = rnd.random()
        if r < 0.90:
            sizes.append(rnd.randint(1 << 10, 16 << 10))
        elif r < 0.995:
            sizes.append(rnd.randint(64 << 10, 1 << 20))
        else:
            sizes.append(rnd.randint(4 << 20, 24 << 20))
    scale = total / sum(sizes)
    sizes = [max(1, int(s * scale)) for s in sizes]
    text = b" ".join(rnd.choice(WORDS) for _ in range(400_000)) + b"\n"
    noise = rnd.randbytes(32 << 20)
    text_mv, noise_mv = memoryview(text), memoryview(noise)
    written = 0
    for i, size in enumerate(sizes):
        d = os.path.join(root, f"d{i % 50:02d}", f"s{i % 7}")
        os.makedirs(d, exist_ok=True)
        off = rnd.randrange(0, 1 << 20)
        src = text_mv if i % 3 == 0 else noise_mv  # compressible text / incompressible noise
        with open(os.path.join(d, f"f{i:05d}.{'txt' if i % 3 == 0 else 'bin'}"), "wb") as f:
            left = size
            while left:
                part = src[off : off + left]
                f.write(part)
                left -= len(part)
                off = 0
        written += size
    return written


if __name__ == "__main__":
    print(make(sys.argv[1]))
