"""World v2 calibration numbers (docs/world-v2.md §5), dev tooling only.

    python3 world/tools/world_v2_measure.py chain RUN_DIR [--json OUT] [--stored-lsnr n|s]
                                            # the chain's dataset.sqlite
    python3 world/tools/world_v2_measure.py numpy RUN_DIR [--seeds 4] [--json OUT]
                                            # the numpy reference on the same prompts (RUN_DIR/prompts.json)

Reports, per issue 11 point 2: mean D-SIM and I-CLIP at 11 steps (linear interpolation on the
step grid, SPEC §5's dense curves), median quality q = N/(S+N) of 129-step images, oracle t*
(SPEC §5 rule on the seed-mean curves) p10/p50/p90, the between-prompt share of variance at
5/9/17 steps, and the allocation ceiling (exact knapsack over the dense seed-mean quality curves)
at the UNIFORM budget round(mean oracle t*) and at 9/11/15 steps.
The chain's stored lsnr is N/(S+N) on main today (`--stored-lsnr n`, = 1 - L-SNR of the revised
SPEC); once the metric follows the revised SPEC it stores S/(S+N) (`--stored-lsnr s`). A dataset's
run_meta `lsnr_definition` (noise_share / signal_share), when present, wins over the flag. The numpy
side computes S/(S+N) and converts.
"""
import json
import os
import sqlite3
import sys

import numpy as np

T = [1, 2, 3, 5, 9, 17, 22, 27, 33, 42, 65, 129]
W_RULE = dict(q=0.3, dsim=0.2, iclip=0.5)


def dense(c):
    return np.apply_along_axis(lambda v: np.interp(np.arange(1, 130), T, v), -1, c)


def spec_tstar(cd, w, eps=5e-4):
    d = np.abs(np.diff(cd))
    thr = max(np.median(d) + w * d.std(), eps)
    idx = np.where(d >= thr)[0]
    return int(idx.max() + 2) if len(idx) else 1


def ceiling(q, u):
    """Best mean relative gain over UNIFORM-u of any step allocation with mean u (exact knapsack)."""
    P, Tm = q.shape
    base = q[:, u - 1:u]
    gain = np.where(base > 0, q / np.where(base > 0, base, 1) - 1, np.where(np.arange(Tm)[None] == u - 1, 0, -np.inf))
    budget = P * u
    best = np.full(budget + 1, -np.inf)
    best[0] = 0
    for i in range(P):
        nxt = np.full(budget + 1, -np.inf)
        for t in range(1, Tm + 1):
            np.maximum(nxt[t:], best[:budget + 1 - t] + gain[i, t - 1], out=nxt[t:])
        best = nxt
    return float(best.max() / P)


def between_share(x):
    tot = x.var()
    return float(1 - x.var(axis=1).mean() / tot) if tot > 0 else float("nan")


def report(m):
    """m: metric -> [P, S, len(T)] with q = N/(S+N), dsim, iclip."""
    curves = {k: dense(v.mean(1)) for k, v in m.items()}
    quality = dict(q=curves["q"], dsim=1 - curves["dsim"], iclip=curves["iclip"])
    P = m["q"].shape[0]
    ts = np.array([max(spec_tstar(curves[k][i], W_RULE[k]) for k in curves) for i in range(P)])
    u = int(round(ts.mean()))
    out = dict(
        prompts=P, seeds=int(m["q"].shape[1]),
        mean_dsim_11=float(curves["dsim"][:, 10].mean()),
        mean_iclip_11=float(curves["iclip"][:, 10].mean()),
        median_q_129=float(np.median(m["q"][:, :, -1].mean(1))),
        oracle_t_star=dict(p10=float(np.percentile(ts, 10)), p50=float(np.median(ts)),
                           p90=float(np.percentile(ts, 90)), mean=float(ts.mean())),
        between_share={k: {str(t): between_share(m[k][:, :, T.index(t)]) for t in (5, 9, 17)} for k in m},
        uniform_budget=u,
        allocation_ceiling={k: {str(b): ceiling(quality[k], b) for b in sorted({9, 11, 15, u})} for k in quality},
        mean_curves={k: [float(x) for x in v.mean(axis=(0, 1))] for k, v in m.items()},
        steps=T,
    )
    return out


