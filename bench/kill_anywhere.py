"""Kill anywhere, lose nothing: SIGKILL `amlnb-run` once inside every stage of the pipeline, run it again each
time, and compare the report it finally writes with that of a run never interrupted.

    python bench/kill_anywhere.py                  # tiny preset, every method: one kill in each stage
    python bench/kill_anywhere.py --rounds 2       # two kills in each stage
    python bench/kill_anywhere.py --methods random,simclr --seed 1

1. A reference run in a fresh AMLNB_HOME, watched: when each stage's lock is first held (00_core's `stage_lock`:
   SynthAML, each cell cache, each pretraining, each feature store, each group of cross-validations) or, for the
   report, when its build folder appears; and when the stage's finished marker appears (synth.json, meta.json,
   encoder.json, cv-*.json, report.md). That gives the stages in order and how long each takes.
2. The reference's home and report set aside, an empty home at the same path (cache keys hold the data's path).
   For each stage in order: start `amlnb-run`, wait until this process holds a lock of something unfinished in
   that stage (the stages before it are reused from the earlier attempts), wait a random share (up to --share, 0.5) of the
   stage's reference duration, and SIGKILL the whole process group. What was still unfinished at that moment is
   the stage hit. Should the run finish first (the report can be quicker than in the watched reference), the
   report is removed and the kill tried again with half the wait. After each kill, the report folder must not
   look complete (no report.md).
3. A last run to the end. Its CSVs (all but timings.csv) must be byte-identical to the reference run's, the report
   folder must hold the same files, and no `.build-*` folder may be left in the home or beside the report.

The random kill moments come from `--seed`. Both runs are on the CPU, where amlnb's kernels are deterministic.
Run it alone on the machine: the kills are placed by the reference durations. The result goes to
bench/records/kill_anywhere.json and bench/_out/kill_anywhere.md.
"""
import argparse, fcntl, functools, json, os, platform, random, shutil, signal, subprocess, sys, tempfile, time
from collections import Counter
from pathlib import Path

MARKERS = [('synth', 'synth/*/synth.json'), ('cache', 'cache/*/meta.json'), ('pretraining', 'encoders/*/encoder.json'),
           ('features', 'features/*/meta.json'), ('cross-validation', 'cv/cv-*.json')]

@functools.lru_cache(maxsize=None)
def lock_name(path:Path) -> str:
    "The lock file's name of the stage at `path`: `stage_lock`'s (00_core)"
    from amlnb.core import stage_lock
    return stage_lock(path).lock_file.name

def held(lock:Path) -> bool:
    "Whether another process holds the flock of `lock` (filelock's kind of lock on Unix)"
    try: fd = os.open(lock, os.O_RDWR)
    except OSError: return False
    try:
        try: fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError: return True
        fcntl.flock(fd, fcntl.LOCK_UN); return False
    finally: os.close(fd)

def finished(home:Path) -> dict:
    "relative marker path -> (kind, prefix, the locked path relative to the home) of every finished artefact in `home`"
    out = {}
    for kind, pat in MARKERS:
        for m in home.glob(pat):
            rel = m.relative_to(home)
            locked = rel if kind == 'cross-validation' else rel.parent
            out[str(rel)] = (kind, prefix(kind, locked.name), str(locked))
    return out

def prefix(kind:str, name:str) -> str:
    "What names a stage across homes: keys that hold a path or a file's time (the cache's, and all after it) change"
    if kind == 'synth': return name
    if kind == 'cross-validation': return 'cv'
    return name.rsplit('-', 1)[0]

def done(stage:dict, home:Path, out:Path, counts=None) -> bool:
    "Whether `stage` is finished in `home`: as many of its kind's markers as the reference had by its end"
    if stage['kind'] == 'report': return (out/'report.md').exists()
    if counts is None: counts = Counter((k, p) for k, p, _ in finished(home).values())
    return counts[(stage['kind'], stage['prefix'])] >= stage['n']

def build_folders(home:Path, out:Path) -> list:
    return sorted(str(p) for p in [*home.glob('*/.build-*'), *home.glob('*/*/.build-*'), *out.parent.glob(f'.build-{out.name}.*')])

def command(out:Path, a) -> list:
    cmd = ['amlnb-run', '--preset', a.preset, '--out', str(out), '--quiet'] + (['--methods', a.methods] if a.methods else [])
    if shutil.which('amlnb-run') is None: cmd = [sys.executable, '-c', 'from amlnb.cli import main; raise SystemExit(main())'] + cmd[1:]
    return cmd

