"""Where a pretraining step's time goes on this CPU at the demo's view sizes, and the two exact replacements amlnb uses.

1. Convolutions over tiny feature maps. With the ImageNet stem, 32 px views leave layer3 a 2x2 map and layer4 1x1
   (40 px: 3x3 and 2x2). oneDNN's backward for those shapes runs far below its forward speed. `SmallMapConv2d`
   (`amlnb.models`, the recipe's `small_maps`) runs a convolution over a map of at most 4 pixels as one matrix
   product whose matrix is gathered from the kernel's taps. Checked here in fp64 against nn.Conv2d (every gradient
   of a ResNet18), then timed: forward + backward of a ResNet18 on 256 views in bf16 autocast, channels-last,
   against oneDNN for every convolution (ratio).
2. The optimiser step. fastai's Adam walks the parameters in Python; `FusedAdam` (`amlnb.ssl`, the optimiser
   'adam') is the same update done by torch's fused AdamW kernel (ratio, one step over ResNet18's parameters).
3. Both together, end to end: one epoch of each method's demo recipe through `pretrain` (demo data, no kNN
   monitor), with `small_maps=False` and fastai's Adam against the recipe as it is (ratio per method, and in all),
   after one untimed warm-up epoch that builds the cell caches.

Run alone: python bench/small_maps.py [--no-epochs]   (AMLNB_HOME holding the demo's cell cache saves its build)
"""
import copy, sys, tempfile, time, warnings
import torch, torchvision
warnings.filterwarnings('ignore')
from fastai.optimizer import Adam
from amlnb.models import small_map_convs
from amlnb.ssl import FusedAdam, norm_bias_splitter, OPTIMIZERS, pretrain, pretrain_inputs

def step_ms(model, x, n=7):
    model, x = model.to(memory_format=torch.channels_last), x.to(memory_format=torch.channels_last)
    t = 0
    for i in range(n):
        t0 = time.perf_counter()
        with torch.autocast('cpu', dtype=torch.bfloat16): out = model(x)
        out.float().pow(2).mean().backward(); model.zero_grad()
        if i >= 2: t += time.perf_counter() - t0
    return t / (n - 2) * 1000

def epoch_s(method, fast):
    recipe = dict(epochs=1) if fast else dict(epochs=1, small_maps=False, optimizer='fastai_adam')
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        pretrain(**pretrain_inputs(method, None, 'demo', recipe=recipe, monitor=False), out=d, progress=False)
        return time.perf_counter() - t

if __name__ == '__main__':
    torch.manual_seed(0)
    ref = torchvision.models.resnet18(num_classes=128).double()
    x = torch.randn(32, 3, 40, 40, dtype=torch.float64)
    new = small_map_convs(copy.deepcopy(ref), 16)
    ref(x).pow(2).mean().backward(); new(x).pow(2).mean().backward()
    worst = max(((a.grad - b.grad).norm() / a.grad.norm()).item() for a, b in zip(ref.parameters(), new.parameters()))
    print(f"fp64, 40 px, maps up to 16 px: largest relative gradient difference {worst:.1e}")
    m = torchvision.models.resnet18(num_classes=128)
    for size in (32, 40):
        x = torch.randn(256, 3, size, size)
        base, fast = step_ms(m, x), step_ms(small_map_convs(copy.deepcopy(m), 4), x)
        print(f"{size} px, 256 views, bf16: forward+backward oneDNN {base:.0f} ms | small maps as one product {fast:.0f} ms | ratio {base / fast:.2f}x")
    ps = list(m.float().parameters())
    for p in ps: p.grad = torch.randn_like(p)
    def ms(step, n=20):
        for _ in range(3): step()
        t = time.perf_counter()
        for _ in range(n): step()
        return (time.perf_counter() - t) / n * 1000
    fa = ms(Adam(ps, lr=1e-3, wd=0.01).step)
    fu = ms(FusedAdam(norm_bias_splitter(m), lr=1e-3, wd=0.01).step)
    print(f"optimiser step over ResNet18's parameters: fastai Adam {fa:.1f} ms | FusedAdam {fu:.1f} ms | ratio {fa / fu:.1f}x")
    if '--no-epochs' in sys.argv: sys.exit()
    OPTIMIZERS['fastai_adam'] = Adam               # the baseline: fastai's Adam, weight decay through Learner(wd=...)
    for method in ('supervised', 'simclr'): epoch_s(method, True)   # warm-up: builds both cell caches, oneDNN's primitives
    rows = []
    for method in ('supervised', 'simclr', 'swav', 'dino'):
        base, fast = epoch_s(method, False), epoch_s(method, True)
        rows.append((method, base, fast))
        print(f"{method}: one demo epoch, oneDNN + fastai Adam {base:.1f} s | small maps + FusedAdam {fast:.1f} s | ratio {base / fast:.2f}x", flush=True)
    b, f = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print(f"all four: {b:.1f} s | {f:.1f} s | ratio {b / f:.2f}x")
