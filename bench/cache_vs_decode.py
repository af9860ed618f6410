#!/usr/bin/env python
"""Reading a random batch of 256 cells: from a `CellCache` (memory-mapped uint8) vs decoding the image files.

Writes a dataset in the real layout to a temporary folder (SynthAML when `amlnb.synth` is importable,
else plain RGBA TIFFs drawn here), builds its `CellCache` at each size, then, for several random
batches, times `CellCache.batch` against `read_cell` on the same files (the same reader and resize the
cache was built with) and prints the absolute times and their ratio. Both sides run warm: the files
and the cache sit in the page cache after the first batch, as they do during training.

    python bench/cache_vs_decode.py                  # ~1,000 cells of 144 px, cached at 144 and 64 px
    python bench/cache_vs_decode.py --plain --cells 2000
"""
from __future__ import annotations
import argparse, os, tempfile, time, warnings
from pathlib import Path
import numpy as np
from PIL import Image


def write_plain_dataset(root:Path, n_cells:int, side:int, seed:int=0) -> Path:
    "A dataset in the real layout: 10 patients of RGBA TIFFs (a purple disc on pink, with noise), metadata.csv"
    rng = np.random.default_rng(seed)
    labels = ['PML_RARA', 'NPM1', 'CBFB_MYH11', 'RUNX1_RUNX1T1', 'control'] * 2
    yy, xx = np.mgrid[:side, :side]
    rows = ['patient_id,bag_label,instance_count']
    per = -(-n_cells // len(labels))
    for p, label in enumerate(labels):
        pid = f"P{p:02d}"
        folder = root/'data'/label/pid
        folder.mkdir(parents=True)
        for n in range(per):
            img = rng.integers(215, 245, (side, side, 4), dtype=np.uint8)
            cy, cx = side / 2 + rng.uniform(-8, 8, 2)
            r = rng.uniform(0.2, 0.35) * side
            img[(yy - cy) ** 2 + (xx - cx) ** 2 < r ** 2, :3] = rng.integers(60, 160, 3)
            img[..., 3] = 255
            Image.fromarray(img, 'RGBA').save(folder/f"image_{n}.tif")
        rows.append(f"{pid},{label},{per}")
    (root/'metadata.csv').write_text('\n'.join(rows) + '\n')
    return root


def median_ms(f, reps:int) -> float:
    "Median wall time of `f()` over `reps` calls, in ms"
    times = []
    for _ in range(reps):
        t = time.perf_counter(); f(); times.append(time.perf_counter() - t)
    return float(np.median(times) * 1e3)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--cells', type=int, default=1000, help='cells in the dataset (about)')
    ap.add_argument('--file-size', type=int, default=144, help='side of the image files in px (the real data: 144)')
    ap.add_argument('--sizes', type=int, nargs='+', default=[144, 64], help='cache sizes to compare (144: paper, 64: demo)')
    ap.add_argument('--batch', type=int, default=256, help='cells per batch')
    ap.add_argument('--reps', type=int, default=7, help='random batches timed per side (the median is reported)')
    ap.add_argument('--plain', action='store_true', help='plain RGBA TIFFs even when amlnb.synth is available')
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as d:
        os.environ['AMLNB_HOME'] = d   # nothing outside the temporary folder
        from amlnb.layout import read_cell
        from amlnb.cache import CellCache
        try:
            from amlnb.synth import make_synth_dataset
        except ImportError:
            make_synth_dataset = None
        t = time.perf_counter()
        if make_synth_dataset is not None and not args.plain:
            n_per = max(1, round(args.cells / 10))
            root = make_synth_dataset(Path(d)/'synth', preset='demo', seed=0, size=args.file_size, patients_per_class=2,
                                      cells_per_patient=(n_per, n_per), progress=False)
            what = 'SynthAML'
        else:
            root = write_plain_dataset(Path(d)/'plain', args.cells, args.file_size)
            what = 'plain RGBA TIFFs'
        t_data = time.perf_counter() - t
        rng = np.random.default_rng(0)
        lines = []
        for size in args.sizes:
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                cache = CellCache.from_folder(root, size=size, cache_dir=Path(d)/'cache')
            t_build = time.perf_counter() - t
            batches = [rng.choice(len(cache), min(args.batch, len(cache)), replace=False) for _ in range(args.reps)]
            paths = cache.index.path.to_numpy()
            for b in batches[:1]:   # same pixels either way
                assert np.array_equal(cache.batch(b), np.stack([read_cell(p, size) for p in paths[b]]))
            it = iter(batches * 2)
            cached = median_ms(lambda: cache.batch(next(it)), args.reps)
            it = iter(batches * 2)
            decoded = median_ms(lambda: np.stack([read_cell(p, size) for p in paths[next(it)]]), args.reps)
            lines.append(f"  cache {size:>3} px (built in {t_build:5.1f} s, {cache.images.nbytes / 2**20:6.1f} MiB): "
                         f"CellCache.batch {cached:7.2f} ms | decode+resize {decoded:8.2f} ms | cache {decoded / cached:6.1f}x faster")
        print(f"dataset: {what}, {len(cache)} cells of {args.file_size}x{args.file_size} px written in {t_data:.1f} s")
        print(f"random batch of {len(batches[0])} cells, median of {args.reps} batches (warm page cache), {os.cpu_count()} CPUs:")
        print('\n'.join(lines))


if __name__ == '__main__':
    main()
