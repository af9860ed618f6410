"""Recipe selection on development datasets, never on the evaluation data; and the stain-robustness curves.

The experiment's data is SynthAML seed 0 with its companion seed 0 (stain family 'od'). Nothing here reads it. The demo's
recipes are chosen on three development configurations, none of which the experiment reads:

- `dev-od`:     SynthAML seed 1, the evaluation set's stain family ('od'), with its own companion set (seed 1);
- `dev-rgb`:    SynthAML seed 2, another stain family ('rgb': hue, saturation, channel gains and gammas, an illumination
                ramp), with its own companion set (seed 2);
- `dev-sketch`: another generator (`sketch_smear.py`: its own drawing of the cells and its own stain model: turned dye
                colours, dye amounts, a tone curve, a tint), seeds 3 (cells to pretrain on) and 103 (labelled cells).
                The augmentation was not built from it.

Stage `select` (the default). Every method gets the same candidates, each one change from the demo preset's recipe:

- `demo`      the demo preset's recipe as the selection found it (`START_RECIPES`): each method's published values
              (SwAV's prototypes and epsilon, DINO's output size, momentum, rates and schedules: see `06b_swav`,
              `06c_dino`) at the demo budget;
- `lr-2x`     the same at twice the learning rate;
- `stain-2x`  the same with every range of the generic stain augmentation doubled (HED scale and shift, RGB mixing and
              offset, gamma), and the colour jitter's hue and saturation too: views meant to cover stronger stain shifts;

two pretraining seeds per candidate and configuration (0 and 1), and the untrained encoder with the same two seeds.
Each development set is the demo's size (20 patients per class, 50-110 cells each; the sketch pool 100 patients):
schedules are counted in epochs, so a smaller set would train every candidate for fewer steps than the demo does.
Each encoder is judged by the kNN probe (`evaluate_encoder`) on the probe patients of its configuration's labelled set
(cells no encoder trained on), at each cell size of `SIZES`, and the vote is kept per probe patient. A method's choice
is the (candidate, size) with the best mean kNN over configurations and seeds; the untrained encoder's size likewise.
Its margin over the untrained encoder is then given per configuration with a paired 95% bootstrap interval: both
encoders vote on the same query cells, and each replicate draws probe patients with replacement once, for both seeds
alike (a patient's difficulty is shared by the seeds, so it must not average out across them). The interval is
conditional on the choice: the best of several candidates is optimistic by the winner's margin over the others.

Stage `robustness`. The chosen recipe of every method (and the untrained encoder), one seed, pretrained and judged on
each configuration at each stain strength of `STRENGTHS`: 0 (every patient stained alike), 1 (the configuration as
above) and 2 (the generator's stain ranges doubled, the strongest shift the curves claim to be realistic: about what
the generic stain augmentation's own ranges span). The curve is the kNN margin over the untrained encoder against the
strength, with the same paired interval.

Every row of the log (records/select_dev.jsonl) holds the full recipe, the encoder's key and the per-patient votes, so
the tables are rebuilt from the log alone (`--from-log`); a row whose encoder key no longer matches is measured again.
Encoders are cached under bench/_out/home (rerun to resume).

    python bench/select_recipes.py                       # stage select: 72 pretrainings, about 80 minutes alone
    python bench/select_recipes.py --stage robustness    # about 20 minutes
    python bench/select_recipes.py --from-log            # both stages' tables from the log, no training
"""
import os, sys, json, time, argparse
from dataclasses import asdict
from pathlib import Path

OUT = Path(__file__).parent/'_out'
RECORDS = Path(__file__).parent/'records'
LOG = RECORDS/'select_dev.jsonl'
sys.path.insert(0, str(Path(__file__).parent))
import warnings; warnings.filterwarnings('ignore')
import numpy as np, pandas as pd

METHODS = ('supervised', 'simclr', 'swav', 'dino')
CONFIGS = {'dev-od': dict(generator='synth', seed=1, stain_model='od'),
           'dev-rgb': dict(generator='synth', seed=2, stain_model='rgb'),
           'dev-sketch': dict(generator='sketch', seed=3)}
