"""The patient browser in a real frontend: Voilà on localhost, driven by headless Chromium.

`patient_browser` (09_interpret) is an ipywidgets app: a dropdown of tested patients and a gallery of
the chosen patient's most and least attended cells. A widget only works where a Jupyter frontend
runs its JavaScript, so this check serves a small notebook that builds the browser on the `tiny`
SynthAML with Voilà (the frontend a user would share the browser with), opens it in Debian's
Chromium through Playwright, picks another patient and checks that the gallery changed.

    python tools/check_browser.py [--shot FILE]     # needs: apt install chromium; pip install voila playwright

`check_patient_browser()` returns what it saw, or raises `Skip` with one line saying what is missing.
Playwright's synchronous API refuses to run inside an asyncio loop (a Jupyter kernel), so a notebook
runs this file as a process: `python tools/check_browser.py --json`.
"""
import os, json, shutil, socket, subprocess, sys, tempfile, time, argparse
from pathlib import Path

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')

class Skip(Exception): "What is missing for the check to run"

APP = '''\
import os, tempfile, warnings
warnings.filterwarnings('ignore')
os.environ.setdefault('AMLNB_HOME', tempfile.mkdtemp())
from amlnb.synth import make_synth_dataset
from amlnb.cache import CellCache
from amlnb.ssl import pretrain, get_recipe
from amlnb.features import extract_features
from amlnb.experiment import cached_cv
from amlnb.core import get_preset
from amlnb.interpret import patient_browser
p = get_preset('tiny')
root = make_synth_dataset(preset='tiny', seed=0, progress=False)
cache = CellCache.from_folder(root, size=p.size)
store = extract_features(pretrain(cache, get_recipe('random', p), progress=False), cache, progress=False)
cv = cached_cv(store, p)[0]
patient_browser(cv, store, cache, k=4)
'''

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def check_patient_browser(shot:str|Path|None=None, # where to save a screenshot after picking another patient
                          timeout:float=240, # seconds for Voilà to execute the notebook
                         ) -> dict:
    "Serve the browser with Voilà, pick the second patient in Chromium; the gallery before and after"
    if CHROMIUM is None: raise Skip("no Chromium on this machine (Debian: apt install chromium)")
    try:
        import nbformat
        from playwright.sync_api import sync_playwright
    except ImportError as e: raise Skip(f"{e.name} is not installed (pip install voila playwright)")
    if shutil.which('voila') is None: raise Skip("voila is not installed (pip install voila)")
    tmp = Path(tempfile.mkdtemp())
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(APP)])
    nbformat.write(nb, tmp/'browser.ipynb')
    port = _free_port()
    env = {**os.environ, 'AMLNB_HOME': str(tmp/'home'), 'MPLBACKEND': 'module://matplotlib_inline.backend_inline'}
    server = subprocess.Popen(['voila', str(tmp/'browser.ipynb'), '--no-browser', f'--port={port}',
                               f'--Voila.ip=127.0.0.1', '--MappingKernelManager.cull_idle_timeout=0'],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox'])
            page = browser.new_page(viewport={'width': 1100, 'height': 900})
            for _ in range(60):                       # the server takes a moment to listen
                try: page.goto(f'http://127.0.0.1:{port}/', timeout=timeout * 1000); break
                except Exception: time.sleep(1)
            select = page.wait_for_selector('select', timeout=timeout * 1000)
            img = page.wait_for_selector('.widget-output img', timeout=timeout * 1000)
            options = [o.inner_text() for o in page.query_selector_all('select option')]
            before = img.get_attribute('src')
            select.select_option(index=1)
            page.wait_for_function("b => { const i = document.querySelector('.widget-output img'); return i && i.src !== b; }",
                                   arg=before, timeout=60_000)
            after = page.query_selector('.widget-output img').get_attribute('src')
            if shot: page.screenshot(path=str(shot), full_page=True)
            browser.close()
    finally:
        server.terminate()
        try: server.wait(10)
        except subprocess.TimeoutExpired: server.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return dict(options=options, picked=options[1], changed=before != after, before=len(before), after=len(after))

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--shot', default=None, help='screenshot file (PNG)')
    ap.add_argument('--json', action='store_true', help='print what was seen as one JSON line (a skip is {"skipped": why}), exit 0 unless it failed')
    a = ap.parse_args()
    try: r = check_patient_browser(a.shot)
    except Skip as e:
        if a.json: print(json.dumps({'skipped': str(e)})); sys.exit(0)
        sys.exit(f"skipped: {e}")
    if a.json: print(json.dumps(r)); sys.exit(0 if r['changed'] else 1)
    print(f"{len(r['options'])} patients; picked {r['picked']!r}; the gallery changed: {r['changed']}")
    sys.exit(0 if r['changed'] else 1)
