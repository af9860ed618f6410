"""Attention-MIL speed on the `demo` SynthAML, on this machine's CPU, in one run:

1. a full 5-fold `cross_validate` on cached features (seconds), with the `demo` preset's schedule;
2. one training epoch over the same bags with features read from the store, against one epoch that
   recomputes every cell's features through the (frozen) ResNet18 encoder from the cell cache (ratio);
3. what a seed of the experiment asks of MIL per encoder — the 5-fold cross-validation and three subset
   draws at 10%, 25% and 50% of the training patients (50 models) — trained one model at a time with
   fastai (`train_fold`, fp32, as `cross_validate` does) against side by side (`train_folds`, bf16 where
   the CPU has the units, grouped by fraction as `run_experiment` groups them) (ratio), with the test
   macro-F1 of both, to show the faster path is not a worse one;
4. the same 50 models side by side grouped by fraction (four `train_folds` calls) against all 50 in one call,
   as `run_experiment` trains them (ratio), with the largest difference between the two in any test probability.

Uses the untrained (`random`) encoder: speed does not depend on the weights. Run: python bench/mil_speed.py [--joint-only] (part 4 alone)
"""
import os, platform, sys, time, warnings
import numpy as np
import torch
import torch.nn.functional as F
warnings.filterwarnings('ignore')
from amlnb.core import get_preset, seed_everything
from amlnb.synth import make_synth_dataset
from amlnb.cache import CellCache
from amlnb.data import patient_splits
from amlnb.ssl import pretrain, get_recipe
from amlnb.models import load_encoder
from amlnb.features import extract_features
from amlnb.augment import normalize
from amlnb.mil import cross_validate, AttentionMIL, BagDataset, bag_patients, train_fold, train_folds, CVResult, mil_precision
from amlnb.stats import reported

def epoch_time(store, cache, encoder, fold, recompute:bool, bs:int=8):
    seed_everything(0)
    ds = BagDataset.from_store(store, fold.train)
    model = AttentionMIL(store.features.shape[1], 5, per_class_attention=True)
    opt = torch.optim.Adam(model.parameters(), 5e-4)
    encoder.eval()
    t0 = time.perf_counter()
    for i in range(0, len(ds), bs):
        idx = range(i, min(i + bs, len(ds)))
        if recompute:
            with torch.no_grad():
                bags = [encoder(normalize(torch.from_numpy(cache.batch(ds.positions[j])).permute(0, 3, 1, 2).float() / 255)) for j in idx]
        else: bags = [torch.from_numpy(store.bag(ds.patients[j])) for j in idx]
        n = max(len(b) for b in bags)
        X = torch.zeros(len(bags), n, bags[0].shape[1]); mask = torch.zeros(len(bags), n, dtype=torch.bool)
        for k, b in enumerate(bags): X[k, :len(b)] = b; mask[k, :len(b)] = True
        loss = F.cross_entropy(model(X, mask)[0], torch.as_tensor(ds.labels[list(idx)]))
        opt.zero_grad(); loss.backward(); opt.step()
    return time.perf_counter() - t0

if __name__ == '__main__':
    p = get_preset('demo')
    root = make_synth_dataset(preset='demo', seed=0, progress=False)
    cache = CellCache.from_folder(root, size=p.size)
    enc_path = pretrain(None, get_recipe('random', 'demo'))
    store = extract_features(enc_path, cache, progress=False)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"demo SynthAML: {len(store.patients)} patients, {len(store)} cells, features {store.features.shape[1]}-d")
    joint_only = '--joint-only' in sys.argv
    t0 = time.perf_counter()
    if joint_only: cv = None
    else: cv = cross_validate(store, preset='demo', device='cpu', progress=False)
    t_cv = time.perf_counter() - t0
    if not joint_only:
      epochs = [len(f.history) for f in cv.folds]
      print(f"5-fold cross_validate on cached features: {t_cv:.1f} s ({sum(epochs)} epochs in all, early stopping; test macro-F1 {cv.metrics.loc['mean', 'macro_f1']:.3f})")
      fold = patient_splits(bag_patients(store))[0]
      enc = load_encoder(enc_path)
      t_feat = epoch_time(store, cache, enc, fold, recompute=False)
      t_rec = epoch_time(store, cache, enc, fold, recompute=True)
      print(f"one epoch over {len(fold.train)} training bags: features {t_feat:.2f} s | recomputing through the encoder {t_rec:.1f} s")
      print(f"ratio recompute / features: {t_rec / t_feat:.0f}x")
    from amlnb.experiment import label_subset
    pats, seed = bag_patients(store), 42
    groups = {f: [(label_subset(fo, pats, f, seed, d), store, seed) for d in (range(3) if f < 1 else [0])
                  for fo in patient_splits(pats, seed=seed)] for f in (0.1, 0.25, 0.5, 1.0)}
    n = sum(len(g) for g in groups.values())
    f1 = lambda rs: np.mean([reported(CVResult(rs[i:i + 5], list(rs[0].classes)).patients.assign(seed=0)) for i in range(0, len(rs), 5)])
    t0 = time.perf_counter()
    one = None if joint_only else {f: [train_fold(fo, st, preset=p, seed=sd, device='cpu') for fo, st, sd in g] for f, g in groups.items()}
    t_one = time.perf_counter() - t0
    t0 = time.perf_counter()
    side = {f: train_folds(g, p, device='cpu') for f, g in groups.items()}
    t_side = time.perf_counter() - t0
    prec = 'bf16' if mil_precision('auto', 'cpu') is not None else 'fp32'
    t0 = time.perf_counter()
    joint = train_folds([j for g in groups.values() for j in g], p, device='cpu')
    t_joint = time.perf_counter() - t0
    flat = [r for f in groups for r in side[f]]
    diff = max(np.abs(a.patients[[f'p_{c}' for c in a.classes]].to_numpy(float) - b.patients[[f'p_{c}' for c in b.classes]].to_numpy(float)).max() for a, b in zip(flat, joint))
    same = sum(a.best_epoch == b.best_epoch for a, b in zip(flat, joint))
    print(f"{n} MIL models side by side: grouped by fraction (4 calls) {t_side:.1f} s | all in one call {t_joint:.1f} s | "
          f"ratio {t_side / t_joint:.2f}x; largest probability difference {diff:.1e}, same best epoch {same}/{n}")
    if joint_only: sys.exit()
    print(f"{n} MIL models (a seed's 5-fold CV + 3 draws at 10/25/50%): one at a time (train_fold, fp32) {t_one:.1f} s | "
          f"side by side (train_folds, {prec}) {t_side:.1f} s")
    print(f"ratio one at a time / side by side: {t_one / t_side:.2f}x")
    for f in groups: print(f"  fraction {f:.2f}: mean test macro-F1 over draws, train_fold {f1(one[f]):.3f} | train_folds {f1(side[f]):.3f}")
