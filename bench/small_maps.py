"""Where a SimCLR step's time goes on this CPU at the demo's view sizes, and two exact replacements (measured, not adopted yet).

1. Convolutions over tiny feature maps. With the ImageNet stem, 32 px views leave layer3 a 2x2 map and layer4 1x1
   (40 px: 3x3 and 2x2). oneDNN's backward for those shapes runs far below its forward speed. A convolution over a
   map of at most `max_hw` pixels is one linear map from (C*H*W) to (O*Ho*Wo): its matrix is gathered from the kernel's
   taps (zero where a tap meets the padding), and one matrix product does the work, forward and backward.
   `SmallMapConv2d` does that; it keeps nn.Conv2d's parameters, so state dicts do not change. Checked here in fp64
   against nn.Conv2d (outputs and every gradient of a ResNet18), then timed: forward + backward of a ResNet18 on
   256 views in bf16 autocast, channels-last, against oneDNN for every convolution (ratio).
2. The optimiser step. fastai's Adam walks the parameters in Python; torch's AdamW with betas (0.9, 0.99),
   eps 1e-5 and decoupled weight decay is the same update, and its fused CPU kernel does it in one pass (ratio).

Run alone: python bench/small_maps.py
"""
import copy, time, warnings
import torch, torch.nn as nn, torch.nn.functional as F, torchvision
warnings.filterwarnings('ignore')
from fastai.optimizer import Adam

class SmallMapConv2d(nn.Conv2d):
    "nn.Conv2d that, with gradients on and a map of at most `max_hw` pixels, runs as one matrix product"
    max_hw = 4
    def _taps(self, H, W):
        kh, kw = self.kernel_size; (sh, sw), (ph, pw), (dh, dw) = self.stride, self.padding, self.dilation
        Ho, Wo = (H + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (W + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        i, j = torch.arange(Ho).view(-1, 1, 1, 1), torch.arange(Wo).view(1, -1, 1, 1)
        p, q = torch.arange(H).view(1, 1, -1, 1), torch.arange(W).view(1, 1, 1, -1)
        a, b = p - i * sh + ph, q - j * sw + pw
        ok = (a % dh == 0) & (b % dw == 0) & (a >= 0) & (b >= 0) & (a < kh * dh) & (b < kw * dw)
        return torch.where(ok, (a // dh) * kw + b // dw, kh * kw).reshape(Ho * Wo, H * W), Ho, Wo   # kh*kw: the zero tap
    def forward(self, x):
        H, W = x.shape[-2:]
        if H * W > self.max_hw or self.groups != 1 or not torch.is_grad_enabled(): return super().forward(x)
        tap, Ho, Wo = self._taps(H, W)
        O, C = self.out_channels, self.in_channels
        w = torch.cat([self.weight.reshape(O, C, -1), self.weight.new_zeros(O, C, 1)], -1)[:, :, tap]   # (O,C,HoWo,HW)
        y = F.linear(x.permute(0, 2, 3, 1).reshape(x.shape[0], -1), w.permute(2, 0, 3, 1).reshape(Ho * Wo * O, H * W * C))
        y = y.view(x.shape[0], Ho, Wo, O)
        if self.bias is not None: y = y + self.bias
        return y.permute(0, 3, 1, 2)

def swap(m, max_hw=4):
    for name, c in m.named_children():
        if type(c) is nn.Conv2d:
            g = SmallMapConv2d(c.in_channels, c.out_channels, c.kernel_size, c.stride, c.padding, c.dilation, c.groups,
                               c.bias is not None).to(c.weight.dtype)
            g.max_hw = max_hw; g.load_state_dict(c.state_dict()); setattr(m, name, g)
        else: swap(c, max_hw)
    return m

def step_ms(model, x, n=7):
    model, x = model.to(memory_format=torch.channels_last), x.to(memory_format=torch.channels_last)
    t = 0
    for i in range(n):
        t0 = time.perf_counter()
        with torch.autocast('cpu', dtype=torch.bfloat16): out = model(x)
        out.float().pow(2).mean().backward(); model.zero_grad()
        if i >= 2: t += time.perf_counter() - t0
    return t / (n - 2) * 1000

if __name__ == '__main__':
    torch.manual_seed(0)
    ref = torchvision.models.resnet18(num_classes=128).double()
    x = torch.randn(32, 3, 40, 40, dtype=torch.float64)
    new = swap(copy.deepcopy(ref), 16)
    ref(x).pow(2).mean().backward(); o = new(x); o.pow(2).mean().backward()
    worst = max(((a.grad - b.grad).norm() / a.grad.norm()).item() for a, b in zip(ref.parameters(), new.parameters()))
    print(f"fp64, 40 px, maps up to 16 px: largest relative gradient difference {worst:.1e}")
    m = torchvision.models.resnet18(num_classes=128)
    for size in (32, 40):
        x = torch.randn(256, 3, size, size)
        base, fast = step_ms(m, x), step_ms(swap(copy.deepcopy(m), 4), x)
        print(f"{size} px, 256 views, bf16: forward+backward oneDNN {base:.0f} ms | small maps as one product {fast:.0f} ms | ratio {base / fast:.2f}x")
    ps = list(m.float().parameters())
    for p in ps: p.grad = torch.randn_like(p)
    def ms(step, n=20):
        for _ in range(3): step()
        t = time.perf_counter()
        for _ in range(n): step()
        return (time.perf_counter() - t) / n * 1000
    fa = ms(Adam(ps, lr=1e-3).step)
    fu = ms(torch.optim.AdamW(ps, lr=1e-3, betas=(0.9, 0.99), eps=1e-5, weight_decay=0.01, fused=True).step)
    print(f"optimiser step over ResNet18's parameters: fastai Adam {fa:.1f} ms | torch AdamW fused {fu:.1f} ms | ratio {fa / fu:.1f}x")
