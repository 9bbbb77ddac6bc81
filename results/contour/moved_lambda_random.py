"""Random rarely-sampled DP-SGD epsilon queries: contour of a new binary (argv[1]) against the
binary before the move below the saddle point (/tmp/ew_final = 9b7e68e) and pld at tolerance
1e-4 (docs/math.md section 10.9.3). Usage: python3 moved_lambda_random.py NEW_BINARY [OLD_BINARY]."""
import sys
NEWB = sys.argv[1]
OLDB = sys.argv[2] if len(sys.argv) > 2 else "/tmp/ew_final"
import random, subprocess, json, math, time
rng = random.Random(26)
rows = []
def q(b, args):
    t = time.time()
    r = subprocess.run([b] + args + ["--format", "json"], capture_output=True, text=True, timeout=120)
    dt = time.time() - t
    if r.returncode != 0:
        return None, dt, r.stderr.strip()[:80]
    d = json.loads(r.stdout)
    return (d.get("lower"), d.get("upper")), dt, ""
bad = 0
for i in range(30):
    s = rng.uniform(0.5, 3); qq = 10 ** rng.uniform(-5, -2); n = int(10 ** rng.uniform(2, 5)); de = rng.choice([1e-5, 1e-8])
    a = ["epsilon", "--sigma", f"{s:.4f}", "--sampling-rate", f"{qq:.3e}", "--steps", str(n), "--delta", str(de)]
    new, tn, en = q(NEWB, a + ["--accountant", "contour"])
    old, to, eo = q(OLDB, a + ["--accountant", "contour"])
    pld, tp, ep = q(NEWB, a + ["--accountant", "pld", "--tolerance", "1e-4"])
    ok = True
    for other in (old, pld):
        if new and other and not (new[0] <= other[1] * (1 + 1e-12) and other[0] <= new[1] * (1 + 1e-12)):
            ok = False
    bad += not ok
    print(f"{' '.join(a[1:]):70s} new {new} {tn:.2f}s | old {old} {to:.2f}s {eo[:40]} | pld {pld} | {'OK' if ok else 'DISJOINT'}", flush=True)
print("disjoint:", bad)
