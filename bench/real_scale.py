"""Every stage of amlnb at the real dataset's size, on this machine's CPU, measured in one run.

SynthAML written at the shape of AML-Cytomorphology_MLL_Helmholtz (`amlnb.synth.MLL_SHAPE`: 189 patients, the real
per-class patient counts and each class's range of images per patient, 144 px), then:

1. `write`    — `make_synth_dataset(preset='paper', **MLL_SHAPE)`: seconds, cells, size on disk, peak memory;
2. `cache`    — `CellCache.from_folder` at 144 px: seconds, size on disk (against the raw uint8 size), peak memory;
3. `features` — `extract_features` with an untrained ResNet18 (speed does not depend on the weights): cells/s, peak memory;
4. `scemila`  — SCEMILA-sized feature files (`(n, 512, 5, 5)` float32 per patient, random values: 4.2 GB in all)
                written, then read, checked and pooled into a store by `scemila_store`: seconds, peak memory;
5. `mil`      — one `train_folds` call per aggregator on the five folds, the `paper` preset's schedule (SCEMILA's SGD,
                20 bags per step) cut to 2 epochs, bags of up to 500 cells: seconds per epoch, peak memory.

Each stage runs in its own process, so each peak memory (max RSS) is that stage's alone. Stages reuse what the ones
before them built (all under --home). Run it alone on the machine:

    python bench/real_scale.py --home /tmp/real   # every stage; results in bench/records/real_scale.json
    python bench/real_scale.py --home /tmp/real --stages mil
"""
import argparse, json, os, platform, resource, shutil, subprocess, sys, time, warnings
from pathlib import Path
warnings.filterwarnings('ignore')

STAGES = ('write', 'cache', 'features', 'scemila', 'mil')
RECORD = Path(__file__).parent/'records'/'real_scale.json'

def du(path) -> int:
    "Bytes under `path` (files only)"
    return sum(f.stat().st_size for f in Path(path).rglob('*') if f.is_file())

def peak_gb() -> float: return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20   # kB -> GB

def root_of(home:Path) -> Path: return home/'real-shape'

