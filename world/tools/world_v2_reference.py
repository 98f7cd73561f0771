"""World v2 numpy reference (float64), dev tooling only: the ONNX graphs of world/src/v2 are
tested against what this file computes (world/src/v2/world-v2.fixture.json).

    python3 world/tools/world_v2_reference.py calibrate   # writes `calibration` into the config
    python3 world/tools/world_v2_reference.py fixture     # writes the test fixture

It follows the team's prototype (docs/world-v2.md) with the port's choices: parameters from CLIP
BPE tokens (single-token words; a word that is several tokens counts as unknown words), layouts
from a hashed code of the token ids instead of a seeded generator per caption, the decoder-space
means and the band-pass, soft-limited pixel texture. Everything reads world-v2.config.json.
"""
import glob
import gzip
import json
import os
import re
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "src")
CONFIG_PATH = os.path.join(SRC, "v2", "world-v2.config.json")
FIXTURE_PATH = os.path.join(SRC, "v2", "world-v2.fixture.json")
DATA = os.path.join(HERE, "..", "..", "..", "shared", "data", "prompts")
CFG = json.load(open(CONFIG_PATH))
VOCAB = json.load(gzip.open(os.path.join(SRC, "data", "clip-bpe-tokenizer.json.gz")))["model"]["vocab"]
LEX = json.load(open(os.path.join(SRC, "data", "lexicon-v2.json")))
STOP = set(CFG["text"]["stop_words"].split())
N = CFG["latent"]["size"]
NPIX = N * N
C = CFG["latent"]["channels"]


