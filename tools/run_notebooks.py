"""Run every notebook top to bottom as a reader does, in reading order, slow cells included, and save its outputs.

    python tools/run_notebooks.py                      # all notebooks, one shared AMLNB_HOME ($AMLNB_HOME, else a fresh folder)
    python tools/run_notebooks.py --home /tmp/h        # that home: a warm one holds the demo's caches, so nothing is computed twice
    python tools/run_notebooks.py --only '^0[2-4]'     # a selection (a regular expression on the file name)

Each notebook runs alone in its own `nbdev-test --flags slow --save` (outputs are written back only when every cell
succeeds). The wall time of each is written to `bench/records/notebooks.csv` (with the machine and whether the home
was warm), and the first cell of each notebook gets one generated line that gives its time from that record, the way
`tools/make_readme.py` generates the README: the line is the record's, never typed by hand. Run it alone on the
machine; two torch processes on two cores slow each other many times over.
"""
import argparse, csv, os, platform, re, subprocess, sys, tempfile, time
from pathlib import Path
import nbformat

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT/'bench'/'records'/'notebooks.csv'
MARK = '*Run time:'          # the generated line starts with this; it is replaced on every run

def notebooks() -> list:
    return sorted(p for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_'))

def cpu() -> str:
    try: return next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except (OSError, StopIteration): return platform.processor() or platform.machine()

def fmt(s:float) -> str: return f"{s:.0f} s" if s < 90 else f"{s / 60:.1f} min"

def time_line(row:dict, total:float) -> str:
    home = "the demo's caches already built" if row['home'] == 'warm' else 'from an empty cache'
    return (f"{MARK} {fmt(float(row['seconds']))} on a {row['cores']}-core CPU, slow cells included, run in order after the "
            f"notebooks before it with one shared cache, {home} (every notebook: {fmt(total)}; `python tools/run_notebooks.py`).*")

def stamp(rows:list):
    "Put each notebook's generated time line at the end of its first markdown cell"
    total = sum(float(r['seconds']) for r in rows)
    for r in rows:
        path = ROOT/'nbs'/r['notebook']
        if not path.exists(): continue
        nb = nbformat.read(path, as_version=4)
        cell = next(c for c in nb.cells if c.cell_type == 'markdown')
        lines = [l for l in cell.source.rstrip('\n').split('\n') if not l.startswith(MARK)]
        while lines and not lines[-1].strip(): lines.pop()
        new = '\n'.join(lines + ['', time_line(r, total)])
        if new != cell.source: cell.source = new; nbformat.write(nb, path)

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--home', default=None, help='AMLNB_HOME shared by the sequence (default: $AMLNB_HOME, else a fresh folder)')
    ap.add_argument('--only', default=None, help='regular expression on the notebook file names')
    ap.add_argument('--stamp-only', action='store_true', help='only write the time lines from the record')
    args = ap.parse_args()
    old = {r['notebook']: r for r in csv.DictReader(open(RECORD))} if RECORD.exists() else {}
    if args.stamp_only: return stamp(list(old.values()))
    home = Path(args.home or os.environ.get('AMLNB_HOME') or tempfile.mkdtemp(prefix='amlnb-nbs-')).expanduser()
    warm = home.exists() and any(home.iterdir())
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, 'AMLNB_HOME': str(home), 'MPLBACKEND': 'Agg'}
    todo = [p for p in notebooks() if args.only is None or re.search(args.only, p.name)]
    failed = []
    for p in todo:
        t = time.time()
        rc = subprocess.run(['nbdev-test', str(p), '--flags', 'slow', '--save', '--n-workers', '1', '--timing'],
                            env=env, cwd=ROOT).returncode
        secs = time.time() - t
        print(f"{p.name}: {fmt(secs)}{'' if rc == 0 else f'  FAILED (exit {rc}); outputs not saved'}", flush=True)
        if rc: failed.append(p.name); continue
        old[p.name] = dict(notebook=p.name, seconds=f"{secs:.1f}", cores=os.cpu_count(), cpu=cpu(), home='warm' if warm else 'cold')   # the sequence's start
    rows = [old[p.name] for p in notebooks() if p.name in old]
    RECORD.parent.mkdir(parents=True, exist_ok=True)
    with open(RECORD, 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=['notebook', 'seconds', 'cores', 'cpu', 'home']); w.writeheader(); w.writerows(rows)
    stamp(rows)
    print(f"{len(todo) - len(failed)} of {len(todo)} notebooks ran and were saved; {RECORD.relative_to(ROOT)} written")
    if failed: sys.exit(f"failed: {', '.join(failed)}")

if __name__ == '__main__': main()
