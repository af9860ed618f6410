"""ResNet18 encoder throughput on this machine: images/s for forward+backward (training) and forward only
(feature extraction), for both stems, at the preset sizes. The `demo` preset's schedule is sized from these.

Run: python bench/encoder_throughput.py
"""
import os, platform, time
import torch
import torch.nn as nn
from amlnb.models import ResNetEncoder

def encoder_throughput(encoder:nn.Module, size:int, bs:int=64, steps:int=3, backward:bool=True, device='cpu') -> float:
    "Images per second through `encoder` (forward, and backward when `backward`) at `size` px"
    encoder = encoder.to(device).train(backward)
    x = torch.randn(bs, 3, size, size, device=device)
    def step():
        with torch.set_grad_enabled(backward):
            out = encoder(x)
            if backward: out.float().pow(2).mean().backward()
    step()                                   # warm-up
    if device != 'cpu' and torch.cuda.is_available(): torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps): step()
    if device != 'cpu' and torch.cuda.is_available(): torch.cuda.synchronize()
    return bs * steps / (time.perf_counter() - t0)

if __name__ == '__main__':
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'stem':<9} {'size':>5} {'train img/s':>12} {'infer img/s':>12}")
    res = {}
    for stem, sizes in [('imagenet', (32, 64, 144)), ('small', (32,))]:
        for size in sizes:
            bs = 64 if size <= 64 else 32
            tr = encoder_throughput(ResNetEncoder(stem), size, bs=bs, steps=3)
            inf = encoder_throughput(ResNetEncoder(stem), size, bs=bs, steps=3, backward=False)
            res[stem, size] = tr
            print(f"{stem:<9} {size:>5} {tr:>12.0f} {inf:>12.0f}")
    print(f"ratio imagenet stem vs small stem at 32 px (training): {res['imagenet', 32] / res['small', 32]:.1f}x")
