"""A second smear generator, for development only: another drawing of the cells and another stain model.

SynthAML's views were designed with SynthAML in view: its stain families ('od', 'rgb') are what the generic stain
augmentation was built to cover, and its cells are drawn by one renderer (`amlnb.synth.render_cells`). A method whose
recipe was chosen on SynthAML alone may have learnt that generator, not cells. This module draws the same cell types
(`amlnb.synth.CELL_TYPES`, the same patient compositions) in its own way and stains them with its own model, so that a
recipe can be checked, and chosen, on a configuration the augmentation was not built from. It is a development set:
`amlnb-run` never reads it, and nothing in the library imports it.

The drawing (`draw_cells`): hard-edged cells and nuclei built from ellipses, arcs of lobes and bites taken out of a
disc; granules as single dots; chromatin as speckle; partial red cells in the background. The stain (`sample_sketch_stain`):
two dyes under the Beer-Lambert law, a nuclear dye and a cytoplasmic one, whose colour vectors turn per patient and
whose amounts scale per patient, then a tone curve (contrast and brightness) and a tint of the illumination. None of
these is one of the augmentation's operations; a per-patient turn of the dyes' colours is what multi-centre smears show.

    python bench/sketch_smear.py      # writes a small sample sheet to bench/_out/sketch_sheet.png
"""
import json, math
from pathlib import Path
import numpy as np, pandas as pd
from PIL import Image
from amlnb.synth import CELL_TYPES, MATEK_OF, MALIGNANT, BAG_LABELS, patient_composition

# cell radius (share of the half image), nucleus shape, nuclear dye, cytoplasm: (eosin, basophilic) dye, granules: (count, dye, size)
TYPES = {
    'neutrophil':          dict(r=0.62, nucleus='lobes', n_lobes=(3, 5), h=0.95, cyto=(0.30, 0.05), gran=(40, 'e', 1)),
    'lymphocyte':          dict(r=0.42, nucleus='round', nr=0.86, h=1.15, cyto=(0.05, 0.45), gran=(0, 'e', 1)),
    'monocyte':            dict(r=0.80, nucleus='kidney', nr=0.62, h=0.70, cyto=(0.10, 0.35), gran=(0, 'e', 1), vacuoles=4),
    'eosinophil':          dict(r=0.66, nucleus='lobes', n_lobes=(2, 2), h=0.95, cyto=(0.35, 0.0), gran=(45, 'e', 2)),
    'basophil':            dict(r=0.58, nucleus='round', nr=0.60, h=0.80, cyto=(0.15, 0.10), gran=(30, 'h', 2)),
    'myeloblast':          dict(r=0.70, nucleus='round', nr=0.82, h=0.60, cyto=(0.05, 0.55), gran=(0, 'e', 1), nucleoli=2),
    'apl_promyelocyte':    dict(r=0.80, nucleus='lobes', n_lobes=(2, 2), h=0.75, cyto=(0.25, 0.20), gran=(70, 'h', 1), rods=3),
    'npm1_blast':          dict(r=0.70, nucleus='cup', nr=0.80, h=0.60, cyto=(0.05, 0.50), gran=(0, 'e', 1), nucleoli=1),
    'myelomonoblast':      dict(r=0.78, nucleus='kidney', nr=0.70, h=0.60, cyto=(0.08, 0.45), gran=(8, 'e', 1), nucleoli=1),
    'atypical_eosinophil': dict(r=0.68, nucleus='lobes', n_lobes=(2, 2), h=0.95, cyto=(0.30, 0.05), gran=(40, 'eh', 2)),
    'runx1_blast':         dict(r=0.72, nucleus='round', nr=0.72, h=0.62, cyto=(0.18, 0.40), gran=(14, 'e', 1), rods=1, hof=True),
}
assert set(TYPES) == set(CELL_TYPES)

DYES = dict(nuclear=np.array([0.55, 0.88, 0.30]), cytoplasm=np.array([0.10, 0.85, 0.45]))   # OD per unit dye, R G B

def _disc(x, y, cx, cy, rx, ry, angle=0.0):
    "Boolean ellipse mask"
    c, s = math.cos(angle), math.sin(angle)
    u, v = (x - cx) * c + (y - cy) * s, -(x - cx) * s + (y - cy) * c
    return (u / rx) ** 2 + (v / ry) ** 2 <= 1

