import sys; sys.path.insert(0, "/tmp/pyapi"); from pyapi_harness import run
r = run(r'''
import math
for b in [1e-320, 1e-308, 1e-300, 1e-100, 1e-10, 1e-3, 5e-3, 1e-2, 0.02, 0.05, 0.1]:
    for q in [0.5, 0.01]:
        a = 1.0/b if b > 1e-300 else float('inf')
        pure = (a + math.log(q + (1-q)*math.exp(-a))) if math.isfinite(a) else float('inf')  # max loss of one step
        row = {}
        for acc in ["rdp", "contour", "pld", "saddlepoint"]:
            x = tryit(lambda: (lambda r: (r.epsilon, r.upper, r.guarantee))(ewtune.epsilon(1e-5, PoissonSampled(q, Laplace(b)), accountant=acc)))
            row[acc] = x if x[0] != "ok" else x[1]
            if x[0] != "ok": row[acc] = (x[0], x[1][:60])
        out(b=b, q=q, pure_eps=pure, row=row)
''', timeout=300)
print(r["rc"], r["secs"], r["stderr"][-800:])
for o in r["out"]: print(o)
