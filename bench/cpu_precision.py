"""SSL step time on the CPU: fp32 against bf16 autocast, and `torch.compile`, for the demo's SimCLR step.

One SimCLR step as `pretrain` takes it on the demo preset: ResNet18 (ImageNet stem, channels-last), two views
of 48 px, batch 128, Adam, amlnb's NT-Xent (whose internals are fp32 under autocast too). Prints the median
step time of each variant, its ratio to fp32, and how far bf16's loss and gradients are from fp32's on the
same batch (correctness). Run alone on the machine: `python bench/cpu_precision.py`.
"""
import sys, time, statistics, contextlib
import torch
import torch.nn.functional as F
from amlnb.models import ResNetEncoder, to_channels_last
from amlnb.ssl import SimCLRModel
from amlnb.losses import NTXentLoss
from amlnb.augment import simclr_views

BS, SIZE, STEPS, REPEATS = 128, 48, 4, 3

def make(compile=False):
    torch.manual_seed(0)
    model = to_channels_last(SimCLRModel(ResNetEncoder('imagenet')))
    if compile: model.backbone.compile()
    return model, torch.optim.Adam(model.parameters(), 1e-3), NTXentLoss(0.2)

def step(model, opt, crit, views, bf16):
    ctx = torch.autocast('cpu', dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    with ctx: loss = crit(*model(*views))
    opt.zero_grad(); loss.backward(); opt.step()
    return loss.detach().float()

def timed(bf16, compile=False):
    model, opt, crit = make(compile)
    torch.manual_seed(1)
    x = torch.randint(0, 255, (BS, 3, 64, 64), dtype=torch.uint8)
    views = simclr_views(SIZE)(x)
    for _ in range(2): step(model, opt, crit, views, bf16)          # warm-up (and compilation)
    times = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        for _ in range(STEPS): step(model, opt, crit, views, bf16)
        times.append((time.perf_counter() - t) / STEPS)
    return statistics.median(times)

def agreement():
    "Loss and gradient of one step in bf16 autocast against fp32, from the same weights and batch"
    torch.manual_seed(1)
    views = simclr_views(SIZE)(torch.randint(0, 255, (BS, 3, 64, 64), dtype=torch.uint8))
    out = {}
    for bf16 in (False, True):
        model, _, crit = make()
        ctx = torch.autocast('cpu', dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
        with ctx: loss = crit(*model(*views))
        loss.backward()
        out[bf16] = loss.item(), torch.cat([p.grad.flatten() for p in model.backbone.parameters()])
    (l32, g32), (l16, g16) = out[False], out[True]
    return abs(l16 - l32), F.cosine_similarity(g32, g16, dim=0).item()

if __name__ == '__main__':
    torch.set_num_threads(torch.get_num_threads())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; SimCLR step, batch {BS}, {SIZE} px, channels-last")
    dl, cos = agreement()
    print(f"bf16 vs fp32 on one batch: |loss difference| {dl:.4f}, cosine of the encoder gradients {cos:.4f}")
    fp32 = timed(False)
    bf16 = timed(True)
    print(f"fp32                 : {fp32 * 1000:7.1f} ms/step")
    print(f"bf16 autocast        : {bf16 * 1000:7.1f} ms/step   ratio fp32/bf16 {fp32 / bf16:.2f}x")
    if '--compile' in sys.argv:
        comp = timed(True, compile=True)
        print(f"bf16 + torch.compile : {comp * 1000:7.1f} ms/step   ratio fp32/(bf16+compile) {fp32 / comp:.2f}x")