def _segment(x, y, ax, ay, bx, by, w):
    "Boolean mask of a thick line segment"
    dx, dy = bx - ax, by - ay
    t = np.clip(((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy + 1e-9), 0, 1)
    return (x - ax - t * dx) ** 2 + (y - ay - t * dy) ** 2 <= w * w

def _box_blur(a):
    "3x3 mean of a 2-D map (edge padded)"
    p = np.pad(a, 1, mode='edge')
    return sum(p[i:i + a.shape[0], j:j + a.shape[1]] for i in range(3) for j in range(3)) / 9

def draw_cell(cell_type:str, size:int, rng:np.random.Generator) -> tuple:
    "Dye maps (nuclear, cytoplasmic) of one cell of `cell_type` on a `size` x `size` grid, each (size, size) float"
    T = TYPES[cell_type]
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    x, y = (x + 0.5) / size * 2 - 1, (y + 0.5) / size * 2 - 1
    cx, cy = rng.uniform(-0.08, 0.08, 2)
    r = T['r'] * rng.uniform(0.9, 1.1)
    ang = rng.uniform(0, math.pi)
    cell = _disc(x, y, cx, cy, r, r * rng.uniform(0.85, 1.0), ang)
    nuc_dye, cyt_dye = np.zeros((size, size)), np.zeros((size, size))
    # background: parts of red cells (cytoplasmic dye only), outside the cell
    for _ in range(rng.integers(1, 4)):
        a, d = rng.uniform(0, 2 * math.pi), rng.uniform(0.95, 1.3)
        rbc = _disc(x, y, d * math.cos(a), d * math.sin(a), 0.38, 0.38) & ~cell
        cyt_dye += rbc * 0.35 * (1 - 0.5 * _disc(x, y, d * math.cos(a), d * math.sin(a), 0.16, 0.16))
    e, b = T['cyto']
    cyt_dye += cell * e
    nuc_dye += cell * b * 0.5       # basophilic cytoplasm takes the nuclear dye weakly
    # nucleus
    kind, nr = T['nucleus'], T.get('nr', 0.8) * r
    ox, oy = cx + rng.uniform(-0.1, 0.1) * r, cy + rng.uniform(-0.1, 0.1) * r
    if kind == 'round': nuc = _disc(x, y, ox, oy, nr, nr * rng.uniform(0.85, 1.0), ang)
    elif kind == 'kidney':
        nuc = _disc(x, y, ox, oy, nr, nr * 0.8, ang) & ~_disc(x, y, ox + 0.9 * nr * math.cos(ang + 1.57), oy + 0.9 * nr * math.sin(ang + 1.57), 0.5 * nr, 0.5 * nr)
    elif kind == 'cup':
        nuc = _disc(x, y, ox, oy, nr, nr, 0) & ~_disc(x, y, ox + 0.75 * nr * math.cos(ang), oy + 0.75 * nr * math.sin(ang), 0.3 * nr, 0.3 * nr)
    else:   # lobes on an arc, joined by thin strands
        k = int(rng.integers(T['n_lobes'][0], T['n_lobes'][1] + 1))
        arc = np.linspace(-0.9, 0.9, k) + ang
        pts = [(cx + 0.45 * r * math.cos(t), cy + 0.45 * r * math.sin(t)) for t in arc]
        lr = r * (0.34 if k <= 2 else 0.24)
        nuc = np.zeros_like(cell)
        for i, (px, py) in enumerate(pts):
            nuc |= _disc(x, y, px, py, lr, lr * 0.8, rng.uniform(0, math.pi))
            if i: nuc |= _segment(x, y, *pts[i - 1], px, py, 0.05 * r)
    nuc &= cell
    chrom = T['h'] * (1 + 0.35 * (rng.random((size, size)) - 0.5))     # speckled chromatin
    nuc_dye = np.where(nuc, chrom, nuc_dye)
    cyt_dye = np.where(nuc, 0.05, cyt_dye)
    for _ in range(T.get('nucleoli', 0)):        # pale nucleoli inside the nucleus
        a, d = rng.uniform(0, 2 * math.pi), rng.uniform(0, 0.4) * nr
        hole = _disc(x, y, ox + d * math.cos(a), oy + d * math.sin(a), 0.16 * nr, 0.16 * nr) & nuc
        nuc_dye = np.where(hole, 0.35 * T['h'], nuc_dye)
    if T.get('hof'):                             # a pale zone beside the nucleus
        hof = _disc(x, y, ox + 1.05 * nr * math.cos(ang), oy + 1.05 * nr * math.sin(ang), 0.3 * r, 0.3 * r) & cell & ~nuc
        nuc_dye, cyt_dye = np.where(hof, 0.0, nuc_dye), np.where(hof, 0.03, cyt_dye)
    for _ in range(T.get('vacuoles', 0)):        # clear vacuoles in the cytoplasm
        a, d = rng.uniform(0, 2 * math.pi), rng.uniform(0.6, 0.85) * r
        vac = _disc(x, y, cx + d * math.cos(a), cy + d * math.sin(a), 0.07 * r, 0.07 * r) & cell & ~nuc
        nuc_dye, cyt_dye = np.where(vac, 0.0, nuc_dye), np.where(vac, 0.0, cyt_dye)
    n_gran, dye, gsize = T['gran']
    if n_gran:                                   # granules: single dots (or 2x2) anywhere in the cell
        inside = np.argwhere(cell)
        picks = inside[rng.integers(0, len(inside), int(n_gran * (size / 64) ** 2) + 1)]
        for i, j in picks:
            sl = (slice(i, i + gsize), slice(j, j + gsize))
            if 'e' in dye: cyt_dye[sl] += 0.6
            if 'h' in dye: nuc_dye[sl] += 0.9
    for _ in range(T.get('rods', 0)):            # Auer rods: thin dark needles
        a, L = rng.uniform(0, math.pi), rng.uniform(0.35, 0.6) * r
        px, py = cx + rng.uniform(-0.3, 0.3) * r, cy + rng.uniform(-0.3, 0.3) * r
        rod = _segment(x, y, px - L * math.cos(a), py - L * math.sin(a), px + L * math.cos(a), py + L * math.sin(a), 0.03) & cell
        nuc_dye = np.where(rod, 1.6, nuc_dye)
    return _box_blur(nuc_dye), _box_blur(cyt_dye)

def sample_sketch_stain(rng:np.random.Generator, strength:float=1.0) -> dict:
    "One patient's stain: turned dye colours, dye amounts, a tone curve and a tint; `strength` scales every range (0: none)"
    turn = lambda v: np.clip(v + strength * rng.uniform(-0.22, 0.22, 3), 0.02, None)
    return dict(nuclear=turn(DYES['nuclear']), cytoplasm=turn(DYES['cytoplasm']),
                amount=np.exp(strength * rng.uniform(-0.35, 0.35, 2)),
                contrast=math.exp(strength * rng.uniform(-0.3, 0.3)), brightness=strength * rng.uniform(-0.06, 0.06),
                tint=1 + strength * rng.uniform(-0.06, 0.06, 3))

def stain_cell(maps:tuple, stain:dict, rng:np.random.Generator) -> np.ndarray:
    "RGB uint8 (H,W,3) of dye maps under a patient's stain, with the microscope's noise"
    nuc, cyt = maps
    od = nuc[..., None] * stain['amount'][0] * stain['nuclear'] + cyt[..., None] * stain['amount'][1] * stain['cytoplasm']
    img = stain['tint'] * 0.96 * np.exp(-od)
    img = 0.5 + (img - 0.5) * stain['contrast'] + stain['brightness']
    img = img + rng.normal(0, 0.015, img.shape)
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)

