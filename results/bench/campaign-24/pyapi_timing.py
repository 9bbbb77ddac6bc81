import sys; sys.path.insert(0, "/tmp/pyapi"); from pyapi_harness import run
cases = {
 "calibrate target 1e-300": "ewtune.calibrate(1e-300, 1e-5, sampling_rate=0.01, steps=100).sigma",
 "calibrate solve steps sigma 1e6": "ewtune.calibrate(1.0, 1e-5, solve='steps', sigma=1e6, sampling_rate=0.01).steps",
 "calibrate_noise RR unreachable": "ewtune.calibrate_noise(RandomizedResponse(0.5, 4), 1e-9, 1e-12, steps=10**6, adjacency='replace-one').value",
 "calibrate solve q": "ewtune.calibrate(1.0, 1e-5, solve='sampling_rate', sigma=1.0, steps=1000).sampling_rate",
 "calibrate envelope_points 0": "ewtune.calibrate(1.0, 1e-5, sampling_rate=0.01, steps=100, envelope_points=0).sigma",
 "calibrate_noise DL": "ewtune.calibrate_noise(DiscreteLaplace(1.0), 2.0, 1e-5, steps=10).value",
 "compare ok": "len(ewtune.compare(1e-5, sigma=1.0, sampling_rate=0.01, steps=100))",
}
for k, expr in cases.items():
    r = run(f"import time\nt=time.time()\nout(r=tryit(lambda: {expr}), t=time.time()-t)", timeout=120)
    print(k, r["rc"], r["secs"], r["out"], r["stderr"][-300:], flush=True)