# ---------- seeded normals, bit-compatible with shared/src/random/seeded-random.ts ----------
def seeded_normal(seed, count):
    rs = np.random.RandomState(seed)
    u = rs.random_sample(2 * ((count + 1) // 2)).reshape(-1, 2)
    r = np.sqrt(-2 * np.log(1 - u[:, 0]))
    th = 2 * np.pi * u[:, 1]
    out = np.stack([r * np.cos(th), r * np.sin(th)], 1).reshape(-1)[:count]
    return out.astype(np.float32).astype(np.float64)


def table_seed(index):
    return (CFG["seed"] + 7919 * index) % 2**32


# ---------- orthonormal periodic Daubechies wavelet basis ----------
def wavelet_basis(n, order, levels):
    s3 = 3**0.5
    h = {1: np.array([1, 1]) / 2**0.5,
         2: np.array([1 + s3, 3 + s3, 3 - s3, 1 - s3]) / (4 * 2**0.5)}[order]
    g = np.array([(-1) ** k * h[len(h) - 1 - k] for k in range(len(h))])

    def dwt(m):
        A = np.zeros((m, m))
        for i in range(m // 2):
            for k in range(len(h)):
                A[i, (2 * i + k) % m] += h[k]
                A[m // 2 + i, (2 * i + k) % m] += g[k]
        return A

    B = np.zeros((n * n, n * n))
    for idx in range(n * n):
        y = np.zeros((n, n))
        y.flat[idx] = 1.0
        m = n
        for _ in range(levels):
            A = dwt(m)
            y[:m, :m] = A @ y[:m, :m] @ A.T
            m //= 2
        B[:, idx] = y.flatten()
    level = np.zeros(n * n, int)
    for r in range(n):
        for c in range(n):
            m, lev = n, 0
            while m > 1 and r < m // 2 and c < m // 2 and lev < levels:
                m //= 2
                lev += 1
            level[r * n + c] = levels + 1 if lev == levels else lev + 1
    return B, level


B, LEVEL = wavelet_basis(N, CFG["latent"]["wavelet_order"], CFG["latent"]["wavelet_levels"])
B2 = B**2


def on(levels):
    return np.isin(LEVEL, levels).astype(float)


# ---------- text: tokens -> parameters ----------
def lab(rgb):
    r, g, b = [2 * v - 1 for v in rgb]
    return np.array([(r + g + b) / 3, (r - g) / 2, ((r + g) / 2 - b) / 2])


def hash_consts():
    t = CFG["text"]
    raw = seeded_normal(table_seed(1), 2 * (t["hash_channels"] + t["clip_hash_dims"]))
    ints = (np.floor(np.abs(raw) * 1e4).astype(np.int64) % 30000) + 1000
    return ints.reshape(2, -1)


HASH_MUL, HASH_ADD = hash_consts()


def token_hash(ids, offset, count):
    P = CFG["text"]["hash_prime"]
    ids = np.asarray(ids, np.int64)[:, None]
    return ((ids * HASH_MUL[offset:offset + count] + HASH_ADD[offset:offset + count]) % P) / P - 0.5


def words(caption):
    return re.findall(r"[a-z]+", caption.lower())


def token_words(caption, strict):
    """(word, token id or None) per word; strict: every word must be one BPE token."""
    out = []
    for w in words(caption):
        tid = VOCAB.get(w + "</w>")
        if tid is None and strict:
            raise ValueError(f"fixture prompt word {w!r} is not a single CLIP BPE token")
        out.append((w, tid))
    return out


def params(caption, strict=False):
    t = CFG["text"]
    s = {k: 0.0 for k in ["bgw", "objw", "cnt", "nouns", "numw", "numv", "otex", "ofine", "ograin",
                          "btex", "bfine", "bgrain", "bsmooth", "mtex", "mfine", "mgrain", "clutter",
                          "smooth", "size", "sizew", "colourful", "unk"]}
    bg = np.zeros(3)
    obj = np.zeros(3)
    ids = []
    for w, tid in token_words(caption, strict):
        ids.append(tid if tid is not None else -1)
        e = LEX.get(w) if tid is not None else None
        if e is None:
            if w not in STOP:
                s["unk"] += 1
            continue
        if "bg" in e:
            bg += t["bg_word_weight"] * lab(e["bg"])
            s["bgw"] += t["bg_word_weight"]
        if "obj" in e:
            obj += e["objw"] * lab(e["obj"])
            s["objw"] += e["objw"]
        if "count" in e and "otex" in e:
            s["nouns"] += 1
            for k in ["otex", "ofine", "ograin", "size"]:
                s[k] += e[k]
        for k in ["btex", "bfine", "bgrain", "bsmooth", "mtex", "mfine", "mgrain", "clutter", "smooth",
                  "sizew", "colourful"]:
            s[k] += e.get(k, 0.0)
        if "count" in e:
            s["cnt"] += e["count"]
        if "num" in e:
            s["numw"] += 1
            s["numv"] += e["num"]
    wn = min(s["numw"], 1.0)
    numv = s["numv"] / max(s["numw"], 1)
    count = float(np.clip(wn * numv + (1 - wn) * s["cnt"], 0, t["count_max"]))
    free = max(0.0, 1 - count)
    nb = lab(t["neutral_bg_rgb"])
    bgc = (bg + t["bg_prior"] * nb + free * obj) / (s["bgw"] + t["bg_prior"] + free * s["objw"])
    objc = obj / (s["objw"] + t["obj_prior"])
    n_n = max(s["nouns"], 1.0)
    has_obj = min(count, 1.0)
    known = [i for i in ids if i >= 0]
    hsh = token_hash(known, 0, t["hash_channels"]).sum(0) if known else np.zeros(t["hash_channels"])
    return dict(
        count=count, bg=bgc, obj=objc,
        o_tex=s["otex"] / n_n + has_obj * s["mtex"],
        o_fine=s["ofine"] / n_n + has_obj * s["mfine"],
        o_grain=s["ograin"] / n_n + has_obj * s["mgrain"],
        b_tex=s["btex"] + (1 - has_obj) * s["mtex"] + t["unknown_texture"] * s["unk"],
        b_fine=s["bfine"] + (1 - has_obj) * s["mfine"],
        b_grain=s["bgrain"] + (1 - has_obj) * s["mgrain"],
        smooth=s["smooth"] + s["bsmooth"],
        clutter=s["clutter"] + t["unknown_clutter"] * s["unk"],
        size=s["size"] / n_n + s["sizew"], colourful=s["colourful"], hash=hsh,
        content_ids=[i for (w, i) in zip(words(caption), ids) if i >= 0 and w not in STOP])


PARAM_KEYS = ["count", "o_tex", "o_fine", "o_grain", "b_tex", "b_fine", "b_grain", "smooth", "clutter",
              "size", "colourful"]


def param_vec(p):
    """The 17 parameters p-bar encodes and pooler_output carries: log1p(count), 10 amounts, bg, obj."""
    return np.array([np.log1p(p["count"])] + [p[k] for k in PARAM_KEYS[1:]] + list(p["bg"]) + list(p["obj"]))


# ---------- mixture ----------
def layout_table():
    m = CFG["mixture"]
    per = m["J"] * 9 + 3
    return seeded_normal(table_seed(2), CFG["text"]["hash_channels"] * (m["K"] * per + 2)).reshape(
        CFG["text"]["hash_channels"], -1)


LAYOUT = layout_table()


def level_gain(g1, g2):
    return np.where(LEVEL == 1, g1, np.where(LEVEL == 2, g2, 1.0))


def render(p):
    """Mixture means [K,C,256] and variances [K,C,256] in wavelet coefficients."""
    m = CFG["mixture"]
    K, J = m["K"], m["J"]
    hn = p["hash"] / np.sqrt((p["hash"] ** 2).sum() + 1e-12)
    z = hn @ LAYOUT  # marginally standard normal codes
    per = J * 9 + 3
    yy, xx = np.meshgrid((np.arange(N) + .5) / N, (np.arange(N) + .5) / N, indexing="ij")
    n = p["count"]
    r = m["r_base"] * np.exp(m["size_gain"] * np.clip(p["size"], -2, 2)) / np.sqrt(1 + m["r_count"] * n)
    smooth = np.exp(-p["smooth"])
    named = float(np.linalg.norm(p["obj"]) > 0.05)
    amt = lambda x: (1 - np.exp(-2 * max(x - m["th"], 0))) * smooth  # noqa: E731
    ab = dict(tex=amt(p["b_tex"] + m["clutter_tex"] * p["clutter"]), fine=amt(p["b_fine"]), grain=amt(p["b_grain"]))
    ao = dict(tex=amt(p["o_tex"] + m["clutter_tex"] * p["clutter"]), fine=amt(p["o_fine"]), grain=amt(p["o_grain"]))
    sh_tex = on([2, 3])
    sh_fine = on([1, 2]) * np.where(LEVEL == 2, m["f_l2"], 1.0)
    lum_var = lambda a: m["tex_w"] * m["s_tex"] ** 2 * a["tex"] * sh_tex + m["s_fine"] ** 2 * a["fine"] * sh_fine  # noqa: E731
    det_var = lambda a: m["s_fgrain"] ** 2 * (a["fine"] * (1 - m["fg_grain"]) + a["grain"] * m["fg_grain"]) * on([1, 2])  # noqa: E731
    light = m["s_struct"] ** 2 * on([4, 5])
    za, zb = z[K * per], z[K * per + 1]
    cos_off, sin_off = zb / np.sqrt(za * za + zb * zb + 1e-12), za / np.sqrt(za * za + zb * zb + 1e-12)
    M = np.zeros((K, C, N, N))
    Lam = np.zeros((K, C, NPIX))
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    for k in range(K):
        zk = z[k * per:(k + 1) * per]
        obj = np.zeros((N, N))
        acc = np.zeros((3, N, N))
        tot = np.zeros((N, N))
        for j in range(J):
            zj = zk[j * 9:(j + 1) * 9]
            vis = float(np.clip(n - j, 0, 1))
            cy = m["pos_lo"] + (m["pos_hi"] - m["pos_lo"]) * sig(1.7 * zj[0])
            cx = m["pos_lo"] + (m["pos_hi"] - m["pos_lo"]) * sig(1.7 * zj[1])
            rj = r * np.exp(m["radius_jitter"] * zj[2])
            d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
            mk = vis * sig((rj - d) / m["edge"])
            base = named * p["obj"] + m["colourful"] * np.clip(p["colourful"], 0, 1.5) * zj[3:6]
            col = base + (named * m["col_named"] + (1 - named) * m["col_free"]) * zj[6:9]
            acc += mk * col[:, None, None]
            tot += mk
            obj = 1 - (1 - obj) * (1 - mk)
        bgk = p["bg"] + m["bgcol"] * 0.2 * zk[J * 9:J * 9 + 3]
        ck, sk = np.cos(2 * np.pi * k / K), np.sin(2 * np.pi * k / K)
        cos_th, sin_th = ck * cos_off - sk * sin_off, sk * cos_off + ck * sin_off
        grad = m["grad"] * (cos_th * (yy - .5) + sin_th * (xx - .5))
        bgimg = bgk[:, None, None] + np.array([1.0, 0, 0])[:, None, None] * grad
        M[k, :3] = bgimg + (acc - tot * bgimg) / np.maximum(1, tot)
        base_b = m["d_base"] + (1 - m["d_base"]) * ab["grain"]
        base_o = m["d_base"] + (1 - m["d_base"]) * ao["grain"]
        M[k, 3] = (-1) ** k * m["s_grain"] * (base_b * (1 - obj) + base_o * obj)
        cov_o = B2 @ obj.ravel()
        cov_b = B2 @ (1 - obj).ravel()
        tex = lum_var(ab) * cov_b + lum_var(ao) * cov_o
        Lam[k, 0] = light + tex
        Lam[k, 1] = m["chroma"] * (0.3 * light + tex)
        Lam[k, 2] = Lam[k, 1]
        Lam[k, 3] = det_var(ab) * cov_b + det_var(ao) * cov_o
    Lam += m["floor"]
    Mc = np.einsum("ij,kcj->kci", B, M.reshape(K, C, NPIX))
    d = CFG["decoder"]
    Mc[:, :3] /= level_gain(d["gl1"], d["gl2"])  # fix 1: the decoder reproduces the designed mean
    return Mc, Lam


def denoise(Mc, Lam, X, sigma):
    """Posterior mean E[x0 | x] of one prompt's mixture; X [S,C,256] coefficients."""
    w = 1.0 / (Lam + sigma * sigma)
    d = X[:, None] - Mc[None]
    ll = -0.5 * np.sum(d * d * w - np.log(w), axis=(2, 3))
    ll -= ll.max(axis=1, keepdims=True)
    r = np.exp(ll)
    r /= r.sum(axis=1, keepdims=True)
    post = Mc[None] + Lam * w * d
    return np.einsum("sk,skcn->scn", r, post)


# ---------- Euler (diffusers EulerDiscreteScheduler, trailing, churn 0) ----------
_b = np.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=np.float32) ** 2
_ac = np.cumprod(1.0 - _b.astype(np.float64))
TRAIN_SIGMAS = np.sqrt((1 - _ac) / _ac)


def sigmas(n):
    ts = np.round(np.arange(1000, 0, -1000 / n)) - 1
    return np.concatenate([np.interp(ts, np.arange(1000), TRAIN_SIGMAS), [0.0]]), ts


def sample(Mc, Lam, z_pix, n):
    """z_pix [S,C,256] unit noise in pixel space -> x0 coefficients after n Euler steps."""
    s, _ = sigmas(n)
    x = np.einsum("ij,scj->sci", B, z_pix) * s[0]
    for i in range(n):
        D = denoise(Mc, Lam, x, s[i])
        x = x + (x - D) / s[i] * (s[i + 1] - s[i])
    return x


def to_pixels(X):
    return np.einsum("ij,...i->...j", B, X).reshape(X.shape[:-1] + (N, N))


# ---------- decoder ----------
LAT_TO_RGB = np.array([[1, 1, 2 / 3], [1, -1, 2 / 3], [1, 0, -4 / 3]])


def gauss_wrap(x, sigma):
    """scipy.ndimage.gaussian_filter(x, sigma, mode='wrap') (truncate 4), written out for the port."""
    rad = int(4.0 * sigma + 0.5)
    k = np.exp(-0.5 * (np.arange(-rad, rad + 1) / sigma) ** 2)
    k /= k.sum()
    for ax in (0, 1):
        x = sum(w * np.roll(x, -o, axis=ax) for o, w in zip(range(-rad, rad + 1), k))
    return x


def texture():
    d = CFG["decoder"]
    t = seeded_normal(table_seed(3), 128 * 128).reshape(128, 128)
    t = gauss_wrap(t, d["texture_sigma_lo"]) - gauss_wrap(t, d["texture_sigma_hi"])
    return t / t.std()


TEX = texture()


def up8_matrix():
    c = (np.arange(8 * N) + 0.5) / 8 - 0.5
    U = np.zeros((8 * N, N))
    for o, ci in enumerate(c):
        i0 = int(np.clip(np.floor(ci), 0, N - 1))
        i1 = min(i0 + 1, N - 1)
        w1 = 0.0 if ci < 0 else min(ci - np.floor(ci), 1.0)
        U[o, i0] += 1 - w1
        U[o, i1] += w1
    return U


U8 = up8_matrix()


def plane_gain(gains):
    return B.T @ np.diag(gains) @ B


def decode(lat):
    """Unscaled latents [n,4,16,16] -> image [n,3,128,128] in about [-1,1]."""
    d = CFG["decoder"]
    G = plane_gain(level_gain(d["gl1"], d["gl2"]))
    lab_ = np.einsum("pq,ncq->ncp", G, lat[:, :3].reshape(len(lat), 3, -1)).reshape(len(lat), 3, N, N)
    rgb = np.einsum("oc,nchw->nohw", LAT_TO_RGB, lab_)
    img = U8 @ rgb @ U8.T
    Gd = plane_gain(np.where(LEVEL <= 2, d["g_fine_d"], 1.0))
    dd = (lat[:, 3].reshape(len(lat), -1) @ Gd.T).reshape(len(lat), N, N)
    A = d["soft_limit"]
    det = A * np.tanh(d["gain"] * (U8 @ dd @ U8.T) * TEX / A)  # fix 2: soft limit
    return img + det[:, None]


def to01(img):
    return np.clip(img / 2 + 0.5, 0, 1)


def lsnr(img01):
    """SPEC §3 revised: S/(S+N) on luminance, Gaussian blur sigma 1 (reflect, truncate 3)."""
    from scipy.ndimage import gaussian_filter
    Y = 0.2126 * img01[:, 0] + 0.7152 * img01[:, 1] + 0.0722 * img01[:, 2]
    Bl = gaussian_filter(Y, sigma=(0, 1, 1), mode="reflect", truncate=3.0)
    Nn = ((Y - Bl) ** 2).sum(axis=(1, 2))
    S = ((Bl - Bl.mean(axis=(1, 2), keepdims=True)) ** 2).sum(axis=(1, 2))
    return S / np.maximum(S + Nn, 1e-30)


# ---------- image embedding features ----------
def features(img01):
    x = 2 * img01 - 1
    R, G, Bc = x[:, 0], x[:, 1], x[:, 2]
    o = np.stack([(R + G + Bc) / 3, (R - G) / 2, ((R + G) / 2 - Bc) / 2], 1)
    pool = lambda v: v.reshape(v.shape[0], 3, v.shape[2] // 2, 2, v.shape[3] // 2, 2).mean(axis=(3, 5))  # noqa: E731
    P = [o]
    for _ in range(6):
        P.append(pool(P[-1]))
    D = [P[l] - P[l + 1].repeat(2, 2).repeat(2, 3) for l in range(6)]
    n = len(o)
    eL, eC, gL, gC = [], [], [], []
    for l in range(6):
        h = D[l].shape[2]
        for store, glob_, E in ((eL, gL, D[l][:, 0] ** 2), (eC, gC, D[l][:, 1] ** 2 + D[l][:, 2] ** 2)):
            store.append(E.reshape(n, 4, h // 4, 4, h // 4).mean(axis=(2, 4)).reshape(n, -1))
            glob_.append(E.mean(axis=(1, 2)))
    return dict(eL=np.stack(eL, 1), eC=np.stack(eC, 1), gL=np.stack(gL, 1), gC=np.stack(gC, 1),
                mean=P[6].mean(axis=(2, 3)), grid2=P[6].reshape(n, -1))


def blocks(f, model):
    e = np.array(CFG["eps_base"]) * CFG[model]["eps_scale"]
    b0 = CFG[model]["bands_from"]
    if model == "dreamsim":
        return dict(tex=np.log(f["eL"][:, b0:] + e[None, b0:, None]).reshape(len(f["eL"]), -1),
                    ctex=np.log(f["eC"][:, 2:] + e[None, 2:, None]).reshape(len(f["eC"]), -1))
    return dict(colour=np.concatenate([f["mean"], f["grid2"]], -1), tex=np.log(f["gL"][:, b0:] + e[b0:]),
                ctex=np.log(f["gC"][:, 1:] + e[1:]))


def embed(f, model, cal):
    """Unit embedding [sqrt(beta2), w_b (x_b - mu_b) / sc_b ...] of the calibrated model."""
    bl = blocks(f, model)
    parts = [CFG[model]["weights"][k] * (bl[k] - np.array(cal[k]["mean"])) / cal[k]["scale"]
             for k in CFG[model]["weights"]]
    E = np.concatenate([np.full((len(parts[0]), 1), np.sqrt(cal["beta2"]))] + parts, -1)
    return E / np.linalg.norm(E, axis=1, keepdims=True)


def calibrate_model(f, model, pid):
    """Standardisation over 129-step images, then beta2 so unrelated pairs sit at the target cosine."""
    bl = blocks(f, model)
    cal = {}
    parts = []
    for k, w in CFG[model]["weights"].items():
        X = bl[k]
        mu = X.mean(0)
        sc = float(np.sqrt(((X - mu) ** 2).sum(1).mean()))
        cal[k] = dict(mean=[round(float(v), 6) for v in mu], scale=round(sc, 6))
        parts.append(w * (X - np.array(cal[k]["mean"])) / cal[k]["scale"])
    E = np.concatenate(parts, -1)
    rng = np.random.default_rng(0)
    a = rng.integers(0, len(E), 6000)
    b = rng.integers(0, len(E), 6000)
    keep = pid[a] != pid[b]
    a, b = a[keep], b[keep]
    dots, na, nb = (E[a] * E[b]).sum(1), (E[a] ** 2).sum(1), (E[b] ** 2).sum(1)
    lo, hi = 0.0, 1e4
    for _ in range(80):
        mid = (lo + hi) / 2
        if np.mean((dots + mid) / np.sqrt((na + mid) * (nb + mid))) < CFG[model]["unrelated_cos"]:
            lo = mid
        else:
            hi = mid
    cal["beta2"] = round((lo + hi) / 2, 6)
    return cal


def clip_text(p, cal):
    t = CFG["text"]
    pz = (param_vec(p) - np.array(cal["param_mean"])) / np.array(cal["param_std"])
    pz /= np.linalg.norm(pz) + 1e-9
    ids = p["content_ids"]
    h = token_hash(ids, t["hash_channels"], t["clip_hash_dims"]).sum(0) if ids else np.zeros(t["clip_hash_dims"])
    h /= np.linalg.norm(h) + 1e-9
    e = np.concatenate([[np.sqrt(t["clip_g2"])], np.sqrt(t["clip_a2"]) * pz, np.sqrt(t["clip_b2"]) * h])
    return e / np.linalg.norm(e)


# ---------- prompts ----------
def load_captions():
    caps = [line.strip() for line in open(os.path.join(DATA, "coco", "coco_val2017_captions.txt"))]
    caps += [line.strip() for line in open(os.path.join(DATA, "parti", "partiprompts.txt"))]
    for f in sorted(glob.glob(os.path.join(DATA, "t2i_compbench", "*_val.txt"))):
        caps += [line.strip() for line in open(f)]
    seen, out = set(), []
    for c in caps:
        k = c.lower().strip(" .")
        if c and k not in seen:
            seen.add(k)
            out.append(c)
    return out


def images_129(caps, seeds):
    ims = []
    for c in caps:
        Mc, Lam = render(params(c))
        z = np.stack([seeded_normal(s, C * NPIX).reshape(C, NPIX) for s in seeds])
        ims.append(to01(decode(to_pixels(sample(Mc, Lam, z, 129)))))
    return np.concatenate(ims)


def calibrate():
    caps = load_captions()
    P = np.stack([param_vec(params(c)) for c in caps])
    cal = dict(param_mean=[round(float(v), 6) for v in P.mean(0)],
               param_std=[round(float(v), 6) for v in P.std(0) + 1e-6])
    cs = CFG["calibration_sample"]
    order = np.random.default_rng(cs["order_seed"]).permutation(len(caps))[: cs["prompts"]]
    seeds = list(range(cs["seeds"]))
    f = features(images_129([caps[i] for i in order], seeds))
    pid = np.repeat(np.arange(cs["prompts"]), cs["seeds"])
    cal["dreamsim"] = calibrate_model(f, "dreamsim", pid)
    cal["clip"] = calibrate_model(f, "clip", pid)
    CFG["calibration"] = cal
    with open(CONFIG_PATH, "w") as fh:
        json.dump(CFG, fh, indent=2)
        fh.write("\n")
    print(f"calibration from {len(caps)} captions, {cs['prompts']} prompts x {cs['seeds']} seeds -> {CONFIG_PATH}")


FIXTURE_PROMPTS = ["a red ball on a white floor", "two dogs on a sandy beach", "a plain white wall",
                   "a busy city street at night with many people", "three green apples on a wooden table"]
FIXTURE_SEED = 4242
STRIDE = 13


def fixture():
    cal = CFG["calibration"]
    out = dict(about="numpy reference outputs (world/tools/world_v2_reference.py fixture)", sigmas=[14.6, 1.0, 0.05],
               seed=FIXTURE_SEED, stride=STRIDE, steps=11, prompts=[])
    for pi, c in enumerate(FIXTURE_PROMPTS):
        p = params(c, strict=True)
        Mc, Lam = render(p)
        x = seeded_normal(FIXTURE_SEED + pi, C * NPIX).reshape(1, C, NPIX)
        den = []
        for s in out["sigmas"]:
            X = np.einsum("ij,scj->sci", B, x) * np.sqrt(s * s + 1)
            eps = (X - denoise(Mc, Lam, X, s)) / s
            den.append(to_pixels(eps)[0].reshape(-1)[::STRIDE].round(6).tolist())
        ims = {}
        for n in (out["steps"], 129):
            lat = to_pixels(sample(Mc, Lam, x, n))
            ims[n] = (lat, to01(decode(lat)))
        im11, im129 = ims[out["steps"]][1], ims[129][1]
        f = features(np.concatenate([im11, im129]))
        ed, ec = embed(f, "dreamsim", cal["dreamsim"]), embed(f, "clip", cal["clip"])
        out["prompts"].append(dict(
            prompt=c, params=param_vec(p).round(6).tolist(),
            means=Mc.reshape(-1)[::STRIDE].round(6).tolist(), variances=Lam.reshape(-1)[::STRIDE].tolist(),
            eps=den, latent11=ims[out["steps"]][0].reshape(-1)[::STRIDE].round(6).tolist(),
            image11=im11.reshape(-1)[::STRIDE * 29].round(5).tolist(),
            image11_mean=float(im11.mean()), image11_std=float(im11.std()),
            lsnr11=float(lsnr(im11)[0]), lsnr129=float(lsnr(im129)[0]),
            dsim11=float(np.clip(1 - ed[0] @ ed[1], 0, 1)), iclip11=float(np.clip(ec[0] @ ec[1], 0, 1)),
            dreamsim129=ed[1].round(6).tolist(), clip129=ec[1].round(6).tolist(),
            text=clip_text(p, cal).round(6).tolist()))
    with open(FIXTURE_PATH, "w") as fh:
        json.dump(out, fh)
        fh.write("\n")
    for q in out["prompts"]:
        print(f"{q['prompt'][:40]:40s} D-SIM@11 {q['dsim11']:.3f} I-CLIP@11 {q['iclip11']:.3f} "
              f"1-L-SNR@129 {1 - q['lsnr129']:.3f}")


if __name__ == "__main__":
    {"calibrate": calibrate, "fixture": fixture}[sys.argv[1]]()
