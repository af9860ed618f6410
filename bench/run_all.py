"""Run every benchmark in bench/, one after the other, each in its own process, and summarise them.

Each benchmark measures its ratio within its own run on this machine (plus absolute figures for context).
The summary lists, per benchmark, its wall time, its status and the lines of its output that state a
ratio; the whole output goes to --out as markdown. The suite is the list SUITE below, in that order;
`gpu.py` is skipped without CUDA, and a file of the list that is not there is reported as missing.
Other scripts in bench/ (studies such as select_recipes.py and cpu_precision.py) run only when named with --only.

    python bench/run_all.py              # the full suite (several minutes on a 2-core CPU)
    python bench/run_all.py --quick      # smaller sizes where a benchmark offers them
    python bench/run_all.py --only views_vs_lightly mil_speed

Run it on an otherwise idle machine: two torch processes sharing the cores slow each other down many
times over.
"""
from __future__ import annotations
import argparse, os, platform, re, subprocess, sys, time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SUITE = ['synth_speed', 'cache_vs_decode', 'views_vs_lightly', 'encoder_throughput', 'learner_overhead',
         'mil_speed', 'demo_run', 'gpu']
QUICK_ARGS = {'cache_vs_decode': ['--cells', '300', '--reps', '3'], 'gpu': ['--steps', '5']}   # besides --quick where offered
RATIO = re.compile(r'ratio|\d\s*[x×]\b|[x×]\s*(faster|slower)', re.I)

def discover(only:list|None=None) -> list[str]:
    "Benchmark names in run order: the SUITE, or the ones named in `only` (SUITE order first)"
    found = {p.stem for p in BENCH.glob('*.py') if p.stem != 'run_all' and not p.stem.startswith('_')}
    if not only:
        others = sorted(found - set(SUITE))
        if others: print(f"not in the suite (run them with --only): {', '.join(others)}")
        return list(SUITE)
    unknown = [n for n in only if n not in found]
    if unknown: raise SystemExit(f"no benchmark named {', '.join(unknown)} in {BENCH}; there are: {', '.join(sorted(found))}")
    return [n for n in SUITE if n in only] + [n for n in only if n not in SUITE]

def args_for(name:str, quick:bool) -> list[str]:
    "Extra command-line arguments of benchmark `name`: in quick mode its own --quick flag if it has one, or smaller sizes"
    if not quick: return []
    src = (BENCH/f'{name}.py').read_text()
    return (['--quick'] if "'--quick'" in src or '"--quick"' in src else []) + QUICK_ARGS.get(name, [])

def has_cuda() -> bool:
    try:
        import torch
        return torch.cuda.is_available()
    except ImportError: return False

def run_one(name:str, quick:bool, timeout:float) -> dict:
    "Run bench/<name>.py in a subprocess; its status, seconds, output and ratio lines"
    path = BENCH/f'{name}.py'
    if not path.exists(): return dict(name=name, status='missing', seconds=0., output='', ratios=[f'{path.name} does not exist (yet)'])
    if name == 'gpu' and not has_cuda(): return dict(name=name, status='skipped', seconds=0., output='', ratios=['needs CUDA'])
    cmd = [sys.executable, str(path)] + args_for(name, quick)
    print(f"\n=== {name}: {' '.join(cmd[1:])}", flush=True)
    env = {**os.environ, 'MPLBACKEND': 'Agg', 'PYTHONUNBUFFERED': '1'}
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=BENCH.parent, env=env, capture_output=True, text=True, timeout=timeout)
        status, out = ('ok' if proc.returncode == 0 else f'failed (exit {proc.returncode})'), proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as e:
        status, out = f'timed out after {timeout:.0f} s', (e.stdout or b'').decode() if isinstance(e.stdout, bytes) else (e.stdout or '')
    seconds = time.perf_counter() - t0
    lines = [l for l in out.splitlines() if l.strip() and 'Warning' not in l and 'warnings.warn' not in l]
    print('\n'.join(lines[-40:]), flush=True)
    print(f"--- {name}: {status} in {seconds:.0f} s", flush=True)
    return dict(name=name, status=status, seconds=seconds, output='\n'.join(lines), ratios=[l.strip() for l in lines if RATIO.search(l)])

def summary(results:list, quick:bool) -> str:
    head = [f"# Benchmark suite — {time.strftime('%Y-%m-%d %H:%M')}{' (quick)' if quick else ''}", "",
            f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}", "",
            "| benchmark | status | seconds | ratio(s) as printed |", "|---|---|---|---|"]
    rows = [f"| {r['name']} | {r['status']} | {r['seconds']:.0f} | {'<br>'.join(x.replace('|', '/') for x in r['ratios']) or '—'} |"
            for r in results]
    outputs = [f"\n## {r['name']}\n\n```\n{r['output']}\n```" for r in results if r['output']]
    return '\n'.join(head + rows + outputs) + '\n'

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--quick', action='store_true', help='smaller sizes where a benchmark offers them')
    ap.add_argument('--only', nargs='+', help='run only these benchmarks (names without .py)')
    ap.add_argument('--out', default=str(BENCH/'_out'/'run_all.md'), help='where the markdown summary and outputs go')
    ap.add_argument('--timeout', type=float, default=1800, help='seconds allowed per benchmark')
    args = ap.parse_args()
    names = discover(args.only)
    t0 = time.perf_counter()
    results = [run_one(n, args.quick, args.timeout) for n in names]
    text = summary(results, args.quick)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print('\n' + text.split('\n## ')[0])
    print(f"suite done in {time.perf_counter() - t0:.0f} s; outputs in {out}")
    return 1 if any(r['status'].startswith(('failed', 'timed out')) for r in results) else 0

if __name__ == '__main__':
    sys.exit(main())
