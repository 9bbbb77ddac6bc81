#!/usr/bin/env python3
"""Time Google's dp_accounting (PLD and RDP) and Microsoft's prv_accountant on the settings of
experiments/speed/config.toml (DP-SGD, delta = 1e-5, steps 1e2..1e7), in one run, and write
the seconds and epsilons to a CSV with the machine and package versions noted.

Optional: needs `pip install dp-accounting==0.6.0 prv-accountant==0.2.0`; skips a package
that is missing. Each (library, setting) gets a wall-clock budget: once a call takes longer
than --budget seconds, larger step counts of that library/setting are skipped (recorded).

Usage: python3 experiments/speed/compare_python.py results/speed/python.csv [--budget 60]
"""
import argparse, csv, os, platform, sys, time
from importlib import metadata


def version(dist):
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"

SETTINGS = [("sigma=1 q=0.01", 1.0, 0.01), ("sigma=0.8 q=0.03", 0.8, 0.03)]
STEPS = [100, 1000, 10000, 100000, 1000000, 10000000]
DELTA = 1e-5


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def libraries():
    libs = {}
    try:
        import dp_accounting
        from dp_accounting import dp_event
        from dp_accounting.pld import pld_privacy_accountant
        from dp_accounting.rdp import rdp_privacy_accountant

        def ev(s, q, m):
            return dp_event.SelfComposedDpEvent(
                dp_event.PoissonSampledDpEvent(q, dp_event.GaussianDpEvent(s)), m)

        def pld(s, q, m):
            a = pld_privacy_accountant.PLDAccountant(value_discretization_interval=1e-4)
            a.compose(ev(s, q, m))
            return a.get_epsilon(DELTA)

        def rdp(s, q, m):
            a = rdp_privacy_accountant.RdpAccountant()
            a.compose(ev(s, q, m))
            return a.get_epsilon(DELTA)

        ver = version("dp-accounting")
        libs["dp_accounting.pld (grid 1e-4)"] = (pld, ver)
        libs["dp_accounting.rdp"] = (rdp, ver)
    except ImportError as e:
        print(f"dp_accounting not available: {e}", file=sys.stderr)
    try:
        import prv_accountant
        from prv_accountant import PRVAccountant
        from prv_accountant.privacy_random_variables import PoissonSubsampledGaussianMechanism

        def prv(s, q, m):
            a = PRVAccountant(
                prvs=PoissonSubsampledGaussianMechanism(noise_multiplier=s, sampling_probability=q),
                max_self_compositions=m, eps_error=0.01, delta_error=1e-9)
            lo, est, up = a.compute_epsilon(delta=DELTA, num_self_compositions=m)
            return up

        libs["prv_accountant (eps_error 0.01, upper)"] = (prv, version("prv-accountant"))
    except ImportError as e:
        print(f"prv_accountant not available: {e}", file=sys.stderr)
    return libs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default="results/speed/python.csv")
    ap.add_argument("--budget", type=float, default=60.0)
    a = ap.parse_args()
    libs = libraries()
    if not libs:
        sys.exit("neither dp_accounting nor prv_accountant is installed")
    rows = []
    for label, (fn, ver) in libs.items():
        for grid, s, q in SETTINGS:
            skip = False
            for m in STEPS:
                row = dict(library=label, version=ver, grid=grid, sigma=s, sampling_rate=q, steps=m,
                           delta=DELTA, epsilon="", seconds="", status="")
                if skip:
                    row["status"] = f"skipped (a smaller step count took > {a.budget} s)"
                else:
                    t = time.perf_counter()
                    try:
                        row["epsilon"] = repr(float(fn(s, q, m)))
                        row["status"] = "ok"
                    except Exception as e:  # record, do not stop the comparison
                        row["status"] = f"error: {type(e).__name__}: {e}"[:200]
                    dt = time.perf_counter() - t
                    row["seconds"] = f"{dt:.6g}"
                    skip = dt > a.budget
                print(row, file=sys.stderr)
                rows.append(row)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    with open(a.out, "w", newline="") as f:
        f.write(f"# machine: {os.cpu_count()} CPUs, {cpu_model()}; python {platform.python_version()}; single process\n")
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