def from_chain(run, stored):
    db = sqlite3.connect(os.path.join(run, "dataset.sqlite"))
    # Datasets written after the SPEC §3 revision name their definition (run_meta lsnr_definition).
    try:
        meta = dict(db.execute("select key, value from run_meta where key = 'lsnr_definition'"))
    except sqlite3.OperationalError:
        meta = {}
    if "lsnr_definition" in meta:
        stored = "n" if meta["lsnr_definition"] == "noise_share" else "s"
    rows = np.array(list(db.execute("select prompt_id, seed, steps, lsnr, dsim, iclip from image_metrics")))
    pids = np.unique(rows[:, 0]).astype(int)
    seeds = np.unique(rows[:, 1]).astype(int)
    m = {k: np.full((len(pids), len(seeds), len(T)), np.nan) for k in ("q", "dsim", "iclip")}
    pi = {p: i for i, p in enumerate(pids)}
    si = {s: i for i, s in enumerate(seeds)}
    ti = {t: i for i, t in enumerate(T)}
    for p, s, t, lq, d, c in rows:
        idx = (pi[int(p)], si[int(s)], ti[int(t)])
        m["q"][idx], m["dsim"][idx], m["iclip"][idx] = (lq if stored == "n" else 1 - lq), d, c
    keep = ~np.isnan(m["q"]).any(axis=(1, 2))
    return {k: v[keep] for k, v in m.items()}


def from_numpy(run, seeds):
    caps = [p["text"] for p in json.load(open(os.path.join(run, "prompts.json")))["prompts"]]
    return measure_captions(caps, seeds, progress=True)


def measure_captions(caps, seeds, progress=False):
    """The numpy reference's metrics of `caps` x `seeds` at the step grid, with the config as it is now."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import world_v2_reference as R

    cal = R.CFG["calibration"]
    m = {k: np.zeros((len(caps), seeds, len(T))) for k in ("q", "dsim", "iclip")}
    for i, c in enumerate(caps):
        Mc, Lam = R.render(R.params(c))
        z = np.stack([R.seeded_normal(1000 + s, R.C * R.NPIX).reshape(R.C, R.NPIX) for s in range(seeds)])
        ims = np.stack([R.to01(R.decode(R.to_pixels(R.sample(Mc, Lam, z, n)))) for n in T], 1)  # [S,T,3,H,W]
        flat = ims.reshape((-1,) + ims.shape[2:])
        f = R.features(flat)
        for model, key in (("dreamsim", "dsim"), ("clip", "iclip")):
            e = R.embed(f, model, cal[model]).reshape(seeds, len(T), -1)
            c_ = np.einsum("stf,sf->st", e, e[:, -1])
            m[key][i] = np.clip(1 - c_, 0, 1) if key == "dsim" else np.clip(c_, 0, 1)
        m["q"][i] = 1 - R.lsnr(flat).reshape(seeds, len(T))
        if progress and i % 20 == 0:
            print(f"numpy: {i + 1}/{len(caps)} prompts", file=sys.stderr)
    return m


if __name__ == "__main__":
    src, run = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    opt = lambda name, d: args[args.index(name) + 1] if name in args else d  # noqa: E731
    m = from_chain(run, opt("--stored-lsnr", "n")) if src == "chain" else from_numpy(run, int(opt("--seeds", 4)))
    out = report(m)
    out["source"] = src
    text = json.dumps(out, indent=1)
    if opt("--json", None):
        open(opt("--json", None), "w").write(text + "\n")
    short = {k: v for k, v in out.items() if k not in ("mean_curves", "steps")}
    print(json.dumps(short, indent=1))
