"""SynthAML generation speed: cells per second of `make_synth_dataset` (drawing + RGBA TIFF writing),
and of drawing alone, at 64 and 144 px, on this machine.

Run: python bench/synth_speed.py
"""
import tempfile, time, platform, os
from pathlib import Path
import torch
from amlnb.synth import make_synth_dataset, render_cells, CELL_TYPES


def time_writer(size, patients_per_class, cells):
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        root = make_synth_dataset(Path(d)/'s', size=size, patients_per_class=patients_per_class,
                                  cells_per_patient=cells, seed=0, progress=False)
        dt = time.perf_counter() - t0
        n = len(list(root.glob('data/*/*/image_*.tif')))
    return n, dt


def time_draw(size, n=512):
    types = [CELL_TYPES[i % len(CELL_TYPES)] for i in range(n)]
    render_cells(types[:32], size=size, g=0)   # warm-up
    t0 = time.perf_counter()
    for i in range(0, n, 128): render_cells(types[i:i + 128], size=size, g=i)
    return n, time.perf_counter() - t0


if __name__ == '__main__':
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'size':>5} {'what':<28} {'cells':>6} {'seconds':>8} {'cells/s':>8}")
    rows = {}
    for size, ppc, cells in [(64, 6, (100, 100)), (144, 2, (100, 100))]:
        n, dt = time_draw(size)
        print(f"{size:>5} {'draw only (render_cells)':<28} {n:>6} {dt:>8.2f} {n/dt:>8.0f}")
        n, dt = time_writer(size, ppc, cells)
        rows[size] = n / dt
        print(f"{size:>5} {'make_synth_dataset (+TIFF)':<28} {n:>6} {dt:>8.2f} {n/dt:>8.0f}")
    print(f"ratio 64 px vs 144 px (dataset writer): {rows[64] / rows[144]:.2f}x")
