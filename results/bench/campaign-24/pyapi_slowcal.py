import sys; sys.path.insert(0, "/tmp/pyapi"); from pyapi_harness import run
r = run("""import time
t=time.time()
c = tryit(lambda: ewtune.calibrate(1.0, 1e-5, solve='steps', sigma=1e6, sampling_rate=0.01))
out(r=c[:2] if c[0]!='ok' else 'ok', t=time.time()-t)
if c[0]=='ok':
    cal = ewtune.calibrate(1.0, 1e-5, solve='steps', sigma=1e6, sampling_rate=0.01) if False else None
""", timeout=500)
print(r["rc"], r["secs"], r["out"], r["stderr"][-300:], flush=True)
r = run("""import time
for T in [74109087254623, 10**14, 3*10**14, 7*10**14, 10**15]:
    for acc in ['contour','pld','gdp','rdp','saddlepoint']:
        t=time.time()
        x = tryit(lambda: ewtune.epsilon(1e-5, sigma=1e6, sampling_rate=0.01, steps=T, accountant=acc).bracket)
        out(T=T, acc=acc, r=x, t=round(time.time()-t,2))
""", timeout=500)
print(r["rc"], r["secs"], r["stderr"][-300:])
for o in r["out"]: print(o)
