"""The GPU path, measured in one run on one GPU:

1. SimCLR pretraining throughput at 144 px (ResNet18, batch 256): amlnb's views made on the GPU from uint8
   cells, `SimCLRModel` and `NTXentLoss`, Adam, in a plain loop; fp32 against mixed precision (bf16, and
   fp16 with a gradient scaler), NCHW against channels-last, and optionally `torch.compile`. Cells/s
   (each cell is two views through the encoder) and the ratio to fp32.
2. Attention-MIL at paper size (100 patients x 500 cells x 512-d features): one training epoch on the
   features, against one pass of the frozen encoder over the 50,000 cells (what recomputing the
   features every epoch would cost).

Data loading is left out: the batch sits on the GPU as uint8, as the cell cache delivers it. Prints one
markdown table and writes it to --out. Needs CUDA; `--smoke` runs tiny sizes anywhere (a CPU check).

    python bench/gpu.py                 # about 1-2 minutes on an H100
    python bench/gpu.py --compile       # adds a torch.compile row (compiling takes about a minute)
    python bench/gpu.py --smoke         # seconds, on the CPU too
"""
from __future__ import annotations
import argparse, os, platform, sys, time, warnings
from pathlib import Path
import torch

def sync(device):
    if device.type == 'cuda': torch.cuda.synchronize(device)

def simclr_throughput(device, size:int, bs:int, steps:int, warmup:int, precision:str, channels_last:bool, compile:bool) -> float:
    "Cells per second of SimCLR training steps (views + forward + NT-Xent + backward + Adam)"
    from amlnb.core import seed_everything
    from amlnb.augment import simclr_views
    from amlnb.losses import NTXentLoss
    from amlnb.models import ResNetEncoder, to_channels_last
    from amlnb.ssl import SimCLRModel
    seed_everything(0)
    model = SimCLRModel(ResNetEncoder('imagenet')).to(device).train()
    if channels_last: to_channels_last(model)
    if compile: model.backbone.compile()
    views, crit = simclr_views(size).to(device), NTXentLoss(0.2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    dtype = {'fp32': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}[precision]
    scaler = torch.amp.GradScaler(device.type, enabled=precision == 'fp16')
    x = torch.randint(0, 256, (bs, 3, size, size), dtype=torch.uint8, device=device)
    def step():
        v0, v1 = views(x)
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            loss = crit(*model(v0, v1))
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt); scaler.update()
        return loss
    for _ in range(warmup): step()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps): loss = step()
    sync(device)
    if not torch.isfinite(loss): raise RuntimeError(f"non-finite SimCLR loss with {precision}")
    return bs * steps / (time.perf_counter() - t0)

def mil_epoch_time(device, n_bags:int, n_cells:int, dim:int, bs:int, epochs:int, precision:str) -> float:
    "Seconds per training epoch of AttentionMIL (per-class attention) on features already on the device"
    from amlnb.core import seed_everything
    from amlnb.mil import AttentionMIL
    import torch.nn.functional as F
    seed_everything(0)
    X = torch.randn(n_bags, n_cells, dim, device=device)
    y = torch.arange(n_bags, device=device) % 5
    mask = torch.ones(bs, n_cells, dtype=torch.bool, device=device)
    model = AttentionMIL(dim, 5, per_class_attention=True).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=5e-5)
    dtype = {'fp32': None, 'bf16': torch.bfloat16}[precision]
    def epoch():
        for i in range(0, n_bags, bs):
            xb, yb = X[i:i + bs], y[i:i + bs]
            with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
                logits, _ = model(xb, mask[:len(xb)])
            loss = F.cross_entropy(logits.float(), yb)
            opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    epoch()                                                  # warm-up
    sync(device)
    t0 = time.perf_counter()
    for _ in range(epochs): epoch()
    sync(device)
    return (time.perf_counter() - t0) / epochs