SEEDS = (0, 1)                 # pretraining seeds per candidate (and initialisations of the untrained encoder)
SIZES = (32, 40, 48, 64)       # cell sides at which each encoder is judged
STRENGTHS = (0.0, 1.0, 2.0)    # stage robustness: scale of the stain variation between patients
PATIENTS_PER_CLASS = 20        # patients per class of each development SynthAML, as the demo's (the sketch pool: 5x as many patients)
N_BOOT = 2000

from amlnb.core import STAIN_2X as STRONG_STAIN   # the stain-2x candidate's view arguments (the demo preset now holds them)

# The demo preset's per-method recipes before this selection: what every candidate changes one thing of. The demo preset
# has since taken the choices, so the candidates start from here, and a rerun measures the same encoders as the log.
START_RECIPES = {'supervised': dict(epochs=20), 'swav': dict(lr=1e-3, n_local=0, epochs=4),
                 'dino': dict(n_local=0, size=40, epochs=2, lr=5e-4)}

def start_preset():
    "The demo preset with the recipes the selection started from"
    from amlnb.core import get_preset
    return get_preset('demo', recipes=START_RECIPES)

def candidates(method:str, p) -> dict:
    "name -> recipe overrides of `p`'s recipe (`start_preset()` here); the same three for every method"
    from amlnb.learner import get_recipe
    return {'demo': {}, 'lr-2x': {'lr': 2 * get_recipe(method, p).lr}, 'stain-2x': {'views': STRONG_STAIN}}

def dev_sets(name:str, p, strength:float=1.0):
    "(CellCache of cells to pretrain on, CellCache of labelled cells with probe patients) of configuration `name`"
    from amlnb.synth import make_synth_dataset, make_synth_matek
    from amlnb.cache import CellCache
    from amlnb.ssl import labelled_cells
    from amlnb.core import amlnb_home
    c = CONFIGS[name]
    if c['generator'] == 'sketch':
        from sketch_smear import write_sketch_set
        lo, hi = p.cells_per_patient
        home = amlnb_home('sketch')
        pool = write_sketch_set(home/f"pool-{c['seed']}-{strength:g}", c['seed'], 5 * PATIENTS_PER_CLASS, (lo, hi), p.size, strength, 0.0)
        comp = write_sketch_set(home/f"labelled-{c['seed'] + 100}-{strength:g}", c['seed'] + 100, 2 * p.patients_per_class,
                                (round(0.6 * lo), round(0.6 * hi)), p.size, strength)
        return labelled_cells(pool, p.size), labelled_cells(comp, p.size)
    root = make_synth_dataset(preset=p.name, seed=c['seed'], size=p.size, patients_per_class=PATIENTS_PER_CLASS,
                              cells_per_patient=tuple(p.cells_per_patient), stain_model=c['stain_model'],
                              stain_strength=strength, progress=False)
    comp = make_synth_matek(preset=p.name, seed=c['seed'], size=p.size, stain_model=c['stain_model'], stain_strength=strength,
                            progress=False)
    return CellCache.from_folder(root, size=p.size), labelled_cells(comp, p.size)

def read_log() -> dict:
    "(stage, config, strength, method, candidate, seed, size) -> row; the last row of a key wins"
    rows = map(json.loads, LOG.read_text().splitlines()) if LOG.exists() else []
    return {(r['stage'], r['config'], r['strength'], r['method'], r['candidate'], r['seed'], r['size']): r for r in rows}

