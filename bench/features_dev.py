"""Frozen encoders in bf16 on the CPU, judged on development data before the experiment adopts it.

`bench/features_precision.py` times one untrained ResNet18 in fp32 and under bf16 autocast. Whether the
experiment may run its frozen encoders in bf16 (its feature stores and its kNN probes) is decided here,
on the development configuration `dev-od` of `select_recipes.py` (SynthAML seed 1 with its companion),
never on the evaluation set. For each of the demo's five encoders, pretrained on `dev-od` with the demo
recipes, in fp32 and in bf16:

- the feature store of the development set's cells (seconds) and the 5-fold attention-MIL on it (macro-F1);
- the kNN probe on the companion's probe patients (seconds, kNN cell-type accuracy).

The criterion, fixed before the run: bf16 is adopted if every encoder's kNN accuracy moves by at most 0.01
and the five encoders' macro-F1 move by at most 0.02 on average (the MIL trains on slightly different numbers,
so its result moves by what any perturbation moves it). Run alone on the machine:

    python bench/features_dev.py            # about 8 minutes on the 2-core CPU, alone
"""
import os, sys, json, time, tempfile
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from select_recipes import dev_sets, OUT, RECORDS       # sets AMLNB_HOME to bench/_out/home
import pandas as pd
from amlnb.core import get_preset
from amlnb.ssl import pretrain, pretrain_inputs, evaluate_encoder, METHODS
from amlnb.features import extract_features
from amlnb.experiment import cached_cv
from amlnb.stats import reported

def main():
    p = get_preset('demo')
    data, comp = dev_sets('dev-od', p, 12)
    rows, tmp = [], Path(tempfile.mkdtemp())
    for m in METHODS:
        enc = pretrain(**pretrain_inputs(m, data, p, supervised_data=comp, monitor=False), seed=0, progress=False)
        for prec in ('fp32', 'bf16'):
            t = time.time(); store = extract_features(enc, data, precision=prec, store_dir=tmp/prec, progress=False); t_feat = time.time() - t
            t = time.time(); knn = evaluate_encoder(enc, comp, precision=prec); t_knn = time.time() - t
            res, t_cv, _ = cached_cv(store, p, seed=0, split_seed=0)
            rows.append(dict(method=m, precision=prec, features_s=round(t_feat, 1), knn_s=round(t_knn, 1), mil_s=round(t_cv, 1),
                             knn_cell_type=knn['knn_cell_type'], macro_f1=reported(res.patients, 'macro_f1')))
            print(json.dumps(rows[-1]), flush=True)
    df = pd.DataFrame(rows)
    w = df.pivot(index='method', columns='precision').reindex(list(METHODS))
    t = pd.DataFrame({'features s fp32': w['features_s', 'fp32'], 'features s bf16': w['features_s', 'bf16'],
                      'kNN s fp32': w['knn_s', 'fp32'], 'kNN s bf16': w['knn_s', 'bf16'],
                      'kNN fp32': w['knn_cell_type', 'fp32'], 'kNN bf16': w['knn_cell_type', 'bf16'],
                      'macro-F1 fp32': w['macro_f1', 'fp32'], 'macro-F1 bf16': w['macro_f1', 'bf16']})
    t['Δ kNN'] = t['kNN bf16'] - t['kNN fp32']; t['Δ macro-F1'] = t['macro-F1 bf16'] - t['macro-F1 fp32']
    ratio = (t['features s fp32'].sum() + t['kNN s fp32'].sum()) / (t['features s bf16'].sum() + t['kNN s bf16'].sum())
    ok = bool((t['Δ kNN'].abs() <= 0.01).all() and abs(t['Δ macro-F1'].mean()) <= 0.02)
    text = (t.round(3).to_markdown() + f"\n\nfeatures + kNN, fp32 / bf16: **{ratio:.2f}x**; largest |Δ kNN| {t['Δ kNN'].abs().max():.3f}, "
            f"mean Δ macro-F1 {t['Δ macro-F1'].mean():+.3f}; criterion (every |Δ kNN| ≤ 0.01, |mean Δ macro-F1| ≤ 0.02): "
            + ('met: adopt bf16' if ok else 'not met: keep fp32') + "\n")
    print(text)
    for f in (OUT/'features_dev.md', RECORDS/'features_dev.md'): f.write_text(text)

if __name__ == '__main__': main()
