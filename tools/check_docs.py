"""The docs site's pages as a reader sees them, checked in headless Chromium.

nbdev builds the docs in two steps: `nbdev-proc-nbs` processes the notebooks into `_proc/` (it runs
the import cells and `show_doc`, and strips what the site hides), then Quarto renders `_proc/` to
HTML. Quarto has no package on the registries these machines reach, so the site itself renders on
GitHub; here each processed page is rendered with nbconvert (figures embedded, as Quarto embeds
them; no MathJax, which would come from the internet) and opened in Debian's Chromium through Playwright, which checks that every image loads and
that no traceback shows. Screenshots of the landing page and one lesson go to `--shots`.

    nbdev-proc-nbs && python tools/check_docs.py [--shots DIR]   # needs: apt install chromium; pip install playwright

Without Chromium it still checks the processed pages' outputs and says it skipped the browser.
"""
import argparse, json, shutil, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
TRACEBACK = 'Traceback (most recent call last)'

def processed_pages(proc:Path=ROOT/'_proc') -> list:
    "The processed notebooks nbdev-proc-nbs wrote, in reading order"
    pages = sorted(proc.glob('*.ipynb'))
    if not pages: sys.exit(f"no notebooks in {proc}: run nbdev-proc-nbs first")
    return pages

def check_outputs(page:Path) -> list:
    "Problems of one processed page: code cells without any output in the whole page, error outputs"
    cells = json.loads(page.read_text())['cells']
    code = [c for c in cells if c['cell_type'] == 'code']
    probs = []
    if code and not any(c.get('outputs') for c in code): probs.append('no outputs')
    for i, c in enumerate(cells):
        if any(o.get('output_type') == 'error' for o in c.get('outputs', [])): probs.append(f'error output in cell {i}')
    return probs

def render(pages:list, out:Path) -> list:
    "Each page as standalone HTML (nbconvert's lab template, images embedded as data URIs)"
    from nbconvert import HTMLExporter
    import nbformat
    ex, html = HTMLExporter(template_name='lab', embed_images=True), []
    for p in pages:
        nb = nbformat.read(p, as_version=4)
        nb.cells = [c for c in nb.cells if c.cell_type != 'raw']   # the front matter, which Quarto reads and does not show
        for c in nb.cells: c.metadata.pop('execution', None)   # nbdev's timings, which nbformat's schema refuses
        body, _ = ex.from_notebook_node(nb)
        f = out/(p.stem + '.html'); f.write_text(body); html.append(f)
    return html

def check_in_chromium(html:list, shots:Path|None=None, shoot=('index', '08_mil', '06b_swav')) -> dict:
    "page -> (images, images that did not load, whether a traceback shows), from headless Chromium"
    from playwright.sync_api import sync_playwright
    res = {}
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox'])
        page = b.new_page(viewport={'width': 1200, 'height': 1000})
        for f in html:
            page.goto(f.as_uri(), wait_until='load')
            n, broken = page.evaluate("() => { const im = Array.from(document.images); "
                                      "return [im.length, im.filter(i => !(i.complete && i.naturalWidth > 0)).length]; }")
            res[f.stem] = dict(images=n, broken=broken, traceback=TRACEBACK in page.inner_text('body'))
            if shots and f.stem in shoot: page.screenshot(path=str(shots/f'{f.stem}.png'), full_page=False)
        b.close()
    return res

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--proc', default=str(ROOT/'_proc'))
    ap.add_argument('--shots', default=None, help='folder for screenshots of the landing page and one lesson')
    ap.add_argument('--no-browser', action='store_true', help='check the outputs only (CI runs this on nbs/ too)')
    a = ap.parse_args()
    pages = processed_pages(Path(a.proc))
    bad = {p.stem: pr for p in pages if (pr := check_outputs(p))}
    print(f"{len(pages)} notebooks in {a.proc}; outputs: " + ('all present, no error output' if not bad else str(bad)))
    if a.no_browser: sys.exit(1 if bad else 0)
    if CHROMIUM is None:
        print("browser check skipped: no Chromium on this machine (Debian: apt install chromium)")
        sys.exit(1 if bad else 0)
    try: import playwright  # noqa: F401
    except ImportError:
        print("browser check skipped: playwright is not installed (pip install playwright)"); sys.exit(1 if bad else 0)
    out = Path(tempfile.mkdtemp())
    shots = Path(a.shots) if a.shots else None
    if shots: shots.mkdir(parents=True, exist_ok=True)
    res = check_in_chromium(render(pages, out), shots)
    for name, r in res.items():
        print(f"  {name:16s} {r['images']:3d} images, {r['broken']} not loaded{', TRACEBACK SHOWN' if r['traceback'] else ''}")
    failed = [n for n, r in res.items() if r['broken'] or r['traceback']]
    print(f"{len(res)} pages in Chromium: " + ('every image loads, no traceback' if not failed else f"problems on {', '.join(failed)}"))
    sys.exit(1 if bad or failed else 0)

if __name__ == '__main__': main()