def measure(stage, runs, p, done):
    "Pretrain and judge each (config, strength, method, candidate, overrides, seed) at every size, unless logged with the same key"
    from amlnb.ssl import pretrain, pretrain_inputs, evaluate_encoder, convergence
    from amlnb.learner import get_recipe
    from amlnb.models import load_encoder
    sets = {}
    for cfg, strength, m, cand, ov, seed in runs:
        if (cfg, strength) not in sets: sets = {(cfg, strength): dev_sets(cfg, p, strength)}
        data, comp = sets[(cfg, strength)]
        t = time.time()
        enc = pretrain(**pretrain_inputs(m, data, p, recipe=ov, supervised_data=comp, monitor=False), seed=seed, progress=False)
        secs, key = time.time() - t, load_encoder(enc).meta['key']
        recipe = json.loads(json.dumps(asdict(get_recipe(m, p, **ov)), default=str)) if m != 'random' else None
        diag = _diagnostics(convergence(enc)) if m != 'random' else None
        for size in SIZES:
            k = (stage, cfg, strength, m, cand, seed, size)
            if done.get(k, {}).get('key') == key: continue
            prev = done.get(k, {}).get('seconds')
            row = dict(stage=stage, config=cfg, strength=strength, method=m, candidate=cand, seed=seed, size=size,
                       overrides=ov, recipe=recipe, key=key, seconds=round(secs if secs > 5 or prev is None else prev, 1), convergence=diag,
                       **evaluate_encoder(enc, comp, size=size, per_patient=True))
            done[k] = row
            with open(LOG, 'a') as f: f.write(json.dumps(row) + '\n')
            print(f"{stage} {cfg:10s} s={strength:g} {m:10s} {cand:9s} seed {seed} {size} px: kNN {row['knn_cell_type']:.3f}"
                  f" ({row['seconds']:.0f} s)", flush=True)

def _diagnostics(c:dict) -> dict:
    "The JSON-safe part of `convergence`'s verdict on an encoder (its training history's last epoch, and its flags)"
    keep = ('loss_over_ln_k', 'teacher_entropy', 'kl_teacher_student', 'prototype_usage', 'flags')
    return {k: (round(float(c[k]), 4) if k != 'flags' else c[k]) for k in keep if k in c and c[k] == c[k]}

def backfill_convergence():
    "Add `convergence` to logged rows that lack it, from the encoders they measured (bench/_out/home/encoders/<method>-<key>)"
    from amlnb.models import load_encoder
    from amlnb.ssl import convergence
    home = Path(os.environ.get('AMLNB_HOME', OUT/'home'))/'encoders'
    rows, cache = [json.loads(l) for l in LOG.read_text().splitlines()], {}
    for r in rows:
        if r['method'] == 'random' or r.get('convergence') is not None: continue
        path = home/f"{r['method']}-{r['key']}"/'encoder.pth'
        if not path.exists(): continue
        if r['key'] not in cache: cache[r['key']] = _diagnostics(convergence(load_encoder(path)))
        r['convergence'] = cache[r['key']]
    tmp = LOG.with_suffix('.tmp'); tmp.write_text(''.join(json.dumps(r) + '\n' for r in rows)); tmp.replace(LOG)
    print(f"convergence added to the rows of {len(cache)} encoders")

def diagnostics_table(done, chosen) -> list:
    "Each method's chosen candidate: its pretraining diagnostics at the last epoch, mean over configurations and seeds, and its flags"
    rows = []
    for m in METHODS:
        if m not in chosen: continue
        rs = [r for r in done.values() if r['stage'] == 'select' and r['method'] == m and r['candidate'] == chosen[m][0]
              and r['size'] == chosen[m][1] and r.get('convergence')]
        if not rs: continue
        d = pd.DataFrame([r['convergence'] for r in rs])
        row = dict(method=m, candidate=chosen[m][0], runs=len(rs), **d.drop(columns='flags', errors='ignore').mean().round(3).to_dict())
        flags = [f for f in d.get('flags', pd.Series(dtype=str)) if f]
        row['flagged runs'] = f"{len(flags)} of {len(rs)}" + (f" ({'; '.join(sorted(set(flags)))})" if flags else '')
        rows.append(row)
    if not rows: return []
    return ['## Did the chosen pretrainings converge? (last epoch, mean over configurations and seeds)', '',
            pd.DataFrame(rows).set_index('method').to_markdown(), '']

