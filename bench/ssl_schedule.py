"""How the `demo` SSL schedule was chosen: kNN quality of each method for a few view sizes, epoch counts and
DINO variants, on the `demo` SynthAML, with the wall time of each run on the machine it runs on.

    python bench/ssl_schedule.py                 # the full grid (meant for a GPU: ~30 runs)
    python bench/ssl_schedule.py --quick         # tiny preset, two runs: checks the script works

Every run is a fresh `pretrain` into a temporary folder (no cache), then `evaluate_encoder` on fold 0's
validation patients (kNN cell type, kNN malignant-vs-healthy balanced). The table is printed as markdown and
written to --out. Numbers are whatever they come out as; the script only measures.
"""
import argparse, itertools, json, tempfile, time
from pathlib import Path
import pandas as pd, torch
from amlnb.core import get_device, get_preset
from amlnb.data import CellCache
from amlnb.synth import make_synth_dataset
from amlnb.ssl import pretrain, evaluate_encoder

DINO_VARIANTS = {
    'default': {},
    'no-norm-last': dict(dino_kwargs=dict(head_kwargs=dict(norm_last_layer=False))),
    'momentum-0.9': dict(momentum=0.9),
    'no-norm-last+m0.9': dict(momentum=0.9, dino_kwargs=dict(head_kwargs=dict(norm_last_layer=False))),
    'out256+no-norm-last+m0.9': dict(momentum=0.9, dino_kwargs=dict(out_dim=256, head_kwargs=dict(norm_last_layer=False))),
    'no-bn+no-norm-last+m0.9': dict(momentum=0.9, dino_kwargs=dict(head_kwargs=dict(norm_last_layer=False, batch_norm=False))),
    'out256+no-norm-last+m0.8': dict(momentum=0.8, dino_kwargs=dict(out_dim=256, head_kwargs=dict(norm_last_layer=False))),
    'out128+no-norm-last+m0.9': dict(momentum=0.9, dino_kwargs=dict(out_dim=128, head_kwargs=dict(norm_last_layer=False))),
    'out256+no-norm-last+m0.9+lr2e-3': dict(momentum=0.9, dino_kwargs=dict(out_dim=256, head_kwargs=dict(norm_last_layer=False))),
    'out256+m0.9': dict(momentum=0.9, dino_kwargs=dict(out_dim=256)),
}
LR = {'out256+no-norm-last+m0.9+lr2e-3': 2e-3}

def grid(quick:bool, dino:bool=False):
    if dino:   # second round: DINO variants at the two affordable CPU schedules
        vs = ['out256+no-norm-last+m0.9', 'out256+no-norm-last+m0.8', 'out128+no-norm-last+m0.9', 'out256+no-norm-last+m0.9+lr2e-3', 'out256+m0.9']
        return [('dino', s, e, v) for v in vs for s, e in ((48, 2), (64, 1))]
    if quick: return [('simclr', None, 1, 'default'), ('dino', None, 1, 'no-norm-last+m0.9')]
    runs = [(m, s, e, 'default') for m in ('supervised', 'simclr', 'swav', 'dino') for s, e in itertools.product((48, 64), (1, 2))]
    first = ['no-norm-last', 'momentum-0.9', 'no-norm-last+m0.9', 'out256+no-norm-last+m0.9', 'no-bn+no-norm-last+m0.9']
    runs += [('dino', s, e, v) for v in first for s, e in ((48, 1), (48, 2), (64, 2))]
    return runs

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true', help='tiny preset, two runs')
    ap.add_argument('--dino', action='store_true', help='the second round: DINO variants only')
    ap.add_argument('--device', default=None)
    ap.add_argument('--out', default='bench/_out/ssl_schedule.md')
    args = ap.parse_args()
    preset = 'tiny' if args.quick else 'demo'
    p = get_preset(preset)
    device = get_device(args.device)
    t0 = time.time()
    root = make_synth_dataset(preset=preset, progress=False)
    cache = CellCache.from_folder(root, size=p.size)
    print(f"data: {len(cache.index)} cells ({time.time() - t0:.0f} s); device {device}", flush=True)
    rows = [dict(method='random', ssl_size=None, epochs=0, variant='default', seconds=0.0,
                 **evaluate_encoder(pretrain('random', cache, preset=preset, out=tempfile.mkdtemp()), cache))]
    print(rows[-1], flush=True)
    for method, size, epochs, variant in grid(args.quick, args.dino):
        kw = DINO_VARIANTS[variant] if method == 'dino' else {}
        with tempfile.TemporaryDirectory() as d:
            t = time.time()
            enc = pretrain(method, cache, preset=preset, out=d, device=device, progress=False, monitor=False,
                           learner_kwargs=kw or None, ssl_epochs=epochs, ssl_size=size,
                           **({'ssl_lr': LR[variant]} if variant in LR else {}))
            secs = time.time() - t
            rows.append(dict(method=method, ssl_size=size or p.size, epochs=epochs, variant=variant, seconds=round(secs, 1),
                             **evaluate_encoder(enc, cache)))
        print(rows[-1], flush=True)
    df = pd.DataFrame(rows).round(3)
    table = df.to_markdown(index=False)
    print(table)
    out = Path(args.out); out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"device: {device} ({torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu'}), torch {torch.__version__}\n\n{table}\n")

if __name__ == '__main__': main()
