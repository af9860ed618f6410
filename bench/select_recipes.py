"""Recipe selection on development datasets, never on the evaluation data.

The demo's recipes are chosen here, with the same budget for every method, on two development
configurations of the generator that the experiment never reads:

- `dev-od`:  SynthAML seed 1, the evaluation set's stain family ('od'), with its own companion set (seed 1);
- `dev-rgb`: SynthAML seed 2, another stain family ('rgb': hue, saturation, channel gains and gammas,
  an illumination ramp), with its own companion set (seed 2, 'rgb').

(The evaluation set is SynthAML seed 0 with its companion seed 0.) Every method gets the same number of
candidates and the demo schedule; each candidate changes one thing of `generic`:

- `generic`        the generic stain augmentation at the method's base learning rate (`BASE_LR`);
- `generic-2xlr`   the same at twice the learning rate;
- `generic-0.5xlr` the same at half the learning rate;
- `generic-own`    one knob of the method's own (`OWN`): the one its authors name as the first to try;
- `od`             the generator's own stain family as augmentation (the oracle), at the base learning rate:
                   not a candidate, it measures what replacing the oracle costs or gains.

plus the untrained encoder (`random`), and one precision check (SimCLR `generic` in fp32, against the default).
Each encoder is judged by `evaluate_encoder` on the probe patients of the development set's companion:
kNN over Matek's classes on cells no encoder trained on. A method's chosen candidate is the one with
the best mean kNN over the two configurations. Encoders are cached under bench/_out/home (rerun to resume).

Stage 2, the schedule (`--stage schedule`). Three seeds of the demo must fit 30 minutes on the 2-core CPU, and with
stage 1's schedule (3 epochs of 48 px views, the local crops of SwAV and DINO) they took 39.8 minutes, 71% of it
pretraining. So every method's stage-1 choice (`STAGE1`) is measured again at three cheaper schedules, the same three
for every method (`SCHEDULES`): 32 px views for as many epochs, 32 px views for 4/3 as many, 40 px views for 2/3 as
many (the supervised baseline's 15 epochs scale the same way). At this budget no method gets local crops: each step
of every method sees two views per cell (the supervised baseline one), so SwAV and DINO cost about what SimCLR does.
The chosen schedule is the candidate with the best mean kNN over the two configurations; stage 1's 48 px schedule is
not a candidate (it is over the budget), only the reference for what the cheaper schedule costs.

Each row of the log records the key of the encoder it measured; a row whose encoder is no longer the one its
recipe gives (a changed preset or default) is measured again. The log is kept in bench/records/.

Stage 3, the scale each encoder is judged at (`--stage scale`). An encoder trained on 32 px views has seen cells only
at that scale; judged on 64 px cells it is judged at a scale it never saw. So every method's demo encoder (the `demo`
preset's recipes as they stand, untrained encoder included) is pretrained with two seeds on each development
configuration and judged by the kNN probe at each size of `SIZES`; a method's feature size (`Preset.feature_sizes`) is
the size with the best mean kNN over configurations and seeds. Its log is records/select_scale.jsonl, its table
records/select_scale.md; a row whose encoder key no longer matches is measured again.

    python bench/select_recipes.py                    # stage 1: about 70 minutes on the 2-core CPU, alone
    python bench/select_recipes.py --stage schedule   # stage 2: about 17 minutes
    python bench/select_recipes.py --stage scale      # stage 3: about 20 minutes
"""
import os, sys, json, time, argparse
from pathlib import Path

OUT = Path(__file__).parent/'_out'
RECORDS = Path(__file__).parent/'records'
os.environ.setdefault('AMLNB_HOME', str(OUT/'home'))
import warnings; warnings.filterwarnings('ignore')
import pandas as pd
from amlnb.core import get_preset
from amlnb.synth import make_synth_dataset, make_synth_matek
from amlnb.cache import CellCache
from amlnb.ssl import pretrain, evaluate_encoder, labelled_cells, get_recipe
from amlnb.models import load_encoder

CONFIGS = {'dev-od': dict(seed=1, stain_model='od'), 'dev-rgb': dict(seed=2, stain_model='rgb')}
METHODS = ('supervised', 'simclr', 'swav', 'dino')

FIXED = {'supervised': {'epochs': 15}}   # budget, not chosen: the supervised baseline's epochs on its smaller labelled set
BASE_LR = {'dino': 2e-3}          # the method's base learning rate (default 1e-3): fixed here, not read from the preset it chooses
OWN = {'supervised': {'wd': 0.05},               # stronger weight decay for a short supervised schedule
       'simclr': {'temperature': 0.1},           # a sharper NT-Xent
       'swav': {'n_local': 2},                   # fewer small crops
       'dino': {'norm_last_layer': True}}        # a weight-normalised last layer: DINO's stable setting

# stage 1's choice per method (its table: bench/RESULTS.md, "Choosing the recipes"): the base of stage 2
STAGE1 = {'supervised': ('generic-2xlr', {'lr': 2e-3}), 'simclr': ('generic-2xlr', {'lr': 2e-3}),
          'swav': ('generic-own', {'lr': 1e-3, 'n_local': 2}), 'dino': ('generic-own', {'lr': 2e-3, 'norm_last_layer': True})}