def write_sketch_set(root:str|Path, # output folder (Matek layout: <CLASS>/<CLASS>_NNNN.tiff and cells.csv)
                     seed:int, # the set's seed
                     n_patients:int, # patients, bag labels drawn uniformly
                     cells_per_patient:tuple, # (min, max) cells per patient
                     size:int=64, # image side in px
                     strength:float=1.0, # stain variation between patients (0: every patient alike)
                     probe_share:float=0.25, # share of patients whose role is 'probe'
                    ) -> Path:
    "Write a labelled single-cell set drawn by this module (patients' bags drawn as SynthAML's compositions), once"
    root = Path(root)
    cfg = dict(generator='sketch', seed=seed, n_patients=n_patients, cells_per_patient=list(cells_per_patient), size=size,
               strength=strength, probe_share=probe_share, version=1)
    if (root/'sketch.json').exists() and json.loads((root/'sketch.json').read_text()) == cfg: return root
    tmp = root.with_name(root.name + '.partial')
    if tmp.exists(): import shutil; shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    rng = np.random.default_rng([seed, 0x534B4554])   # 'SKET'
    labels = [str(b) for b in rng.choice(BAG_LABELS, size=n_patients)]
    order = sorted(range(n_patients), key=lambda i: (BAG_LABELS.index(labels[i]), rng.random()))
    probe = {order[k] for k in np.linspace(0, n_patients - 1, max(1, round(n_patients * probe_share)) + 2)[1:-1].round().astype(int)}
    count, rows = dict.fromkeys(MATEK_OF.values(), 0), []
    for i in range(n_patients):
        types, _ = patient_composition(labels[i], int(rng.integers(cells_per_patient[0], cells_per_patient[1] + 1)), rng)
        stain = sample_sketch_stain(rng, strength)
        for t in types:
            cls = MATEK_OF[t]
            count[cls] += 1
            image = f'{cls}/{cls}_{count[cls]:04d}.tiff'
            (tmp/cls).mkdir(exist_ok=True)
            Image.fromarray(stain_cell(draw_cell(t, size, rng), stain, rng), 'RGB').save(tmp/image)
            rows.append(dict(image=image, patient_id=f'S{i + 1:03d}', cell_type=cls, synth_type=t, malignant=t in MALIGNANT,
                             role='probe' if i in probe else 'train', bag_label=labels[i]))
    pd.DataFrame(rows).to_csv(tmp/'cells.csv', index=False)
    (tmp/'sketch.json').write_text(json.dumps(cfg))
    if root.exists(): import shutil; shutil.rmtree(root)
    tmp.rename(root)
    return root

if __name__ == '__main__':
    out = Path(__file__).parent/'_out'; out.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    rows = []
    for s in (0.0, 1.0, 2.0):
        stains = [sample_sketch_stain(rng, s) for _ in range(4)]
        rows.append(np.concatenate([stain_cell(draw_cell(t, 64, rng), stains[k % 4], rng) for k, t in enumerate(CELL_TYPES)], 1))
    Image.fromarray(np.concatenate(rows, 0)).save(out/'sketch_sheet.png')
    print('cell types:', ', '.join(CELL_TYPES))
