import subprocess, json, time, sys
qs=[l.split() for l in open(sys.argv[1]) if l.strip()]
bins=sys.argv[2:]
for q in qs:
    for b in bins:
        t=time.time()
        p=subprocess.run(["timeout","150",b]+q+["--format","json"],capture_output=True,text=True,stdin=subprocess.DEVNULL)
        dt=time.time()-t
        try:
            d=json.loads(p.stdout); r=(d.get('lower'),d.get('epsilon') if d.get('query')=='epsilon' else d.get('delta'),d.get('upper'))
        except Exception: r=p.stderr[:150]
        print("%-14s rc=%d %6.1fs %s"%(b.split('/')[-1],p.returncode,dt,r),flush=True)
    print("   ^",' '.join(q)[:160],flush=True)
