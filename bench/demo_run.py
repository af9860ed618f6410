"""The main job end to end: `amlnb-run` (demo preset, every method) from an empty cache, its wall time and
peak memory, against the budget the project promises (15 minutes, 4 GB on the 2-core CPU machine).

    python bench/demo_run.py                          # the demo, cold: SynthAML, pretraining, MIL, report
    python bench/demo_run.py --quick                  # the tiny preset, two methods (seconds; checks the script)
    python bench/demo_run.py --home ~/.amlnb          # that home: warm if it holds a cache (measures a second run), cold if empty
    python bench/demo_run.py --seeds 3                # the demo under three seeds (budget: 30 minutes)

It runs the console script in a child process with its own AMLNB_HOME (a fresh temporary folder unless
--home is given) and reads the child's peak resident memory from the kernel (`getrusage`). Run it alone on
the machine: anything else on the cores stretches the wall time.
"""
import argparse, os, platform, resource, shutil, subprocess, sys, tempfile, time
from pathlib import Path

BUDGET_GB = 4.0
def budget_s(seeds:int) -> float: return 15 * 60 if seeds == 1 else 30 * 60 * seeds / 3   # one seed: 15 min; three: 30 min

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true', help='tiny preset, random and simclr only')
    ap.add_argument('--home', default=None, help='AMLNB_HOME to use (default: a fresh temporary folder, a cold run)')
    ap.add_argument('--out', default=None, help='where the table is written (default: bench/_out/demo_run[_seedsN].md)')
    ap.add_argument('--seeds', type=int, default=1, help='amlnb-run --seeds N')
    ap.add_argument('--report', default=None, help='report folder to keep (default: a temporary one)')
    args = ap.parse_args()
    home = Path(args.home).expanduser() if args.home else Path(tempfile.mkdtemp(prefix='amlnb-demo-'))
    cold = not home.exists() or not any(home.iterdir())          # an empty (or new) home is a cold run, given or not
    report = Path(args.report) if args.report else Path(tempfile.mkdtemp(prefix='amlnb-demo-report-'))
    BUDGET_S = budget_s(args.seeds)
    cmd = ['amlnb-run', '--out', str(report)] + (['--seeds', str(args.seeds)] if args.seeds > 1 else []) + (['--preset', 'tiny', '--methods', 'random,simclr'] if args.quick else [])
    if shutil.which('amlnb-run') is None: cmd = [sys.executable, '-c', 'from amlnb.cli import run; run()'] + cmd[1:]
    env = {**os.environ, 'AMLNB_HOME': str(home), 'MPLBACKEND': 'Agg', 'PYTHONUNBUFFERED': '1'}
    print('$', ' '.join(cmd), f'  (AMLNB_HOME={home})', flush=True)
    t = time.time()
    proc = subprocess.run(cmd, env=env)
    wall = time.time() - t
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2   # ru_maxrss is in KiB on Linux
    if proc.returncode != 0: sys.exit(f"amlnb-run failed with exit code {proc.returncode}")
    ok = (report/'report.md').exists()
    rows = [('what', 'measured', 'budget', 'ratio (measured / budget)'),
            ('wall time', f'{wall / 60:.1f} min', f'{BUDGET_S / 60:.0f} min', f'{wall / BUDGET_S:.2f}'),
            ('peak memory (RSS)', f'{peak_gb:.2f} GB', f'{BUDGET_GB:.0f} GB', f'{peak_gb / BUDGET_GB:.2f}')]
    table = '\n'.join('| ' + ' | '.join(r) + ' |' + ('\n|---|---|---|---|' if i == 0 else '') for i, r in enumerate(rows))
    head = (f"`{' '.join(['amlnb-run'] + cmd[3:])}` ({'cold' if cold else 'warm'} cache), {platform.machine()}, "
            f"{os.cpu_count()} cores; report written: {ok}")
    print(f"\n{head}\n\n{table}")
    out = Path(args.out or f"bench/_out/demo_run{'' if args.seeds == 1 else f'_seeds{args.seeds}'}.md"); out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"{head}\n\n{table}\n")
    if not args.home: shutil.rmtree(home, ignore_errors=True)

if __name__ == '__main__': main()
