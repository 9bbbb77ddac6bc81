#!/usr/bin/env python3
"""In-process speed of ewtune's Python package against dp_accounting (PLD, RDP) and
prv_accountant, side by side in ONE Python process (no process start-up, no import time in
any number).

Parts:
  mnli  - the EW-Tune MNLI setting (q = 2000/392702, sigma = 0.573, 3920 steps, delta = 1e-6):
          ewtune's contour accountant through its dp_accounting drop-in against
          dp_accounting's PLDAccountant() at its default discretisation (1e-4) and RDP;
          plus the thread speed-up of a batch of 16 ewtune queries on 2 threads.
          Writes results/python/speed.csv and results/python/speed.json.
  grid  - the settings of experiments/speed/config.toml (sigma=1 q=0.01, sigma=0.8 q=0.03;
          steps 1e2..1e7; delta = 1e-5) for every library; a library/setting whose call took
          longer than --budget seconds skips its larger step counts (recorded).
          Writes results/speed/python.csv.

Each call builds a fresh accountant, composes the DP-SGD event and asks epsilon(delta).
`first` is the first call of a configuration in the process (ewtune: cumulants not yet
cached); `median` is the median of --repeats calls when the first took < 2 s (else = first).
The conditions (load average, OPENBLAS_*/OMP_* variables, CPU, versions) are recorded in the
outputs.

  threads - the thread batch alone, appended to results/python/threads.csv with the
          RAYON_NUM_THREADS setting.

Usage: python experiments/speed/python_inprocess.py [--part mnli|grid|threads|all] [--budget 20]
"""
import argparse, csv, json, os, platform, statistics, sys, time
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata

MNLI = dict(sigma=0.573, q=2000 / 392702, steps=3920, delta=1e-6)
GRID_SETTINGS = [(1.0, 0.01), (0.8, 0.03)]
GRID_STEPS = [100, 1000, 10000, 100000, 1000000, 10000000]
GRID_DELTA = 1e-5


def version(dist):
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def conditions():
    cpu = platform.processor() or "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    env = {k: v for k, v in os.environ.items()
           if k.startswith(("OPENBLAS", "OMP_", "MKL_", "RAYON_"))}
    return {
        "cpu": cpu, "cpus": os.cpu_count(), "python": platform.python_version(),
        "load_average_1_5_15": list(os.getloadavg()),
        "thread_env": env or "none set",
        "measured": "in-process: one Python process, imports done before timing",
        "versions": {d: version(d) for d in ("ewtune", "dp-accounting", "prv-accountant",
                                             "numpy", "scipy")},
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }


def libraries():
    libs = {}
    from dp_accounting import dp_event as E

    def ev(s, q, m):
        return E.SelfComposedDpEvent(E.PoissonSampledDpEvent(q, E.GaussianDpEvent(s)), m)

    try:
        import ewtune.dp_accounting as ewdp
    except ImportError as e:
        print(f"ewtune (Python package) not available: {e}", file=sys.stderr)
        ewdp = None
    for name, cls in [] if ewdp is None else [("ewtune contour (dp_accounting drop-in)", ewdp.ContourAccountant),
                      ("ewtune pld (dp_accounting drop-in)", ewdp.PldAccountant),
                      ("ewtune rdp (dp_accounting drop-in)", ewdp.RdpAccountant)]:
        libs[name] = (lambda s, q, m, d, cls=cls: cls().compose(ev(s, q, m)).get_epsilon(d),
                      version("ewtune"))
    try:
        from dp_accounting.pld import pld_privacy_accountant
        from dp_accounting.rdp import rdp_privacy_accountant

        def pld(s, q, m, d):
            a = pld_privacy_accountant.PLDAccountant()  # default discretisation 1e-4
            a.compose(ev(s, q, m))
            return a.get_epsilon(d)

        def rdp(s, q, m, d):
            a = rdp_privacy_accountant.RdpAccountant()
            a.compose(ev(s, q, m))
            return a.get_epsilon(d)

        libs["dp_accounting PLDAccountant() (default grid 1e-4)"] = (pld, version("dp-accounting"))
        libs["dp_accounting RdpAccountant()"] = (rdp, version("dp-accounting"))
    except ImportError as e:
        print(f"dp_accounting not available: {e}", file=sys.stderr)
    try:
        from prv_accountant import PRVAccountant
        from prv_accountant.privacy_random_variables import PoissonSubsampledGaussianMechanism

        def prv(s, q, m, d):
            a = PRVAccountant(
                prvs=PoissonSubsampledGaussianMechanism(noise_multiplier=s, sampling_probability=q),
                max_self_compositions=m, eps_error=0.01, delta_error=d / 1000)
            return a.compute_epsilon(delta=d, num_self_compositions=m)[2]

        libs["prv_accountant (eps_error 0.01, upper)"] = (prv, version("prv-accountant"))
    except ImportError as e:
        print(f"prv_accountant not available: {e}", file=sys.stderr)
    return libs


def timed(fn, args, repeats):
    t0 = time.perf_counter()
    eps = fn(*args)
    first = time.perf_counter() - t0
    times = [first]
    if first < 2.0:
        for _ in range(repeats - 1):
            t0 = time.perf_counter()
            fn(*args)
            times.append(time.perf_counter() - t0)
    return eps, first, statistics.median(times)