def paired_margin(rows_a, rows_b, rng) -> tuple:
    "Mean over seeds of kNN(a) - kNN(b), with a 95% percentile interval; each replicate draws probe patients once, for every seed"
    seeds = sorted(set(rows_a) & set(rows_b))
    pats = sorted(rows_a[seeds[0]]['per_patient'])
    def counts(rows, s):
        pp = rows[s]['per_patient']
        return np.array([pp[q] for q in pats], dtype=float)        # (patients, [hits, cells])
    A, B = (np.stack([counts(r, s) for s in seeds]) for r in (rows_a, rows_b))   # (seeds, patients, 2)
    est = np.mean(A[..., 0].sum(1) / A[..., 1].sum(1) - B[..., 0].sum(1) / B[..., 1].sum(1))
    draw = rng.integers(0, len(pats), (N_BOOT, len(pats)))
    w = np.stack([np.bincount(d, minlength=len(pats)) for d in draw]).astype(float)        # (boot, patients)
    acc = lambda X: (w @ X[..., 0].T) / (w @ X[..., 1].T)                                   # (boot, seeds)
    boot = (acc(A) - acc(B)).mean(1)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return est, lo, hi, [float(A[s, :, 0].sum() / A[s, :, 1].sum() - B[s, :, 0].sum() / B[s, :, 1].sum()) for s in range(len(seeds))]

def _all_rows():
    "Every row of this script's log, of its first pass on smaller sets (select_dev_12ppc.jsonl) and of stage 3's (sizes) log"
    for f in (LOG, RECORDS/'select_dev_12ppc.jsonl', RECORDS/'select_scale.jsonl'):
        if f.exists(): yield from map(json.loads, f.read_text().splitlines())

def select_tables(done) -> tuple:
    "The stage's tables (markdown lines) and each method's choice {method: (candidate, size)}"
    df = pd.DataFrame([r for r in done.values() if r['stage'] == 'select'])
    df = df[df.config.isin(CONFIGS) & df['size'].isin(SIZES)]
    mean = df.groupby(['method', 'candidate', 'size']).knn_cell_type.mean().unstack('size')
    per_cfg = df.groupby(['method', 'candidate', 'config']).knn_cell_type.mean().unstack('config')
    chosen = {m: mean.loc[m].stack().idxmax() for m in ['random', *METHODS] if m in mean.index.get_level_values(0)}
    rng = np.random.default_rng(0)
    rows = []
    by = lambda m, cand, size, cfg: {r['seed']: r for r in done.values() if r['stage'] == 'select' and r['method'] == m
                                     and r['candidate'] == cand and r['size'] == size and r['config'] == cfg}
    for m in METHODS:
        if m not in chosen: continue
        (cand, size), (rc, rs) = chosen[m], chosen['random']
        row = dict(method=m, candidate=cand, size=size)
        for cfg in CONFIGS:
            a, b = by(m, cand, size, cfg), by('random', rc, rs, cfg)
            if not a or not b: continue
            est, lo, hi, per_seed = paired_margin(a, b, rng)
            row[f'{cfg} margin [95% CI]'] = f"{est:+.3f} [{lo:+.3f}, {hi:+.3f}]"
            row[f'{cfg} per seed'] = ' / '.join(f'{x:+.3f}' for x in per_seed)
        rows.append(row)
    # an encoder found in the cache took about a second to load: its training time is that of the row that trained it
    # (here, or in an earlier log: the supervised encoders do not depend on the development set's size)
    trained = {r['key']: r['seconds'] for r in _all_rows() if r['seconds'] > 5}
    df = df.assign(seconds=[trained.get(k, s) for k, s in zip(df.key, df.seconds)])
    secs = df[(df['size'] == SIZES[0]) & (df.method != 'random')].groupby(['method', 'candidate']).seconds.mean().unstack()
    flat = lambda t: t.round(3).reset_index().to_markdown(index=False)
    lines = ['## kNN cell type per candidate and cell size (mean over configurations and seeds)', '', flat(mean), '',
             '## kNN cell type per candidate and configuration (mean over seeds and sizes)', '', flat(per_cfg), '',
             f"## Chosen (candidate, size) and margin over the untrained encoder (random at {chosen['random'][1]} px), paired over probe patients",
             '', pd.DataFrame(rows).set_index('method').to_markdown(), '',
             '## Seconds per pretraining (mean over configurations and seeds)', '', secs.round(0).to_markdown(), '']
    return lines, chosen

