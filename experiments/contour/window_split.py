"""Prototype numbers for the analytic-window split of experiments/contour/README.md ("Still open"),
on the two rows it targets: q = 0.001, sigma = 0.6, 10 steps, remove ordering (x ~ P = N(0,1),
L(x) = log1p(q*expm1(mu*x - mu^2/2)), mu = 1/sigma). Plain f64 numpy, NOT certified: it checks the
decomposition and sizes the error terms; it is no part of any bound.

Window w(x) = Phi((x0 - x)/s), x0 = L^{-1}(frac*eps/n). P = wP + (1-w)P, M = M_w + M_{1-w},
  delta(eps) = (1/2pi) int hhat(t) [M(lam+it)^n - M_w(lam+it)^n] dt + R,
  hhat = e^{(1-z)eps}/(z(z-1)), 0 <= R = E_{(wP)^n}[(e^S - e^eps)_+]
  R <= min_{lam'} e^{-(lam'-1)eps} h_max(lam') M_w(lam')^n, h_max = ((l-1)/l)^l/(l-1).
Part 1: the t-trapezoid (step 0.1) of the plain integrand (M^n) and of the window integrand
  (M^n - M_w^n), partial sums up to T, and the R bound (lam' in {10,20,50,100,150,200,300}).
Part 2: the shifted-contour bound on the window tail (t > 0; t < 0 by conjugation):
  M_{1-w}(lam+it) = int Phi((x-x0)/s) e^{(lam+it)L(x)} phi(x) dx, moved to Im x = b < pi/mu
  (integrand entire in x there), with |Phi(u+iv)| <= e^{v^2/2} Phi(u), |phi(x+ib)| = phi(x)e^{b^2/2},
  Re L(x+ib) <= L(x), Im L(x+ib) = arg((1-q) + q e^{w} e^{i mu b}) >= 0 increasing in x:
  |M_{1-w}(lam+it)| <= B(t) = e^{b^2/(2s^2) + b^2/2} int Phi((x-x0)/s) e^{lam L(x) - t Im L(x+ib)} phi(x) dx,
  decreasing in t, so the tail of the window integrand beyond T is
  <= (1/pi) n (1+eta)^n int_T^inf B(t)/t^2 dt <= n (1+eta)^n B(T)/(pi T)   (relative to M(lam)^n),
  using |M^n - M_w^n| <= n |M_{1-w}| M(lam)^{n-1}.
Run: python3 experiments/contour/window_split.py  (output: results/contour/window_split.txt; ~4 min)."""
import time
import numpy as np
from scipy.optimize import brentq
from scipy.special import log_ndtr, logsumexp, ndtr

q, sig, n = 0.001, 0.6, 10
mu = 1 / sig
dx = 2e-4
x = np.arange(-9, 12, dx)
L = np.log1p(q * np.expm1(mu * x - mu * mu / 2))
lphi = -x * x / 2 - 0.5 * np.log(2 * np.pi)


def k1(lam):
    s_ = lam * L + lphi
    e = np.exp(s_ - s_.max())
    return (e * L).sum() / e.sum()


def saddle(eps):
    v = brentq(lambda v: n * k1(1 + np.exp(v)) - eps - 1 / (1 + np.exp(v)) - 1 / np.exp(v), -20, 4)
    return 1 + np.exp(v)


def part1(eps, frac, s, t_max, h=0.1):
    lam = saddle(eps)
    a = np.exp(lam * L + lphi) * dx
    x0 = np.interp(frac * eps / n, L, x)
    aw = a * ndtr((x0 - x) / s)
    m0, mw0 = a.sum(), aw.sum()
    ts = np.arange(0, t_max, h)
    fp = np.zeros(len(ts), complex)
    fd = np.zeros(len(ts), complex)
    for i in range(0, len(ts), 64):
        tt = ts[i : i + 64]
        e = np.exp(1j * np.outer(tt, L))
        mz, mwz = (e @ a) / m0, (e @ aw) / m0
        z = lam + 1j * tt
        hh = np.exp(-1j * tt * eps) / (z * (z - 1))
        fp[i : i + 64] = hh * mz**n
        fd[i : i + 64] = hh * (mz**n - mwz**n)
    wt = np.full(len(ts), 2.0)
    wt[0] = 1
    pre = np.exp(n * np.log(m0) - (lam - 1) * eps) * h / (2 * np.pi)
    cp, cd = np.cumsum(wt * fp.real) * pre, np.cumsum(wt * fd.real) * pre

    def ln_r(lp):
        ln_mw = logsumexp(lp * L + lphi + log_ndtr((x0 - x) / s)) + np.log(dx)
        return -(lp - 1) * eps + lp * np.log((lp - 1) / lp) - np.log(lp - 1) + n * ln_mw

    r, lp = min((ln_r(lp), lp) for lp in [10, 20, 50, 100, 150, 200, 300])
    print(f"eps={eps} lam={lam:.4f} frac={frac} s={s} x0={x0:.4f}: (M_w/M)(lam)^n={(mw0 / m0) ** n:.4f}, "
          f"R <= {np.exp(r):.2e} (lam'={lp})")
    for tt in [100, 250, 500, 1000, 1500, 2000, 3000, 4000]:
        k = int(round(tt / h))
        if k <= len(ts):
            print(f"  T={tt}: plain {cp[k - 1]:.10e}  window {cd[k - 1]:.10e}  "
                  f"|D/M^n|(T)={abs(fd[k - 1] * (lam * lam + tt * tt)):.2e}  |M/M(lam)|^n(T)={abs(fp[k - 1] * tt * tt):.2e}")


def part2(eps, frac, s):
    lam = saddle(eps)
    m0 = np.exp(lam * L + lphi).sum() * dx
    x0 = np.interp(frac * eps / n, L, x)
    wz = mu * x - mu * mu / 2
    for b in [0.2, 0.4, 0.6]:
        th = mu * b
        im_l = np.arctan2(q * np.exp(wz) * np.sin(th), (1 - q) + q * np.exp(wz) * np.cos(th))
        base = log_ndtr((x - x0) / s) + lam * L + lphi + b * b / (2 * s * s) + b * b / 2
        out = []
        for tt in [500, 1000, 1500, 2000, 4000]:
            bt = np.exp(logsumexp(base - tt * im_l)) * dx / m0
            out.append(f"B({tt})={bt:.1e} tail<={n * bt / (np.pi * tt):.1e}")
        print(f"  b={b}: " + ", ".join(out))


if __name__ == "__main__":
    t0 = time.time()
    for eps, t_max in [(0.333, 4000), (0.775, 2000)]:
        part1(eps, 0.7, 0.1, t_max)
        print(f"  shifted-contour bound, frac=0.7 s=0.1 (relative to M(lam)^n; target ~1e-7*S_est):")
        part2(eps, 0.7, 0.1)
        for frac, s in [(0.5, 0.1), (0.7, 0.05)]:
            print(f"  shifted-contour bound, frac={frac} s={s}:")
            part2(eps, frac, s)
    print(f"({time.time() - t0:.0f} s)")
