import sys; sys.path.insert(0, "/tmp/pyapi"); from pyapi_harness import run
r = run(r'''
import threading, time
import dp_accounting as dpa
import ewtune.dp_accounting as ewd
def q1(): return ewtune.epsilon(1e-5, sigma=1.0, accountant="saddlepoint").epsilon
def q2(): return ewtune.epsilon(1e-5, sigma=0.8, sampling_rate=0.01, steps=1000, accountant="saddlepoint").epsilon
def q3(): return ewtune.calibrate(2.0, 1e-5, sampling_rate=0.01, steps=1000, accountant="saddlepoint").sigma
for name, f in [("eps", q1), ("calib", q3)]:
    t = time.time(); ref = f(); T = time.time() - t
    # responsiveness: count python iterations while the query runs in a thread
    res = {}
    th = threading.Thread(target=lambda: res.__setitem__("v", f())); cnt = 0
    t = time.time(); th.start()
    while th.is_alive(): cnt += 1
    out(case=f"GIL released during {name}", serial_s=round(T,2), thread_s=round(time.time()-t,2), py_iters_during=cnt, same=res.get("v")==ref)
# two threads, separate accountants, results equal to serial
refs = [q1(), q2()]
for rep in range(3):
    res = [None, None]
    ths = [threading.Thread(target=lambda i=i, f=f: res.__setitem__(i, f())) for i, f in enumerate([q1, q2])]
    t = time.time(); [x.start() for x in ths]; [x.join() for x in ths]
    out(case=f"two threads separate accountants rep{rep}", ok=res == refs, wall=round(time.time()-t,2))
# same accountant shared, compose+query from 4 threads
acc = ewd.ContourAccountant()
def worker():
    for _ in range(50):
        acc.compose(dpa.PoissonSampledDpEvent(0.01, dpa.GaussianDpEvent(1.0)))
        acc.get_epsilon(1e-5)
ths = [threading.Thread(target=worker) for _ in range(4)]
[x.start() for x in ths]; [x.join() for x in ths]
ref = ewd.ContourAccountant().compose(dpa.SelfComposedDpEvent(dpa.PoissonSampledDpEvent(0.01, dpa.GaussianDpEvent(1.0)), 200)).get_epsilon(1e-5)
out(case="shared accountant 4 threads x 50 composes", ok=acc.get_epsilon(1e-5) == ref, got=acc.get_epsilon(1e-5), ref=ref)
''', timeout=300)
print(r["rc"], r["secs"], r["stderr"][-1500:])
for o in r["out"]: print(o)