def start(home:Path, out:Path, a, log) -> subprocess.Popen:
    env = {**os.environ, 'AMLNB_HOME': str(home), 'MPLBACKEND': 'Agg', 'PYTHONUNBUFFERED': '1', 'CUDA_VISIBLE_DEVICES': ''}
    return subprocess.Popen(command(out, a), env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

def reference(home:Path, out:Path, a, log) -> list:
    "Run once to the end, watching locks and markers; the stages in order: name, markers, locked paths, start, end"
    t0, p = time.time(), start(home, out, a, log)
    first_held, first_seen, report_start = {}, {}, None
    while True:
        now = time.time() - t0
        locks = home/'locks'
        fin = finished(home)
        for m in fin: first_seen.setdefault(m, now)
        if locks.is_dir():                                        # only locks not seen held yet, of stages not finished
            over = {lock_name(home/l) for _, _, l in fin.values()}
            for f in locks.iterdir():
                if f.name not in first_held and f.name not in over and held(f): first_held[f.name] = now
        if report_start is None and list(out.parent.glob(f'.build-{out.name}.*')): report_start = now
        if p.poll() is not None: break
        time.sleep(0.1)                                           # light: the watching must not slow the run
    wall = time.time() - t0
    if p.returncode != 0: sys.exit(f"the reference run failed (exit {p.returncode}); see {log.name}")
    done = finished(home)
    for m in done: first_seen.setdefault(m, wall)
    if report_start is None: report_start = wall
    items = sorted(done, key=lambda m: first_seen[m])
    stages, seen = [], Counter()
    for m in items:
        kind, pre, locked = done[m]
        seen[(kind, pre)] += 1
        start_t = first_held.get(lock_name(home/locked), first_seen[m])
        if kind == 'cross-validation' and stages and stages[-1]['kind'] == kind:
            s = stages[-1]; s['markers'].append(m); s['locked'].append(locked)
            s['start'] = min(s['start'], start_t); s['end'] = max(s['end'], first_seen[m]); s['n'] = seen[(kind, pre)]
            continue
        name = kind if kind == 'cross-validation' else f"{kind} {pre}"
        stages.append(dict(name=name, kind=kind, prefix=pre, n=seen[(kind, pre)], markers=[m], locked=[locked], start=start_t, end=first_seen[m]))
    for k, s in enumerate(stages):                                  # a group of CVs is named after the features before it
        if s['kind'] == 'cross-validation':
            feats = [t['name'].split(' ', 1)[1].split('-')[0] for t in stages[:k] if t['kind'] == 'features']
            s['name'] = f"cross-validations {feats[-1] if feats else ''} ({len(s['markers'])})".replace('  ', ' ')
    stages.append(dict(name='report', kind='report', prefix='report', n=1, markers=['<out>/report.md'], locked=[], start=max(report_start, stages[-1]['end']), end=wall))
    return stages, wall

def kill_in(stage:dict, k:int, home:Path, out:Path, a, rng, log, stages, share:float=0.9) -> dict:
    "Start a run, wait until it works inside `stage`, wait a random share of its duration, SIGKILL it; what was hit"
    t0, p = time.time(), start(home, out, a, log)
    target, inside = stages.index(stage), None
    while p.poll() is None:
        fin = finished(home)
        counts = Counter((k_, p_) for k_, p_, _ in fin.values())
        current = next((i for i, s in enumerate(stages) if not done(s, home, out, counts)), len(stages))
        if current > target: inside = False; break                # a stage too short to catch: kill at once
        if current == target:
            if stage['kind'] == 'report': inside = bool(list(out.parent.glob(f'.build-{out.name}.*')))
            else:                                                 # a lock held on something not finished: this stage's
                mine = {lock_name(home/l) for _, _, l in fin.values()}
                locks = home/'locks'
                inside = locks.is_dir() and any(held(f) for f in locks.iterdir() if f.name not in mine)
            if inside: break
        time.sleep(0.02)
    delay = rng.uniform(0, share * max(stage['end'] - stage['start'], 0.0)) if inside else 0.0
    t_enter = time.time() - t0
    time.sleep(delay)
    alive = p.poll() is None
    if alive: os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    hit = next((s['name'] for s in stages if not done(s, home, out)), 'nothing (finished)')
    return dict(kill=k, target=stage['name'], hit=hit, entered_s=round(t_enter, 2), delay_s=round(delay, 2),
                killed=alive, exit=p.returncode, report_looks_complete=(out/'report.md').exists(),
                build_folders_left=len(build_folders(home, out)))

def compare(ref:Path, out:Path) -> dict:
    files_ref, files_out = sorted(p.name for p in ref.iterdir()), sorted(p.name for p in out.iterdir())
    csvs = [f for f in files_ref if f.endswith('.csv') and f != 'timings.csv']
    differ = [f for f in csvs if not (out/f).is_file() or (ref/f).read_bytes() != (out/f).read_bytes()]
    return dict(same_files=files_ref == files_out, csvs_compared=csvs, csvs_differing=differ)

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--preset', default='tiny')
    ap.add_argument('--methods', default=None, help='amlnb-run --methods (default: every method)')
    ap.add_argument('--rounds', type=int, default=1, help='kills per stage')
    ap.add_argument('--seed', type=int, default=0, help='seed of the kill moments')
    ap.add_argument('--share', type=float, default=0.5, help="kill within this share of each stage's reference duration")
    ap.add_argument('--record', default='bench/records/kill_anywhere.json')
    a = ap.parse_args()
    rng, work = random.Random(a.seed), Path(tempfile.mkdtemp(prefix='amlnb-kill-'))
    home, out = work/'home', work/'run'/'report'      # both runs at the same paths: the cache keys hold the data's path
    os.environ['AMLNB_HOME'] = str(home)              # where `stage_lock` (lock_name) looks
    out.parent.mkdir(parents=True)
    log = open(work/'log.txt', 'w')
    print(f"$ {' '.join(command(out, a))}   (work folder {work})", flush=True)
    stages, ref_wall = reference(home, out, a, log)
    ref_home, ref_out = work/'reference-home', work/'reference-report'
    os.rename(home, ref_home); os.rename(out, ref_out)           # set aside: the kills start from an empty home
    print(f"reference run: {ref_wall:.0f} s, {len(stages)} stages", flush=True)
    for s in stages: print(f"  {s['start']:6.1f} – {s['end']:6.1f} s  {s['name']}", flush=True)
    kills, t = [], time.time()
    for r in range(a.rounds):
        for s in stages:
            share = a.share
            for attempt in range(4):                          # the run finished first: the report again, sooner
                k = kill_in(s, len(kills) + 1, home, out, a, rng, log, stages, share)
                if k['killed']: break
                print(f"  aimed at {s['name']}: the run finished {k['delay_s']:.2f} s in; again with a shorter wait", flush=True)
                shutil.rmtree(out, ignore_errors=True); share /= 2
            k['attempts'] = attempt + 1
            kills.append(k)
            print(f"kill {k['kill']:2d}: aimed at {k['target']:<32} hit {k['hit']:<32} ({k['entered_s']:.1f} s to enter, +{k['delay_s']:.2f} s)", flush=True)
    t_final = time.time()
    p = start(home, out, a, log); p.wait()
    final_s, kills_s = time.time() - t_final, t_final - t
    cmp = compare(ref_out, out) if p.returncode == 0 else dict(same_files=False, csvs_compared=[], csvs_differing=['(the last run failed)'])
    left = build_folders(home, out)
    names = [s['name'] for s in stages]
    stages_hit = sorted({k['hit'] for k in kills if k['hit'] in names}, key=names.index)
    identical = p.returncode == 0 and cmp['same_files'] and not cmp['csvs_differing']
    kills_made = sum(k['killed'] for k in kills)
    rec = dict(command=' '.join(['amlnb-run'] + command(out, a)[1:]).replace(str(out), '<out>'), machine=f"{platform.machine()}, {os.cpu_count()} cores",
               reference_s=round(ref_wall, 1), stages=[dict(name=s['name'], start_s=round(s['start'], 1), end_s=round(s['end'], 1)) for s in stages],
               kills=kills, k=kills_made, stages_hit=stages_hit, stages_missed=[s['name'] for s in stages if s['name'] not in stages_hit],
               kills_s=round(kills_s, 1), final_run_s=round(final_s, 1), final_exit=p.returncode,
               report_looked_complete_after_a_kill=any(k['report_looks_complete'] for k in kills if k['killed']),
               build_folders_left_at_the_end=len(left), **cmp, identical=identical)
    Path(a.record).parent.mkdir(parents=True, exist_ok=True)
    Path(a.record).write_text(json.dumps(rec, indent=1))
    rows = '\n'.join(f"| {k['kill']} | {k['target']} | {k['hit']} | {k['entered_s']:.1f} | {k['delay_s']:.2f} |" for k in kills)
    md = (f"`{rec['command']}`, {rec['machine']}: reference run {ref_wall:.0f} s, {len(stages)} stages; **{kills_made} kills** "
          f"({kills_s:.0f} s), then a last run ({final_s:.0f} s, exit {p.returncode}).\n\n"
          f"| kill | aimed at | stage hit | s to enter | s inside |\n|---|---|---|---|---|\n{rows}\n\n"
          f"Stages hit: {len(stages_hit)} of {len(stages)}{' (missed: ' + ', '.join(rec['stages_missed']) + ')' if rec['stages_missed'] else ''}. "
          f"A report looked complete after a kill: {rec['report_looked_complete_after_a_kill']}. `.build-*` folders left at the end: {len(left)}. "
          f"CSVs compared ({len(cmp['csvs_compared'])}, timings.csv excluded): {'byte-identical' if not cmp['csvs_differing'] else 'differing: ' + ', '.join(cmp['csvs_differing'])}; "
          f"same files in the report: {cmp['same_files']}. **Identical: {'yes' if identical else 'no'}.**\n")
    print('\n' + md)
    o = Path('bench/_out/kill_anywhere.md'); o.parent.mkdir(parents=True, exist_ok=True); o.write_text(md)
    log.close()
    if identical: shutil.rmtree(work, ignore_errors=True)
    else: print(f"kept {work} for a look (log.txt holds every run's output)")
    sys.exit(0 if identical else 1)

if __name__ == '__main__': main()