SCHEDULES = {'32px': (32, 1), '32px-4/3ep': (32, 4/3), '40px-2/3ep': (40, 2/3)}   # name -> (view side, epochs factor)

def schedules(method:str, epochs:int) -> dict:
    "name -> recipe overrides of stage 2: the stage-1 choice at each cheaper schedule, without local crops"
    base = {**STAGE1[method][1], **({'n_local': 0} if method in ('swav', 'dino') else {})}
    return {name: {**base, 'size': size, 'epochs': round(epochs * f)} for name, (size, f) in SCHEDULES.items()}

def candidates(method:str) -> dict:
    "name -> recipe overrides; the same number for every method, each one change from `generic`"
    lr = BASE_LR.get(method, 1e-3)
    return {'generic': {'lr': lr}, 'generic-2xlr': {'lr': 2 * lr}, 'generic-0.5xlr': {'lr': lr / 2},
            'generic-own': {'lr': lr, **OWN[method]}, 'od': {'lr': lr, 'views': {'stain': 'od'}}}

def dev_sets(name:str, preset, patients_per_class:int):
    "(CellCache of the development SynthAML, CellCache of its companion) for configuration `name`"
    c = CONFIGS[name]
    root = make_synth_dataset(preset=preset.name, seed=c['seed'], size=preset.size, patients_per_class=patients_per_class,
                              cells_per_patient=tuple(preset.cells_per_patient), stain_model=c['stain_model'], progress=False)
    comp = make_synth_matek(preset=preset.name, seed=c['seed'], size=preset.size, stain_model=c['stain_model'], progress=False)
    return CellCache.from_folder(root, size=preset.size), labelled_cells(comp, preset.size)

def measure(runs, p, a, log, done) -> pd.DataFrame:
    "Pretrain and judge every run not yet in the log with its current key; the log's rows as a table"
    print(f"{len(runs)} runs on {', '.join(CONFIGS)}; base schedule: {p.ssl_epochs} epochs at {p.ssl_size} px, batch {p.ssl_batch_size}", flush=True)
    for cfg, m, name, ov in runs:
        data, comp = dev_sets(cfg, p, a.patients_per_class)
        t = time.time()
        enc = pretrain(m, data, preset=p, seed=0, recipe=ov, supervised_data=comp, progress=False, monitor=False)
        secs, key = time.time() - t, load_encoder(enc).meta['key']
        if done.get((cfg, m, name), {}).get('key') == key: continue
        prev = done.get((cfg, m, name), {}).get('seconds')
        row = dict(config=cfg, method=m, candidate=name, overrides=ov, key=key,
                   seconds=round(secs if secs > 5 or prev is None else prev, 1), **evaluate_encoder(enc, comp))
        done[(cfg, m, name)] = row
        with open(log, 'a') as f: f.write(json.dumps(row) + '\n')
        print(f"{cfg:8s} {m:10s} {name:15s} kNN {row['knn_cell_type']:.3f}  malignant {row['knn_malignant_bal']:.3f}  ({row['seconds']:.0f} s)", flush=True)
    wanted = {(c, m, n) for c, m, n, _ in runs}
    df = pd.DataFrame(done.values())
    return df[[(r.config, r.method, r.candidate) in wanted for r in df.itertuples()]]

SIZES = (32, 40, 48, 64)      # stage 3: cell sides at which each encoder is judged
SCALE_SEEDS = (0, 1)          # stage 3: pretraining seeds per method and configuration

def scale_stage(a, methods) -> pd.DataFrame:
    "Stage 3: every method's demo encoder, two seeds per development configuration, judged by kNN at every size of SIZES"
    p = get_preset('demo')
    log = RECORDS/'select_scale.jsonl'
    done = {(r['config'], r['method'], r['seed'], r['size']): r for r in map(json.loads, log.read_text().splitlines())} if log.exists() else {}
    print(f"stage 3: {len(methods) + 1} encoders x {len(SCALE_SEEDS)} seeds x {len(CONFIGS)} configurations, kNN at {SIZES} px", flush=True)
    for cfg in CONFIGS:
        data, comp = dev_sets(cfg, p, a.patients_per_class)
        for m in ['random', *methods]:
            for seed in SCALE_SEEDS:
                t = time.time()
                enc = pretrain(m, data, preset=p, seed=seed, supervised_data=comp, progress=False, monitor=False)
                secs, key = time.time() - t, load_encoder(enc).meta['key']
                for size in SIZES:
                    if done.get((cfg, m, seed, size), {}).get('key') == key: continue
                    row = dict(config=cfg, method=m, seed=seed, size=size, view_size=get_recipe(m, p).size, key=key,
                               seconds=round(secs, 1), **evaluate_encoder(enc, comp, size=size))
                    done[(cfg, m, seed, size)] = row
                    with open(log, 'a') as f: f.write(json.dumps(row) + '\n')
                    print(f"{cfg:8s} {m:10s} seed {seed} at {size} px: kNN {row['knn_cell_type']:.3f}", flush=True)
    df = pd.DataFrame(done.values())
    df = df[df.method.isin(['random', *methods]) & df['size'].isin(SIZES)]
    table = df.pivot_table(index='method', columns='size', values='knn_cell_type').reindex(['random', *methods])
    per_cfg = df.pivot_table(index=['method', 'config'], columns='size', values='knn_cell_type')
    view = df.groupby('method').view_size.first().reindex(table.index)
    chosen = pd.DataFrame({'view size': view, 'chosen size': table.idxmax(1),
                           'kNN at view size': pd.Series({m: table.loc[m, view[m]] for m in table.index}),
                           'kNN at chosen size': table.max(1), 'kNN at 64 px': table[64],
                           'margin over untrained, each at its chosen size': table.max(1) - table.loc['random'].max(),
                           'margin over untrained, both at 64 px': table[64] - table.loc['random', 64]}).reindex(table.index)
    lines = ['## Stage 3: kNN cell type per cell size (mean over configurations and seeds)', '', table.round(3).to_markdown(), '',
             '## Stage 3: per configuration (mean over seeds)', '', per_cfg.round(3).to_markdown(), '',
             '## Stage 3: chosen size per method', '', chosen.round(3).to_markdown(), '']
    for f in (OUT/'select_scale.md', RECORDS/'select_scale.md'): f.write_text('\n'.join(lines))
    print('\n'.join(lines))
    return df

