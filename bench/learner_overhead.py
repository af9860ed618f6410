"""The fastai learner's overhead: time per SimCLR step of `ssl_learner` against a plain PyTorch loop.

Same SynthAML cells (64 px), same views (`simclr_views`), same model (ResNet18 + SimCLR head) in the same
memory layout (channels-last, `ssl_learner`'s default on CPU and CUDA), same batch size (64), same optimiser (Adam) and lightly's NTXentLoss in both; measured in one run on this machine,
after a warm-up, as the median over 3 repeats of 10 steps. Run: python bench/learner_overhead.py
"""
import os, platform, time, tempfile, warnings
import numpy as np
import torch
warnings.filterwarnings('ignore')
os.environ.setdefault('AMLNB_HOME', tempfile.mkdtemp())
from lightly.loss import NTXentLoss as LightlyNTXent
from fastai.callback.core import Callback, CancelFitException
from amlnb.core import seed_everything
from amlnb.synth import make_synth_dataset
from amlnb.cache import CellCache
from amlnb.data import cell_dataloaders
from amlnb.augment import simclr_views
from amlnb.models import ResNetEncoder, to_channels_last
from amlnb.ssl import ssl_learner, SimCLRModel

STEPS, BS, REPEATS = 10, 64, 3

class StopAfter(Callback):
    "Stop the fit after `n` training steps, recording the time of the steps after the first"
    order = 99
    def __init__(self, n): self.n, self.t0, self.elapsed = n, None, None
    def after_batch(self):
        if not self.training: return
        if self.train_iter == 1: self.t0 = time.perf_counter()
        if self.train_iter == self.n + 1:
            self.elapsed = time.perf_counter() - self.t0
            raise CancelFitException

def time_fastai(dls):
    seed_everything(0)
    learn = ssl_learner(dls, 'simclr', size=64, precision='fp32')   # the plain loop is fp32 too
    learn.loss_func = (lambda crit: (lambda pred, *yb: crit(*pred)))(LightlyNTXent(temperature=0.2))
    stop = StopAfter(STEPS)
    with learn.no_bar(), learn.no_logging(): learn.fit(100, 1e-3, cbs=stop)
    return stop.elapsed / STEPS

def time_plain(dls):
    seed_everything(0)
    model, views, crit = SimCLRModel(ResNetEncoder()), simclr_views(64), LightlyNTXent(temperature=0.2)
    to_channels_last(model)                      # as ssl_learner does by default
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    it = iter(dls.train)
    def step():
        x, _ = next(it)
        v0, v1 = views(x)
        loss = crit(*model(v0, v1))
        opt.zero_grad(); loss.backward(); opt.step()
    step()                                       # warm-up, as the fastai run's first step
    t0 = time.perf_counter()
    for _ in range(STEPS): step()
    return (time.perf_counter() - t0) / STEPS

if __name__ == '__main__':
    root = make_synth_dataset(preset='demo', seed=0, progress=False)
    cache = CellCache.from_folder(root, size=64)
    dls = cell_dataloaders(cache, bs=BS, device='cpu')
    fa, pl = [], []
    for _ in range(REPEATS):
        fa.append(time_fastai(dls)); pl.append(time_plain(dls))
    fa, pl = float(np.median(fa)), float(np.median(pl))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"SimCLR step, batch {BS}, 64 px (median of {REPEATS} x {STEPS} steps)")
    print(f"  plain PyTorch loop : {pl * 1000:7.1f} ms/step")
    print(f"  fastai ssl_learner : {fa * 1000:7.1f} ms/step")
    print(f"ratio fastai / plain: {fa / pl:.3f}x (overhead {100 * (fa / pl - 1):+.1f}%)")