@torch.no_grad()
def encode_time(device, n_cells:int, size:int, bs:int) -> float:
    "Seconds to compute frozen-encoder features of `n_cells` uint8 cells (bf16 on CUDA, channels-last)"
    from amlnb.augment import normalize
    from amlnb.models import ResNetEncoder, to_channels_last
    enc = ResNetEncoder('imagenet').to(device).eval()
    if device.type == 'cuda': to_channels_last(enc)
    x = torch.randint(0, 256, (bs, 3, size, size), dtype=torch.uint8, device=device)
    def run(n):
        for i in range(0, n, bs):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == 'cuda'):
                enc(normalize(x[:min(bs, n - i)].float() / 255))
    run(bs)                                                  # warm-up
    sync(device)
    t0 = time.perf_counter()
    run(n_cells)
    sync(device)
    return time.perf_counter() - t0

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default='bench/_out/gpu.md', help='where the markdown table goes')
    ap.add_argument('--smoke', action='store_true', help='tiny sizes and few steps, runs on the CPU too (a check, not a measurement)')
    ap.add_argument('--compile', action='store_true', help='add torch.compile rows (compiling takes about a minute)')
    ap.add_argument('--steps', type=int, default=None, help='timed SimCLR steps per setting (default 20; smoke 2)')
    args = ap.parse_args()
    cuda = torch.cuda.is_available()
    if not cuda and not args.smoke:
        print("bench/gpu.py measures the GPU path and needs CUDA, which this machine does not have; "
              "`python bench/gpu.py --smoke` runs it at tiny sizes as a check.")
        return 0
    warnings.filterwarnings('ignore')
    device = torch.device('cuda' if cuda else 'cpu')
    if args.smoke: size, bs, steps, warmup, bags, cells, n_encode = 32, 16, 2, 1, 16, 50, 256
    else: size, bs, steps, warmup, bags, cells, n_encode = 144, 256, 20, 5, 100, 500, 50_000
    steps = args.steps or steps
    settings = [('fp32', False), ('bf16', False), ('fp16', False), ('bf16', True), ('fp16', True)]
    if not cuda: settings = [('fp32', False), ('bf16', False), ('fp32', True)]   # fp16 autocast is for GPUs
    rows = []
    for precision, cl in settings:
        v = simclr_throughput(device, size, bs, steps, warmup, precision, cl, False)
        rows.append(('SimCLR training', f"{precision}{', channels-last' if cl else ''}", v))
        print(f"  SimCLR {rows[-1][1]:<22} {v:9.0f} cells/s", flush=True)
    if args.compile:
        v = simclr_throughput(device, size, bs, steps, max(warmup, 3), 'bf16', True, True)
        rows.append(('SimCLR training', 'bf16, channels-last, torch.compile', v))
        print(f"  SimCLR {rows[-1][1]:<22} {v:9.0f} cells/s", flush=True)
    mil = {p: mil_epoch_time(device, bags, cells, 512, 8, 3 if args.smoke else 5, p) for p in ('fp32', 'bf16')}
    enc = encode_time(device, n_encode, size, 256 if not args.smoke else 64)
    base = rows[0][2]
    name = torch.cuda.get_device_name(device) if cuda else f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)"
    lines = [f"Device: {name}; torch {torch.__version__}; Python {platform.python_version()}"
             + (" — SMOKE RUN (tiny sizes, not a measurement)" if args.smoke else ""), "",
             f"SimCLR at {size} px, batch {bs} (two views per cell), {steps} timed steps after {warmup} warm-up:", "",
             "| setting | cells/s | views/s | vs fp32 |", "|---|---|---|---|"]
    lines += [f"| {s} | {v:,.0f} | {2 * v:,.0f} | **{v / base:.2f}×** |" for _, s, v in rows]
    lines += ["", f"Attention-MIL, {bags} bags × {cells} cells × 512-d features, batch 8, per-class attention:", "",
              "| what | seconds | ratio |", "|---|---|---|",
              f"| one training epoch on the features, fp32 | {mil['fp32']:.4f} | 1 |",
              f"| one training epoch on the features, bf16 autocast | {mil['bf16']:.4f} | {mil['bf16'] / mil['fp32']:.2f} |",
              f"| the frozen encoder over the {bags * cells:,} cells ({size} px{', bf16, channels-last' if cuda else ''}"
              f"{f'; timed on {n_encode:,}, scaled' if n_encode != bags * cells else ''}) "
              f"| {enc * bags * cells / n_encode:.2f} | **{enc * bags * cells / n_encode / mil['fp32']:,.0f}×** |"]
    table = '\n'.join(lines)
    print(table)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table + '\n')
    print(f"written to {out}")
    return 0

if __name__ == '__main__':
    sys.exit(main())
