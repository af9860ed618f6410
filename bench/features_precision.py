"""Feature extraction on the CPU: fp32 (what `extract_features` does) against bf16 autocast.

A seed of the demo extracts the features of its 8,000 cells once per encoder (five encoders, 11-12% of
a seed's recorded time). This times one ResNet18 (ImageNet stem, channels-last) over N cells at 64 px,
batch 256, in fp32 and under bf16 autocast, and compares the features (cosine per cell, and agreement of
the kNN neighbours a probe would use). Run alone on the machine.

    python bench/features_precision.py [--cells 4096]
"""
import argparse, time
import numpy as np, torch, torch.nn.functional as F
from amlnb.models import ResNetEncoder, to_channels_last
from amlnb.augment import normalize

def run(enc, x, bs, bf16):
    out = []
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
        for i in range(0, len(x), bs):
            xb = normalize(x[i:i + bs].float().div(255)).contiguous(memory_format=torch.channels_last)
            out.append(enc(xb).float())
    return torch.cat(out)

def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--cells', type=int, default=4096); ap.add_argument('--bs', type=int, default=256)
    a = ap.parse_args()
    torch.manual_seed(0)
    enc = ResNetEncoder('imagenet').eval(); to_channels_last(enc)
    x = (torch.rand(a.cells, 3, 64, 64) * 255).to(torch.uint8)
    run(enc, x[:a.bs], a.bs, False); run(enc, x[:a.bs], a.bs, True)          # warm-up
    times, feats = {}, {}
    for name, bf16 in (('fp32', False), ('bf16', True)):
        t = time.time(); feats[name] = run(enc, x, a.bs, bf16); times[name] = time.time() - t
    cos = F.cosine_similarity(feats['fp32'], feats['bf16']).min().item()
    z = {k: F.normalize(v, dim=1) for k, v in feats.items()}
    nn = {k: (v @ v.T).fill_diagonal_(-2).topk(20, dim=1).indices for k, v in z.items()}
    overlap = np.mean([len(set(a.tolist()) & set(b.tolist())) / 20 for a, b in zip(nn['fp32'], nn['bf16'])])
    for k in times: print(f"{k}: {times[k]:.1f} s for {a.cells} cells ({a.cells / times[k]:.0f} cells/s)")
    print(f"ratio fp32 / bf16: {times['fp32'] / times['bf16']:.2f}x; min cosine fp32 vs bf16 {cos:.4f}; "
          f"kNN (k=20) neighbour overlap {overlap:.3f}")

if __name__ == '__main__': main()
