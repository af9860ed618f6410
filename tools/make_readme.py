"""README.md from the landing page's notebook: its markdown cells and the markdown its cells display.

GitHub shows README.md on the repository's front page, the docs site shows `nbs/index.ipynb`; the README
is generated so that the two never disagree. Run after executing the notebook:

    nbdev-test --path nbs/index.ipynb --flags slow --save && python tools/make_readme.py
    python tools/make_readme.py --check      # exit 1 if README.md is not what the notebook gives (CI)
"""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = '<!-- generated from nbs/index.ipynb: edit the notebook, not this file -->\n'

def readme(nb:Path=ROOT/'nbs'/'index.ipynb') -> str:
    parts = []
    for c in json.loads(nb.read_text())['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown': parts.append(src.replace('```{mermaid}', '```mermaid'))
        elif c['cell_type'] == 'code':
            for o in c.get('outputs', []):
                md = o.get('data', {}).get('text/markdown')
                if md: parts.append(''.join(md))
    return HEADER + '\n' + '\n\n'.join(p.strip('\n') for p in parts) + '\n'

if __name__ == '__main__':
    text, path = readme(), ROOT/'README.md'
    if '--check' in sys.argv[1:]:
        same = path.exists() and path.read_text() == text
        print('README.md is in step with nbs/index.ipynb' if same else 'README.md differs from nbs/index.ipynb: run python tools/make_readme.py')
        sys.exit(0 if same else 1)
    path.write_text(text)
    print("README.md written from nbs/index.ipynb")
