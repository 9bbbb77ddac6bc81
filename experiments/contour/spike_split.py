"""Prototype numbers for the spike split of experiments/contour/README.md ("Still open").
Remove ordering, x ~ P = N(0,1), L(x) = log1p(q*expm1(mu*x - mu^2/2)), tilted law at the saddle lambda.
For each row: lambda, the bump width w, S ~ w/(sqrt(2 pi) lambda (lambda-1)), the delta-relative target
r = (lambda-1)*PRVwidth/1000 (a 1000x narrower eps bracket), and per cut:
  sharp cut at x0 <= x0max = L^{-1}(eps/n) (exact: the all-spike term contributes 0):
    ps = tilted mass below x0, ps^n, C1 = g(x0) + TV_[x0,inf)(g) (g: tilted density in L units),
    so |D|/M^n <= n C1/t and the tail int_T^inf n C1/t^3 dt/pi = n C1/(2 pi T^2) <= r S/8 gives T1;
    C2 = |g'(x0)| + TV(g') (second order: |M_t| <= g(x0)/t + C2/t^2) gives T2.
Nodes ~ T/h with h ~ 0.1 (the step these rows get now).
Inputs per row: q, sigma, steps, eps (dp_accounting's remove-ordering eps_pld_remove from
tests/reference/dpsgd_eps.csv; for EA S2 the contour's eps, no PRV width, so only ps^n matters),
PRV bracket width. Plain f64 estimates on a fine x-grid (step 6.5e-5), not certified: they size the
method, they are not part of any bound. Run: python3 experiments/contour/spike_split.py
(output in results/contour/spike_split.txt)."""
import numpy as np
from scipy.optimize import brentq
def row(q,sig,n,eps,prvw):
    mu=1/sig
    x=np.linspace(-12,40,800001); dx=x[1]-x[0]
    L=np.log1p(q*np.expm1(mu*x-mu*mu/2))
    def K(lam):
        s=lam*L-x*x/2; w=np.exp(s-s.max()); w/=w.sum()*dx
        mean=(w*L).sum()*dx; var=(w*(L-mean)**2).sum()*dx
        return w,mean,var
    f=lambda v: n*K(1+np.exp(v))[1]-eps-1/(1+np.exp(v))-1/np.exp(v)
    v=brentq(f,-20,6); lam=1+np.exp(v)
    g,k1,k2=K(lam)
    w=1/np.sqrt(n*k2); S=w/(np.sqrt(2*np.pi)*lam*(lam-1))
    r=(lam-1)*prvw/1000; tgt=r*S/8
    Lp=mu*q*np.exp(mu*x-mu*mu/2)/np.exp(L); gl=g/Lp; d1=np.gradient(gl,L)
    i=np.searchsorted(L,eps/n)-1
    ps=g[:i].sum()*dx; C1=gl[i]+np.abs(np.diff(gl[i:])).sum()
    C2=abs(d1[i])+np.abs(np.diff(d1[i:])).sum()
    T1=np.sqrt(n*C1/(2*np.pi*tgt)); T2=max(np.sqrt(n*gl[i]/(2*np.pi*tgt/2)),(n*C2/(3*np.pi*tgt/2))**(1/3))
    print(f"q={q} sig={sig} n={n} eps={eps}: lam={lam:.2f} w={w:.2g} S={S:.2g} r={r:.1e} x0max={x[i]:.2f} "
          f"ps={ps:.4f} ps^n={ps**n:.3g} C1={C1:.3g} T1={T1:.3g} C2={C2:.3g} T2={T2:.3g} nodes~{min(T1,T2)/0.1:.0f}")
rows=[(0.001,0.6,10,0.333,0.020),(0.001,0.8,10,0.0614,0.020),(0.001,1.0,10,0.0235,0.020),(0.001,1.5,10,0.0077,0.020),
      (0.001,2.0,10,0.0045,0.020),(0.001,4.0,10,0.00165,0.020),(0.004,0.6,10,1.416,0.020),(0.004,0.6,10,2.24,0.0207),
      (5e-4,1.0,200,0.03273,0.0)]
for rw in rows: row(*rw)