def knn_table(df) -> pd.DataFrame:
    table = df.pivot_table(index=['method', 'candidate'], columns='config', values='knn_cell_type')
    table['mean'] = table.mean(1)
    return table

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--patients-per-class', type=int, default=12, help="patients per class of each development SynthAML")
    ap.add_argument('--methods', default=','.join(METHODS))
    ap.add_argument('--stage', choices=('methods', 'schedule', 'scale'), default='methods',
                    help="stage 1 (methods' knobs), stage 2 (the schedule) or stage 3 (the scale each encoder is judged at)")
    a = ap.parse_args()
    p = get_preset('demo', recipes=FIXED)       # the demo schedule, none of the choices this script makes
    OUT.mkdir(exist_ok=True); RECORDS.mkdir(exist_ok=True)
    log = RECORDS/'select_recipes.jsonl'
    done = {(r['config'], r['method'], r['candidate']): r for r in map(json.loads, log.read_text().splitlines())} if log.exists() else {}  # last row wins
    methods = a.methods.split(',')
    if a.stage == 'scale': return scale_stage(a, methods)
    runs = [(cfg, 'random', 'untrained', None) for cfg in CONFIGS]
    if a.stage == 'schedule':
        eps = lambda m: FIXED.get(m, {}).get('epochs', p.ssl_epochs)
        runs += [(cfg, m, name, ov) for m in methods for name, ov in schedules(m, eps(m)).items() for cfg in CONFIGS]
        return report(measure(runs, p, a, log, done), methods, lambda names: names, [OUT/'select_schedule.md', RECORDS/'select_schedule.md'],
                      prefix='Stage 2: ', chosen_title='chosen schedule')
    runs += [(cfg, m, name, ov) for m in methods for name, ov in candidates(m).items() for cfg in CONFIGS]
    runs += [(cfg, 'simclr', 'generic-fp32', {**candidates('simclr')['generic'], 'precision': 'fp32'}) for cfg in CONFIGS]
    df = measure(runs, p, a, log, done)
    report(df, methods, lambda names: [c for c in names if c.startswith('generic') and c != 'generic-fp32'], [OUT/'select_recipes.md'],
           extra=lambda t: {f'{c} generic - od': t.loc['generic', c] - t.loc['od', c] for c in CONFIGS})

def report(df, methods, eligible, files, prefix='', chosen_title='Chosen', extra=None):
    "The tables of a stage: kNN per candidate, each method's choice among `eligible(names)` with its margins, seconds"
    table = knn_table(df)
    base = table.loc[('random', 'untrained')]
    lines = [f'## {prefix}kNN cell type {"per schedule " if prefix else "(Matek classes) "}on the development companions\' probe patients',
             '', table.round(3).to_markdown(), '']
    chosen = []
    for m in methods:
        t = table.loc[m]
        pick = t.loc[eligible(list(t.index))]['mean'].idxmax()
        chosen.append(dict(method=m, chosen=pick, **{f'{c} kNN': t.loc[pick, c] for c in CONFIGS},
                           **{f'{c} margin over untrained': t.loc[pick, c] - base[c] for c in CONFIGS}, **(extra(t) if extra else {})))
    lines += [f'## {prefix}{chosen_title}', '', pd.DataFrame(chosen).set_index('method').round(3).to_markdown(), '']
    secs = df.groupby(['method', 'candidate']).seconds.mean().unstack()
    lines += [f'## {prefix}{"s" if prefix else "S"}econds per pretraining (mean of the two configurations)', '', secs.round(0).to_markdown(), '']
    for f in files: f.write_text('\n'.join(lines))
    print('\n'.join(lines))

if __name__ == '__main__': main()
