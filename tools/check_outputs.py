"""Noise in the notebooks' committed outputs, as a reader of the docs site would meet it.

Counts, per notebook and cell: warnings (any output naming a `...Warning`), stderr streams (and their
lines), progress bars (fastprogress's HTML bars and text bars), and absolute machine paths (`/tmp/`,
`/root/`, `/home/`, `/work/`, `/Users/`). Also the course's shape, in the
reading order of `nbs/sidebar.yml`: cells before the first self-supervised idea (`02_augment`), cells hidden
from the docs (`#| hide`) and cells in the engineering appendix; and that the sidebar lists every notebook once.

    python tools/check_outputs.py            # a table of what it finds; exit 0
    python tools/check_outputs.py --strict   # exit 1 when any output is noisy (a CI gate)
"""
import argparse, json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATH = re.compile(r'(?<![\w.])/(tmp|root|home|work|Users)/')
WARN = re.compile(r'\b[A-Z]\w*Warning\b')
BAR = re.compile(r'progress-bar|<progress|\|█|\d+\.\d\d% \[\d+/\d+')

def _texts(o:dict) -> list:
    "(kind, text) of one output: stream name or 'data'"
    if o.get('output_type') == 'stream': return [(o.get('name', 'stdout'), ''.join(o.get('text', '')))]
    data = o.get('data', {})
    return [('data', ''.join(data[k]) if isinstance(data[k], list) else str(data[k])) for k in ('text/plain', 'text/html', 'text/markdown') if k in data]

def noise(nb_path:Path) -> list:
    "One record per noisy output: cell index, what, a short excerpt"
    out = []
    for i, c in enumerate(json.loads(nb_path.read_text())['cells']):
        for o in c.get('outputs', []):
            for kind, t in _texts(o):
                if kind == 'stderr': out.append((i, f'stderr ({t.count(chr(10)) + 1} lines)', t.strip().splitlines()[0][:80] if t.strip() else ''))
                if m := WARN.search(t): out.append((i, 'warning', m.group(0)))
                if BAR.search(t): out.append((i, 'progress bar', ''))
                if m := PATH.search(t): out.append((i, 'machine path', t[max(m.start() - 20, 0):m.start() + 40].replace('\n', ' ')))
    return out

FIRST_SSL_IDEA = '02_augment.ipynb'   # the views: the first self-supervised idea of the course

def reading_order(nbs_dir:Path) -> tuple:
    "(the course's notebooks, the appendix's), in the order `sidebar.yml` lists them"
    import yaml
    side = yaml.safe_load((nbs_dir/'sidebar.yml').read_text())['website']['sidebar']['contents']
    sections = {e['section']: e['contents'] for e in side if isinstance(e, dict)}
    return sections['The course'], sections['Engineering appendix']

def shape(nbs_dir:Path) -> dict:
    "Cells before the first self-supervised idea (in the sidebar's reading order) and cells hidden with #| hide"
    course, appendix = reading_order(nbs_dir)
    cells = {p.name: json.loads(p.read_text())['cells'] for p in nbs_dir.glob('*.ipynb')}
    before = sum(len(cells[n]) for n in course[:course.index(FIRST_SSL_IDEA)])
    hidden = sum(1 for cs in cells.values() for c in cs if c['cell_type'] == 'code' and re.match(r'\s*#\|\s*hide\b', ''.join(c['source'])))
    return dict(cells=sum(map(len, cells.values())), before_first_ssl_idea=before, hidden=hidden,
                appendix_cells=sum(len(cells[n]) for n in appendix))

def sidebar_problems(nbs_dir:Path) -> list:
    "Notebooks the sidebar misses, lists twice, or names without a file"
    course, appendix = reading_order(nbs_dir)
    listed = ['index.ipynb'] + course + appendix
    files = {p.name for p in nbs_dir.glob('*.ipynb')}
    return ([f"{n}: not in sidebar.yml" for n in sorted(files - set(listed))] + [f"{n}: in sidebar.yml, no such notebook" for n in sorted(set(listed) - files)]
            + [f"{n}: listed twice in sidebar.yml" for n in sorted({n for n in listed if listed.count(n) > 1})])

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--strict', action='store_true'); ap.add_argument('nbs', nargs='?', default=str(ROOT/'nbs'))
    args = ap.parse_args()
    nbs = sorted(Path(args.nbs).glob('*.ipynb'))
    found = {p.name: noise(p) for p in nbs}
    n = sum(len(v) for v in found.values())
    for name, recs in found.items():
        for i, what, ex in recs: print(f"{name} [{i}] {what}: {ex}")
    kinds = {}
    for recs in found.values():
        for _, what, _ in recs: kinds[what.split(' (')[0]] = kinds.get(what.split(' (')[0], 0) + 1
    print(f"{n} noisy outputs ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items())) or 'none'}); course: {shape(Path(args.nbs))}")
    side = sidebar_problems(Path(args.nbs))
    for line in side: print(line)
    if args.strict and (n or side): sys.exit(1)

if __name__ == '__main__': main()
