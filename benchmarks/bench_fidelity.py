"""Agreement of the baselines with ports of their authors' code (issue 22), as in the report.

Run from the repository root: ``PYTHONPATH=$PWD python benchmarks/bench_fidelity.py``. It reuses
the ports and tiny-model fixtures of tests/scoring/test_ifd_authors.py and tests/selection/, and
embeds 120 real Dolly rows with the packaged all-MiniLM-L6-v2 (a minute on one CPU core).
"""
import math, sys, warnings, tempfile, torch
sys.path[:0] = ["tests", "tests/scoring"]
import test_ifd_authors as T
from sample_data import DOLLY, read_jsonl
from deita_hf.scoring import IFDScorer
warnings.simplefilter("ignore")
rows = read_jsonl(DOLLY, 40)
class F:  # pytest tmp_path_factory stand-in
    def mktemp(self, n): return tempfile.mkdtemp(prefix=n)
for name, fx, port, mk in [("cherry", T.llama.__wrapped__(F()), T.cherry_ifd, lambda p: IFDScorer(p, batch_size=5)),
                           ("superfilter", T.gpt2.__wrapped__(F(), rows), lambda t, m, r: T.superfilter_ifd(t, m, r), lambda p: IFDScorer.superfilter(p, batch_size=6)),
                           ("cherry old layout", None, None, None)]:
    if fx is None: break
    path, tok, model = fx
    want = [port(tok, model, r) for r in rows]
    got = T._score(mk(path), rows)
    ok = [i for i, w in enumerate(want) if w is not None]
    print(f"{name}: rows scored {len(ok)}/40, NaN where the authors skip: {[i for i,g in enumerate(got) if math.isnan(g)]}, "
          f"max |diff| {max(abs(got[i]-want[i]) for i in ok):.2e}, same order: {T._order(got)==T._order(want)}")
    old = T._score(mk(path).__class__(path, layout='separate', prompt='alpaca', superfilter=name=='superfilter'), rows)
    print(f"   old layout: max |diff| {T._max_gap(old, want):.3f}")

# -- selection --
import sys, warnings, numpy as np
sys.path[:0] = ["tests", "tests/selection"]
warnings.simplefilter("ignore")
import importlib.util as u
s = u.spec_from_file_location("sc", "tests/selection/conftest.py"); m = u.module_from_spec(s); s.loader.exec_module(m)
from sample_data import DOLLY, read_jsonl
from test_kmeans_instag import reference_instag
from test_facility import superfiltering_fla
from deita_hf.selection.instag import select_instag_diversity
from deita_hf.selection.kmq import select_kmq
from deita_hf.selection.facility import select_facility_location
from datasets import Dataset
rng = np.random.default_rng(7)
rows = read_jsonl(DOLLY)
vocab = sorted({w.strip(".,?!:;()\"'").lower() for r in rows for w in r["instruction"].split()} - {""})
tags = [sorted(set(rng.choice(vocab[:80], rng.integers(1, 5)).tolist())) for _ in range(1000)]
ds = Dataset.from_dict({"tags": tags, "idx": list(range(1000))})
out, st = select_instag_diversity(ds, 600, progress=False, return_stats=True)
once = select_instag_diversity(ds, 600, repeat=False, progress=False)
print(f"instag: 600 of 1000 -> {len(out)} rows in {st.params['passes']} passes, equal to Algorithm 1 port: {out['idx'][:] == reference_instag(tags, 600)}; one pass -> {len(once)} rows")
emb = np.concatenate([np.random.default_rng(0).normal(0, 0.05, (6, 4)) + 5, np.random.default_rng(0).normal(0, 0.05, (6, 4)) - 5])
from deita_hf.embedding.sentence import SentenceEmbedder
x = np.asarray(SentenceEmbedder().embed_texts([r["instruction"] + "\n" + r["input"] + "\n" for r in read_jsonl(DOLLY, 120)]))
ref, g = superfiltering_fla(x, 40)
o = select_facility_location(m.make_pool(x), 40, progress=False)
print(f"facility (120 real rows, 40 picks): same picks+order {o['idx'][:] == ref}, max |gain diff| {np.abs(np.array(o['facility_gain'][:]) - g).max():.2e}")

import sys, warnings, numpy as np
sys.path[:0] = ["tests", "tests/selection"]
warnings.simplefilter("ignore")
import importlib.util as u
s = u.spec_from_file_location("sc", "tests/selection/conftest.py"); m = u.module_from_spec(s); s.loader.exec_module(m)
from test_mig_kmq import reference_kmq
from deita_hf.selection.kmq import select_kmq
rng = np.random.default_rng(0)
emb = np.concatenate([rng.normal(0, 0.05, (6, 4)) + 5, rng.normal(0, 0.05, (6, 4)) - 5])
scores = np.array([1.9, 1.1, 1.0, 2.95, 0.2, 3.5, 2.99, 2.0, 0.5, 1.5, 4.1, 4.9]); labels = np.repeat([0, 1], 6)
np.random.seed(42); a = np.zeros(12); ints = np.array(scores, dtype=np.int64)
for _ in range(4000):
    for i in range(2):
        idx = np.where(labels == i)[0]; p = np.exp(ints[idx]); p = p / p.sum()
        a[np.random.choice(idx, size=2, replace=False, p=p)] += 1
a /= 4000
ds = m.make_pool(emb.astype(np.float32), scores)
for name, kw in [("default", {}), ("old (P ∝ score)", {"temperature": None, "truncate_scores": False}), ("softmax of float scores", {"truncate_scores": False})]:
    o = np.zeros(12)
    for seed in range(250):
        o[select_kmq(ds, 4, n_clusters=2, seed=seed, score_column="score", progress=False, **kw)["idx"][:]] += 1
    print(f"kmq {name}: max |inclusion freq - authors'| = {np.abs(o/250 - a).max():.3f}")
ok = 0
for seed, k, b in [(0, 4, 30), (1, 7, 45), (2, 3, 100), (3, 6, 17)]:
    e, sc = m.clustered_data(120, 8, 6, seed, noise=0.6); sc = sc + np.random.default_rng(seed).uniform(0, 0.99, 120)
    ok += select_kmq(m.make_pool(e, sc), b, n_clusters=k, seed=seed, score_column="score", progress=False)["idx"][:] == reference_kmq(e, sc, b, k, seed)[0]
print(f"kmq vs the weighting port with the same keys: {ok}/4 pools identical rows and order")