def stage(name:str, home:Path) -> dict:
    import numpy as np
    import torch
    from amlnb.core import get_preset
    from amlnb.synth import make_synth_dataset, MLL_SHAPE
    from amlnb.cache import CellCache
    root = root_of(home)
    if name == 'write':
        t = time.time()
        make_synth_dataset(root, preset='paper', seed=0, progress=False, **MLL_SHAPE)
        secs = time.time() - t
        n = sum(1 for _ in (root/'data').rglob('image_*.tif'))
        return dict(seconds=secs, cells=n, cells_per_s=n / secs, disk_gb=du(root) / 1e9)
    t = time.time()
    cache = CellCache.from_folder(root, size=144, progress=False)
    if name == 'cache':
        return dict(seconds=time.time() - t, cells=len(cache), disk_gb=du(cache.path) / 1e9, raw_uint8_gb=len(cache) * 144 * 144 * 3 / 1e9)
    from amlnb.models import ResNetEncoder, save_encoder
    from amlnb.features import extract_features
    enc_path = home/'random-resnet18.pt'
    if not enc_path.exists():
        torch.manual_seed(0)
        save_encoder(ResNetEncoder('imagenet'), enc_path, method='random')
    if name == 'features':
        t = time.time()
        store = extract_features(enc_path, cache, store_dir=home/'features', name='random', progress=False, rebuild=True)
        secs = time.time() - t
        return dict(seconds=secs, cells=len(store), cells_per_s=len(store) / secs, threads=torch.get_num_threads(),
                    store_mb=du(store.path) / 1e6)
    if name == 'scemila':
        from amlnb.external import scemila_store, SCEMILA_FILE, _patient_dirs
        from amlnb.layout import list_images
        t = time.time()
        rng = np.random.default_rng(0)
        for p, d in _patient_dirs(cache).items():
            n = len(list_images(d)[0])
            if not (d/SCEMILA_FILE).exists(): np.save(d/SCEMILA_FILE, rng.standard_normal((n, 512, 5, 5), dtype=np.float32))
        t_write = time.time() - t
        files_gb = sum((d/SCEMILA_FILE).stat().st_size for d in _patient_dirs(cache).values()) / 1e9
        shutil.rmtree(home/'scemila-store', ignore_errors=True)
        t = time.time()
        store = scemila_store(cache, store_dir=home/'scemila-store')
        secs = time.time() - t
        return dict(seconds=secs, write_files_s=t_write, files_gb=files_gb, cells=len(store), dim=store.dim, store_mb=du(store.path) / 1e6)
    if name.startswith('mil-'):
        from amlnb.features import FeatureStore
        from amlnb.data import patient_splits
        from amlnb.mil import train_folds, bag_patients
        from amlnb.aggregators import Aggregator
        store = next(FeatureStore(p) for p in sorted((home/'features').glob('random-*')) if (p/'meta.json').exists())
        agg = name.split('-', 1)[1]
        folds = patient_splits(bag_patients(store))
        p = get_preset('paper', mil_epochs=2, mil_patience=2)
        t = time.time()
        res = train_folds([(f, store, 0) for f in folds], p, device='cpu', aggregator=Aggregator(agg))
        secs = time.time() - t
        epochs = sum(len(r.history) for r in res) / len(res)
        n_max = max(len(store.bag_positions(q)) for q in store.patients)
        return dict(seconds=secs, seconds_per_epoch=secs / epochs, epochs=epochs, models=len(res), bags=len(store.patients),
                    max_cells=n_max, schedule=f"{p.mil_optimizer}, {p.mil_bs} bags per step", precision=res[0].info['precision'])
    raise ValueError(name)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--home', default='/tmp/amlnb-real-scale')
    ap.add_argument('--stages', default=','.join(STAGES))
    ap.add_argument('--stage', help=argparse.SUPPRESS)          # internal: run one stage in this process
    a = ap.parse_args()
    home = Path(a.home); home.mkdir(parents=True, exist_ok=True)
    os.environ['AMLNB_HOME'] = str(home/'amlnb-home')
    if a.stage:
        t = time.time()
        out = stage(a.stage, home)
        out['wall_s'] = time.time() - t
        if out.get('seconds') is None: out['seconds'] = out['wall_s']
        out['peak_rss_gb'] = peak_gb()
        print('RESULT ' + json.dumps(out), flush=True)
        return
    rec = json.loads(RECORD.read_text()) if RECORD.exists() else {}
    rec['machine'] = dict(cpu=platform.processor() or platform.machine(), cores=os.cpu_count(),
                          torch=__import__('torch').__version__, python=platform.python_version())
    names = []
    for s in a.stages.split(','):
        names += [f'mil-{x}' for x in ('attention', 'mean', 'max', 'transmil')] if s == 'mil' else [s]
    for n in names:
        print(f"== {n}", flush=True)
        r = subprocess.run([sys.executable, __file__, '--home', str(home), '--stage', n], capture_output=True, text=True)
        line = [l for l in r.stdout.splitlines() if l.startswith('RESULT ')]
        if r.returncode or not line:
            print(r.stdout[-2000:], r.stderr[-4000:]); sys.exit(f"stage {n} failed")
        rec[n] = json.loads(line[-1][7:])
        print(json.dumps(rec[n]), flush=True)
        RECORD.parent.mkdir(exist_ok=True)
        RECORD.write_text(json.dumps(rec, indent=1))
    w, c = rec.get('write'), rec.get('cache')
    if c: print(f"cache / raw uint8 size: {c['disk_gb'] / c['raw_uint8_gb']:.3f}")
    for n in names: print(f"{n:14s} {rec[n]['seconds']:8.1f} s  peak {rec[n]['peak_rss_gb']:.2f} GB")

if __name__ == '__main__': main()
