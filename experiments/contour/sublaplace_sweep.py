"""Random contour-vs-pld cross-check of the Poisson-subsampled Laplace (docs/math.md §15.6.6).

Usage: python3 experiments/contour/sublaplace_sweep.py target/release/ewtune SEED COUNT
Each line: the query, each accountant's time and bracket or error; flags DISJOINT (brackets that
exclude each other), BADRC (a timeout or an exit code other than 1 or 2), SLOW (over 20 s).
"""
import subprocess, random, json, time, math, sys
B=sys.argv[1]; seed=int(sys.argv[2]); N=int(sys.argv[3])
random.seed(seed)
def run(args, to=60):
    t=time.time()
    try:
        p=subprocess.run([B]+args+['--format','json'],capture_output=True,text=True,timeout=to)
    except subprocess.TimeoutExpired:
        return None,'TIMEOUT',time.time()-t
    dt=time.time()-t
    if p.returncode!=0: return None,('rc%d '%p.returncode)+p.stderr.strip()[:200],dt
    return json.loads(p.stdout),None,dt
for i in range(N):
    b=10**random.uniform(-2,2.4); q=10**random.uniform(-9,0) if random.random()<0.8 else 1-10**random.uniform(-12,-1)
    n=int(10**random.uniform(0,7)); adj=random.choice(['add-remove','remove','add'])
    if random.random()<0.5:
        d=10**random.uniform(-300,-1); base=['epsilon','--delta','%g'%d]
    else:
        e=10**random.uniform(-3,3); base=['delta','--epsilon','%g'%e]
    common=['--mechanism','subsampled-laplace','--scale','%g'%b,'--sampling-rate','%.12g'%q,'--steps',str(n),'--adjacency',adj]
    c,ce,ct=run(base+common+['--accountant','contour'])
    p,pe,pt=run(base+common+['--accountant','pld'])
    line='%s b=%.4g q=%.4g n=%d %s | contour %.1fs %s | pld %.1fs %s'%(base[0]+base[2],b,q,n,adj,ct,
        ('[%s,%s]'%(c.get('lower'),c.get('upper'))) if c else ce, pt, ('[%s,%s]'%(p.get('lower'),p.get('upper'))) if p else pe)
    bad=''
    num=lambda v: isinstance(v,(int,float))
    if c and p and num(c.get('lower')) and num(p.get('upper')) and num(p.get('lower')) and num(c.get('upper')) and c.get('lower') is not None and p.get('upper') is not None and p.get('lower') is not None and c.get('upper') is not None:
        if c['lower']>p['upper']*(1+1e-9)+1e-300 or p['lower']>c['upper']*(1+1e-9)+1e-300: bad='DISJOINT '
    if ce and ('TIMEOUT' in ce or 'rc1' not in ce and 'rc2' not in ce): bad+='BADRC '
    if ct>20: bad+='SLOW '
    print(bad+line, flush=True)