def part_mnli(libs, out_dir, repeats):
    import ewtune
    s, q, m, d = MNLI["sigma"], MNLI["q"], MNLI["steps"], MNLI["delta"]
    cond = conditions()
    rows = []
    for name, (fn, ver) in libs.items():
        try:
            eps, first, med = timed(fn, (s, q, m, d), repeats)
            rows.append(dict(library=name, version=ver, epsilon=eps, seconds_first=first,
                             seconds_median=med, status="ok"))
        except Exception as e:  # a peer that fails is recorded, not hidden
            rows.append(dict(library=name, version=ver, epsilon="", seconds_first="",
                             seconds_median="", status=f"failed: {e}"))
        print(rows[-1], flush=True)
    # Thread speed-up: 16 contour queries (distinct sigma, so each is cold) on 1 and 2 threads.
    sigmas = [0.55 + 0.01 * i for i in range(16)]

    def one(sig):
        return ewtune.epsilon(d, sigma=sig, sampling_rate=q, steps=m).upper

    batch = {}
    for threads in (1, 2):
        sig = [x + 1e-7 * threads for x in sigmas]  # fresh mechanisms: no cumulant cache hits
        t0 = time.perf_counter()
        if threads == 1:
            res = [one(x) for x in sig]
        else:
            with ThreadPoolExecutor(threads) as ex:
                res = list(ex.map(one, sig))
        batch[threads] = time.perf_counter() - t0
        assert all(r > 0 for r in res)
    cond["load_average_after"] = list(os.getloadavg())
    by = {r["library"]: r for r in rows}
    ew = by.get("ewtune contour (dp_accounting drop-in)", {}).get("seconds_median")
    pl = by.get("dp_accounting PLDAccountant() (default grid 1e-4)", {}).get("seconds_median")
    summary = {
        "setting": MNLI, "conditions": cond, "rows": rows,
        "thread_batch": {"queries": len(sigmas), "seconds_1_thread": batch[1],
                         "seconds_2_threads": batch[2], "speedup": batch[1] / batch[2]},
        "contour_vs_dp_accounting_pld_speedup": (pl / ew) if ew and pl else None,
    }
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "speed.csv"), "w", newline="") as f:
        f.write(f"# in-process, one Python process; MNLI sigma={s} q={q} steps={m} delta={d}; "
                f"load {cond['load_average_1_5_15']}; thread env {cond['thread_env']}; "
                f"{cond['cpu']} x{cond['cpus']}\n")
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(out_dir, "speed.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(json.dumps({k: summary[k] for k in ("thread_batch",
                                               "contour_vs_dp_accounting_pld_speedup")}))


def part_grid(libs, out_path, budget, repeats):
    cond = conditions()
    rows = []
    for name, (fn, ver) in libs.items():
        for s, q in GRID_SETTINGS:
            over = False
            for m in GRID_STEPS:
                base = dict(library=name, version=ver, sigma=s, sampling_rate=q, steps=m,
                            delta=GRID_DELTA)
                if over:
                    rows.append(dict(base, epsilon="", seconds_first="", seconds_median="",
                                     status=f"skipped (a smaller step count took > {budget} s)"))
                    continue
                try:
                    eps, first, med = timed(fn, (s, q, m, GRID_DELTA), repeats)
                    rows.append(dict(base, epsilon=eps, seconds_first=first,
                                     seconds_median=med, status="ok"))
                    over = first > budget
                except Exception as e:
                    rows.append(dict(base, epsilon="", seconds_first="", seconds_median="",
                                     status=f"failed: {type(e).__name__}: {e}"[:300]))
                print(rows[-1], flush=True)
    cond["load_average_after"] = list(os.getloadavg())
    with open(out_path, "w", newline="") as f:
        f.write("# " + json.dumps(cond) + "\n")
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def part_threads(out_dir):
    """Thread speed-up alone, appended to results/python/threads.csv with the rayon setting
    (contour queries are parallel inside already: run once as is and once with
    RAYON_NUM_THREADS=1 to see what releasing the GIL gives single-threaded queries)."""
    import ewtune
    d, q, m = MNLI["delta"], MNLI["q"], MNLI["steps"]
    res = {}
    for threads in (1, 2):
        sig = [0.55 + 0.01 * i + 1e-7 * threads for i in range(16)]
        t0 = time.perf_counter()
        with ThreadPoolExecutor(threads) as ex:
            out = list(ex.map(lambda x: ewtune.epsilon(d, sigma=x, sampling_rate=q,
                                                       steps=m).upper, sig))
        res[threads] = time.perf_counter() - t0
        assert all(v > 0 for v in out)
    path = os.path.join(out_dir, "threads.csv")
    new = not os.path.exists(path)
    os.makedirs(out_dir, exist_ok=True)
    with open(path, "a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(["date_utc", "rayon_num_threads", "queries", "seconds_1_thread",
                        "seconds_2_threads", "speedup", "load_1min_before", "cpus"])
        w.writerow([time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
                    os.environ.get("RAYON_NUM_THREADS", "default"), 16, res[1], res[2],
                    res[1] / res[2], os.getloadavg()[0], os.cpu_count()])
    print("threads", os.environ.get("RAYON_NUM_THREADS", "default"), res, res[1] / res[2])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=["mnli", "grid", "threads", "all"], default="all")
    ap.add_argument("--budget", type=float, default=20.0)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    libs = libraries()
    if a.part in ("mnli", "all"):
        part_mnli(libs, "results/python", a.repeats)
    if a.part in ("threads", "all"):
        part_threads("results/python")
    if a.part in ("grid", "all"):
        part_grid(libs, "results/speed/python.csv", a.budget, a.repeats)


if __name__ == "__main__":
    main()
