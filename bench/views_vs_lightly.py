"""Views per second: amlnb's batched SimCLR views vs lightly's SimCLRTransform applied per image.

Both make SimCLR's two views of the same 512 SynthAML cells at 64 px on this machine's CPU, in one run:
amlnb in batches of 256 uint8 cells (as the DataLoader hands them over), lightly one PIL image at a time
(as its DataLoader workers would). Run: python bench/views_vs_lightly.py
"""
import time, os, platform
import numpy as np
import torch
from PIL import Image
from lightly.transforms import SimCLRTransform
from amlnb.synth import render_cells, CELL_TYPES
from amlnb.augment import simclr_views

N, SIZE, BS = 512, 64, 256

def bench(fn, repeat=3):
    fn()                                   # warm-up
    best = float('inf')
    for _ in range(repeat):
        t0 = time.perf_counter(); fn(); best = min(best, time.perf_counter() - t0)
    return best

if __name__ == '__main__':
    cells = render_cells([CELL_TYPES[i % len(CELL_TYPES)] for i in range(N)], size=SIZE, g=0)
    batch = cells.permute(0, 3, 1, 2).contiguous()          # (N,3,H,W) uint8
    pils = [Image.fromarray(c.numpy()) for c in cells]
    ours = simclr_views(SIZE)
    theirs = SimCLRTransform(input_size=SIZE, vf_prob=0.5, rr_prob=0.5)
    def run_ours():
        for i in range(0, N, BS): ours(batch[i:i + BS])
    def run_lightly():
        for im in pils: theirs(im)
    t_ours, t_lightly = bench(run_ours), bench(run_lightly)
    views = 2 * N
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'pipeline':<44} {'views/s':>9}")
    print(f"{'amlnb simclr_views (batched, per-sample)':<44} {views / t_ours:>9.0f}")
    print(f"{'lightly SimCLRTransform (per PIL image)':<44} {views / t_lightly:>9.0f}")
    print(f"ratio amlnb / lightly: {t_lightly / t_ours:.2f}x")