def robustness_tables(done, chosen) -> list:
    "Margin over the untrained encoder per method, configuration and stain strength (one seed)"
    rng = np.random.default_rng(0)
    rob = [r for r in done.values() if r['stage'] in ('robustness', 'select') and r['seed'] == 0]
    def one(m, cfg, s):
        cand, size = chosen[m]
        hits = [r for r in rob if r['method'] == m and r['candidate'] == cand and r['size'] == size and r['config'] == cfg
                and r['strength'] == s]
        return {0: hits[-1]} if hits else None
    rows, knn = [], []
    for cfg in CONFIGS:
        for s in STRENGTHS:
            base = one('random', cfg, s)
            for m in METHODS:
                a = one(m, cfg, s)
                if not a or not base: continue
                est, lo, hi, _ = paired_margin(a, base, rng)
                rows.append(dict(config=cfg, strength=s, method=m, margin=est, lo=lo, hi=hi, knn=a[0]['knn_cell_type'],
                                 random=base[0]['knn_cell_type']))
    if not rows: return [], pd.DataFrame()
    t = pd.DataFrame(rows)
    show = t.assign(cell=[f"{r.margin:+.3f} [{r.lo:+.3f}, {r.hi:+.3f}]" for r in t.itertuples()]).pivot_table(
        index=['config', 'method'], columns='strength', values='cell', aggfunc='first')
    rnd = t.groupby(['config', 'strength']).random.first().unstack()
    show.columns = [f'strength {c:g}' for c in show.columns]
    rnd.columns = [f'strength {c:g}' for c in rnd.columns]
    return ['## Stain robustness: kNN margin over the untrained encoder [paired 95% CI] per stain strength (seed 0)', '',
            show.reset_index().to_markdown(index=False), '', '## The untrained encoder\'s kNN per stain strength', '',
            rnd.round(3).reset_index().to_markdown(index=False), ''], t

def write(lines, name):
    for f in (OUT/name, RECORDS/name): f.write_text('\n'.join(lines))
    print('\n'.join(lines))

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--stage', choices=('select', 'robustness'), default='select')
    ap.add_argument('--from-log', action='store_true', help="rebuild every table from the log, train nothing")
    ap.add_argument('--methods', default=','.join(METHODS))
    ap.add_argument('--backfill', action='store_true', help="add pretraining diagnostics to logged rows from their encoders")
    a = ap.parse_args()
    os.environ.setdefault('AMLNB_HOME', str(OUT/'home'))     # encoders and datasets of this script stay in bench/_out
    p = start_preset()
    OUT.mkdir(exist_ok=True); RECORDS.mkdir(exist_ok=True)
    done = read_log()
    methods = a.methods.split(',')
    if not a.from_log and a.stage == 'select':
        runs = [(cfg, 1.0, 'random', 'untrained', {}, s) for cfg in CONFIGS for s in SEEDS]
        runs += [(cfg, 1.0, m, cand, ov, s) for cfg in CONFIGS for m in methods for cand, ov in candidates(m, p).items() for s in SEEDS]
        print(f"stage select: {len(runs)} encoders on {', '.join(CONFIGS)}; kNN at {SIZES} px", flush=True)
        measure('select', runs, p, done)
    if a.backfill: backfill_convergence(); done = read_log()
    lines, chosen = select_tables(done)
    lines += diagnostics_table(done, chosen)
    write(lines, 'select_dev.md')
    if not a.from_log and a.stage == 'robustness':
        runs = []
        for cfg in CONFIGS:
            for s in STRENGTHS:
                if s == 1.0: continue     # strength 1 is the selection's own row (seed 0)
                runs.append((cfg, s, 'random', 'untrained', {}, 0))
                runs += [(cfg, s, m, chosen[m][0], candidates(m, p)[chosen[m][0]], 0) for m in methods]
        print(f"stage robustness: {len(runs)} encoders", flush=True)
        measure('robustness', runs, p, done)
    rob, t = robustness_tables(done, chosen)
    if rob:
        write(rob, 'select_robustness.md')
        t.to_csv(RECORDS/'select_robustness.csv', index=False)

if __name__ == '__main__': main()
