#!/usr/bin/env python3
"""Adversarial campaign against ewtune certified accountants.

Usage: campaign.py SEED N_QUERIES [MODE] [--deadline UNIX_TS]
Logs every ewtune invocation to log.jsonl (one JSON object per line).
"""
import json, math, os, random, re, subprocess, sys, time, tempfile
import mpmath

mpmath.mp.dps = 60
HERE = os.environ.get('CAMPAIGN_DIR', os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get('EWTUNE', 'ewtune')
LOG = os.path.join(HERE, 'log.jsonl')
CERT = ['contour', 'pld', 'saddlepoint']
STATS = {}   # check name -> [passed, failed]


def stat(name, ok):
    s = STATS.setdefault(name, [0, 0])
    s[0 if ok else 1] += 1


EXTREME = [0.0]
COARSE = [0]


def logu(r, a, b):
    u = r.random()
    if u < EXTREME[0] / 2:
        return a
    if u < EXTREME[0]:
        return b
    return math.exp(r.uniform(math.log(a), math.log(b)))


def fmt(x):
    return repr(float(x)) if isinstance(x, float) else str(x)


# ---------------------------------------------------------------- running
def run(args, tag='', qid=None, text=False):
    args = [fmt(a) for a in args]
    if not text and '--format' not in args:
        args = args + ['--format', 'json']
    tf = tempfile.NamedTemporaryFile(delete=False, dir=HERE, prefix='tm')
    tf.close()
    cmd = 'ulimit -v 6000000; exec timeout 90 /usr/bin/time -f "%e %M" -o ' + tf.name + ' ' + BIN + ' ' + ' '.join(args)
    t0 = time.time()
    p = subprocess.run(['bash', '-c', cmd], capture_output=True, text=True)
    wall = time.time() - t0
    try:
        tl = open(tf.name).read().strip().splitlines()
        secs, kb = (float(tl[-1].split()[0]), int(tl[-1].split()[1])) if tl else (wall, -1)
    except Exception:
        secs, kb = wall, -1
    os.unlink(tf.name)
    rec = {'qid': qid, 'tag': tag, 'args': args, 'rc': p.returncode, 'secs': secs, 'maxKB': kb,
           'stdout': p.stdout[-4000:], 'stderr': p.stderr[-2000:], 'violations': []}
    parsed = None
    if p.returncode == 0 and not text:
        try:
            parsed = json.loads(p.stdout)
        except Exception as e:
            rec['violations'].append('unparseable json: %s' % e)
    rec['parsed'] = parsed
    # generic checks
    v = rec['violations']
    ok = p.returncode in (0, 1, 2)
    stat('exit_code_in_012', ok)
    if not ok:
        v.append('exit code %d' % p.returncode)
    out = p.stdout + p.stderr
    ok = 'panicked' not in out and 'RUST_BACKTRACE' not in out
    stat('no_panic', ok)
    if not ok:
        v.append('panic')
    # NaN/inf as value
    if text:
        bad = re.findall(r'(?<![A-Za-z])(NaN|nan|-?inf|-?Infinity)(?![A-Za-z])', p.stdout)
    else:
        bad = re.findall(r'(NaN|Infinity)', p.stdout)
        if re.search(r'"-?inf"', p.stdout.replace('"log10_delta":"-inf"', '')):
            stat('json_inf_string (note)', False)
        if '"log10_delta":"-inf"' in p.stdout:
            stat('json_log10_delta_string_-inf (note)', False)
    stat('no_nan_inf', not bad)
    if bad:
        v.append('nan/inf printed: %s' % bad[:3])
    stat('time_lt_60', secs < 60)
    if secs >= 60:
        v.append('slow %.1fs' % secs)
    stat('mem_lt_4GB', kb < 4e6)
    if kb >= 4e6:
        v.append('mem %d KB' % kb)
    if p.returncode == 2:
        # exit 2 should name a flag
        ok = '--' in p.stderr or 'accountant `' in p.stderr
        stat('exit2_names_flag', ok)
        if not ok:
            v.append('exit 2 without flag name: ' + p.stderr.strip()[:200])
    if p.returncode == 1:
        ok = len(p.stderr.strip()) > 0
        stat('exit1_has_message', ok)
        if not ok:
            v.append('exit 1 without message')
    if parsed is not None and isinstance(parsed, dict) and parsed.get('guarantee') == 'bracket':
        lo, up = parsed.get('lower'), parsed.get('upper')
        if isinstance(up, str) or isinstance(lo, str):
            stat('bracket_string_value (note)', False)
            rec['string_values'] = [lo, up]
        lo2 = float(lo) if isinstance(lo, str) else lo
        up2 = float(up) if isinstance(up, str) else up
        ok = lo2 is not None and up2 is not None and lo2 <= up2
        stat('bracket_ordered', ok)
        if not ok:
            v.append('bracket malformed lower=%r upper=%r' % (lo, up))
    with open(LOG, 'a') as f:
        f.write(json.dumps(rec) + '\n')
    if v:
        print('VIOLATION', qid, tag, ' '.join(args), v, flush=True)
    return rec


def bracket(rec):
    """(lower, upper) of a certified result, None when not certified."""
    p = rec.get('parsed')
    if rec['rc'] != 0 or p is None or not isinstance(p, dict):
        return None
    g = p.get('guarantee')
    if g == 'bracket':
        lo, up = p.get('lower'), p.get('upper')
        if lo is None:
            return None
        lo = float(lo); up = float(up) if up is not None else float('inf')
        return (lo, up)
    if g == 'upper_bound':
        up = p.get('upper')
        return (0.0, float(up) if up is not None else float('inf'))
    if g == 'exact':
        x = p.get('epsilon') if p.get('query') == 'epsilon' else p.get('delta')
        return (x, x)
    return None


def violation(qid, name, msg, recs):
    print('VIOLATION', qid, name, msg, flush=True)
    with open(LOG, 'a') as f:
        f.write(json.dumps({'qid': qid, 'check': name, 'violation': msg,
                            'args': [r['args'] for r in recs]}) + '\n')


# ---------------------------------------------------------------- closed forms
def gauss_delta(mu, eps):
    mu = mpmath.mpf(mu); eps = mpmath.mpf(eps)
    return mpmath.ncdf(-eps / mu + mu / 2) - mpmath.exp(eps) * mpmath.ncdf(-eps / mu - mu / 2)


def gauss_eps(mu, delta):
    """Solve δ(ε) = delta for ε ≥ 0 (bisection, mpmath)."""
    if gauss_delta(mu, 0) <= delta:
        return mpmath.mpf(0)
    hi = mpmath.mpf(1)
    while gauss_delta(mu, hi) > delta:
        hi *= 2
    return bisect_crossing(lambda e: gauss_delta(mu, e), delta, hi)


def bisect_crossing(delta_of, delta, hi):
    """The ε in [0, hi] where the non-increasing delta_of crosses delta (200 bisections)."""
    lo, hi = mpmath.mpf(0), mpmath.mpf(hi)
    for _ in range(200):
        m = (lo + hi) / 2
        if delta_of(m) > delta:
            lo = m
        else:
            hi = m
    return (lo + hi) / 2


def lattice_delta(pmf, eps):
    """pmf: list of (loss, prob). δ(ε) = Σ p (1 - e^{ε-ℓ})_+ with mpmath."""
    s = mpmath.mpf(0)
    for l, p in pmf:
        if l > eps:
            s += p * (-mpmath.expm1(mpmath.mpf(eps) - l))
    return s


def lattice_eps(pmf, delta):
    if lattice_delta(pmf, 0) <= delta:
        return mpmath.mpf(0)
    lmax = max(l for l, p in pmf if p > 0)
    return bisect_crossing(lambda e: lattice_delta(pmf, e), delta, lmax)


def compose_lattice(single, k, h):
    """single: list of (j, prob) with integer j (loss = h*j - shift handled by caller).
    Returns dict j->prob for k-fold sum, via repeated squaring with mpmath (small sizes)."""
    def conv(a, b):
        c = {}
        for ja, pa in a.items():
            for jb, pb in b.items():
                c[ja + jb] = c.get(ja + jb, 0) + pa * pb
        return c
    res = {0: mpmath.mpf(1)}
    base = dict(single)
    while k:
        if k & 1:
            res = conv(res, base)
        k >>= 1
        if k:
            base = conv(base, base)
    return res


def rr_pmf(p, kb, steps):
    p = mpmath.mpf(p)
    beta = p / kb; alpha = 1 - p + beta
    h = mpmath.log(alpha) - mpmath.log(beta)
    # loss L = ln(P/Q) under P: +h w.p. alpha, 0 w.p. (k-2)beta, -h w.p. beta
    # trinomial
    out = []
    lga, lgb = mpmath.log(alpha), mpmath.log(beta)
    mid = (kb - 2) * beta
    lgm = mpmath.log(mid) if mid > 0 else None
    for a in range(steps + 1):
        for b in range(steps - a + 1):
            m = steps - a - b
            if m > 0 and lgm is None:
                continue
            lp = mpmath.loggamma(steps + 1) - mpmath.loggamma(a + 1) - mpmath.loggamma(b + 1) - mpmath.loggamma(m + 1) \
                + a * lga + b * lgb + (m * lgm if m else 0)
            out.append((h * (a - b), mpmath.exp(lp)))
    return out


def dlap_pmf(a, D, steps):
    a = mpmath.mpf(a); r = mpmath.exp(-a)
    single = {0: 1 / (1 + r), D: r ** D / (1 + r)}
    C = (1 - r) / (1 + r)
    for j in range(1, D):
        single[j] = C * r ** j
    # loss ell_j = a(2j - D) under Q-side convention; symmetric so either is fine
    comp = compose_lattice(single, steps, 1)
    return [(a * (D * steps - 2 * j), pr) for j, pr in comp.items()]


def dgauss_pmf(sigma, D, steps):
    # P = DG(0), Q = DG(D); L = ln(P/Q)(x) = ((x-D)^2 - x^2)/(2σ²) = (D^2 - 2xD)/(2σ²)
    sigma = mpmath.mpf(sigma)
    R = int(math.ceil(40 * float(sigma))) + 5
    w = {x: mpmath.exp(-mpmath.mpf(x) ** 2 / (2 * sigma ** 2)) for x in range(-R, R + 1)}
    Z = sum(w.values())
    single = {x: v / Z for x, v in w.items()}
    comp = compose_lattice(single, steps, 1)
    return [((steps * D * D - 2 * s * D) / (2 * sigma ** 2), pr) for s, pr in comp.items()]


def laplace1_delta(b, eps):
    b = mpmath.mpf(b)
    if eps >= 1 / b:
        return mpmath.mpf(0)
    return 1 - mpmath.exp((eps - 1 / b) / 2)


def laplace1_eps(b, delta):
    # δ(ε)=1-e^{(ε-1/b)/2}  -> ε = 1/b + 2 ln(1-δ)
    b = mpmath.mpf(b)
    return max(mpmath.mpf(0), 1 / b + 2 * mpmath.log(1 - mpmath.mpf(delta)))


def contains(br, truth, query):
    """br=(lo,up) certified; truth mp. relative slack 1e-9 (log space for δ)."""
    lo, up = br
    t = float(truth)
    slack = 1e-9 * abs(t) + (1e-300 if query == 'delta' else 1e-12)
    return lo - slack <= t <= up + slack


# ---------------------------------------------------------------- query generation
MECHS = ['gaussian', 'subsampled-gaussian', 'laplace', 'subsampled-laplace', 'randomized-response',
         'discrete-laplace', 'discrete-gaussian', 'mixture-of-gaussians', 'truncated-poisson',
         'without-replacement']


def gen(r, mech=None):
    mech = mech or r.choice(MECHS)
    q = {'mech': mech}
    steps = int(round(logu(r, 1, 1e6))) if r.random() < 0.7 else r.choice([1, 1, 2, 3, 10, 100])
    q['steps'] = steps
    adj = r.choice(['add-remove', 'remove', 'add'])
    sigma = logu(r, 0.3, 50)
    qq = logu(r, 1e-6, 1) if r.random() < 0.9 else 1.0
    a = []
    if mech == 'gaussian':
        if r.random() < 0.25:
            adj = 'replace-one'
        a = ['--mechanism', 'gaussian', '--sigma', sigma]
        q.update(sigma=sigma)
    elif mech == 'subsampled-gaussian':
        if qq == 1.0 and r.random() < 0.3:
            adj = 'replace-one'
        a = ['--mechanism', 'subsampled-gaussian', '--sigma', sigma, '--sampling-rate', qq]
        q.update(sigma=sigma, q=qq)
    elif mech == 'laplace':
        b = logu(r, 0.05, 50)
        if r.random() < 0.4:
            q['steps'] = steps = 1
        a = ['--mechanism', 'laplace', '--scale', b]
        q.update(scale=b)
    elif mech == 'subsampled-laplace':
        b = logu(r, 0.05, 50)
        a = ['--mechanism', 'subsampled-laplace', '--scale', b, '--sampling-rate', qq]
        q.update(scale=b, q=qq)
    elif mech == 'randomized-response':
        p = r.choice([logu(r, 1e-3, 1), r.uniform(0.01, 0.99)])
        kb = r.choice([2, 3, 5, 10, 100, r.randint(2, 1000)])
        adj = 'replace-one'
        a = ['--mechanism', 'randomized-response', '--noise-parameter', p, '--buckets', kb]
        q.update(p=p, k=kb)
    elif mech == 'discrete-laplace':
        pa = logu(r, 0.01, 5)
        D = r.choice([1, 1, 2, 3, 5])
        a = ['--mechanism', 'discrete-laplace', '--parameter', pa, '--sensitivity', D]
        q.update(a=pa, D=D)
    elif mech == 'discrete-gaussian':
        D = r.choice([1, 1, 2, 3])
        a = ['--mechanism', 'discrete-gaussian', '--sigma', sigma, '--sensitivity', D]
        q.update(sigma=sigma, D=D)
    elif mech == 'mixture-of-gaussians':
        if r.random() < 0.4:
            sens, probs = '0,1', '%r,%r' % (1 - qq, qq)
            q.update(equiv_q=qq)
        else:
            n = r.randint(2, 4)
            sens = ','.join(str(round(r.uniform(0, 3), 3)) for _ in range(n))
            w = [r.random() for _ in range(n)]
            s = sum(w)
            w = [x / s for x in w]
            w[-1] = 1 - sum(w[:-1])
            probs = ','.join(repr(x) for x in w)
        a = ['--mechanism', 'mixture-of-gaussians', '--sigma', sigma, '--sensitivities', sens,
             '--probabilities', probs]
        q.update(sigma=sigma, sens=sens, probs=probs)
        if r.random() < 0.0:
            a += ['--sampling', 'poisson', '--sampling-rate', qq]
            q['q'] = qq
            q.pop('equiv_q', None)
    elif mech == 'truncated-poisson':
        n = int(logu(r, 10, 1e6))
        qq = min(qq, 0.5)
        B = max(1, int(n * qq * logu(r, 0.5, 3)))
        a = ['--mechanism', 'gaussian', '--sigma', sigma, '--sampling', 'truncated-poisson',
             '--sampling-rate', qq, '--dataset-size', n, '--max-batch-size', B]
        q.update(sigma=sigma, q=qq, n=n, B=B)
    elif mech == 'without-replacement':
        n = int(logu(r, 1, 1e6))
        bsz = max(1, min(n, int(logu(r, 1, n + 1))))
        if r.random() < 0.15:
            bsz = n
        adj = 'replace-one'
        a = ['--mechanism', 'gaussian', '--sigma', sigma, '--sampling', 'without-replacement',
             '--dataset-size', n, '--batch-size', bsz]
        q.update(sigma=sigma, n=n, b=bsz)
    a += ['--steps', steps, '--adjacency', adj]
    q['adj'] = adj
    q['args'] = a
    q['delta'] = logu(r, 1e-14, 1e-3)
    q['eps'] = logu(r, 0.01, 50)
    return q


def truth(q, query, val):
    """closed-form truth (mp) or None"""
    m, k, adj = q['mech'], q['steps'], q['adj']
    mu = None
    if m == 'gaussian':
        mu = math.sqrt(k) / q['sigma'] * (2 if adj == 'replace-one' else 1)
    if m == 'subsampled-gaussian' and q['q'] == 1.0:
        mu = math.sqrt(k) / q['sigma'] * (2 if adj == 'replace-one' else 1)
    if m == 'without-replacement' and q['b'] == q['n']:
        mu = 2 * math.sqrt(k) / q['sigma']
    if mu is not None:
        return gauss_delta(mu, val) if query == 'delta' else gauss_eps(mu, val)
    if m == 'laplace' and k == 1:
        return laplace1_delta(q['scale'], val) if query == 'delta' else laplace1_eps(q['scale'], val)
    if m == 'randomized-response' and k <= 300:
        pm = rr_pmf(q['p'], q['k'], k)
        return lattice_delta(pm, val) if query == 'delta' else lattice_eps(pm, val)
    if m == 'discrete-laplace' and k * q['D'] <= 400:
        pm = dlap_pmf(q['a'], q['D'], k)
        return lattice_delta(pm, val) if query == 'delta' else lattice_eps(pm, val)
    if m == 'discrete-gaussian' and k <= 3 and q['sigma'] <= 8:
        pm = dgauss_pmf(q['sigma'], q['D'], k)
        return lattice_delta(pm, val) if query == 'delta' else lattice_eps(pm, val)
    return None


def max_loss(q):
    m, k = q['mech'], q['steps']
    if m == 'laplace':
        return k / q['scale']
    if m == 'discrete-laplace':
        return k * q['a'] * q['D']
    if m == 'randomized-response':
        p, kb = q['p'], q['k']
        if p >= 1 or kb == 1:
            return 0.0
        return k * math.log1p(kb * (1 - p) / p)
    if m == 'subsampled-laplace':
        b, qq = q['scale'], q['q']
        rem = math.log1p(qq * math.expm1(1 / b))
        add = -math.log1p(qq * math.expm1(-1 / b))
        return k * {'remove': rem, 'add': add, 'add-remove': max(rem, add)}[q['adj']]
    if m == 'subsampled-gaussian' and q['q'] < 1 and q['adj'] == 'add':
        return -k * math.log1p(-q['q'])
    return None


# ---------------------------------------------------------------- one query
def do_query(qid, q, r, heavy=True):
    query = r.choice(['epsilon', 'delta'])
    val = q['delta'] if query == 'epsilon' else q['eps']
    flag = '--delta' if query == 'epsilon' else '--epsilon'
    recs = {}
    accs = ['contour', 'pld', 'saddlepoint', 'rdp', 'gdp']
    for acc in accs:
        if acc == 'gdp' and q['mech'] not in ('gaussian', 'subsampled-gaussian'):
            recs[acc] = {'rc': -1}
            continue
        extra = []
        if COARSE[0] and acc in ('pld', 'contour'):
            extra = ['--tolerance', r.choice([0.1, 0.05, 0.01, 1e-3])]
            if acc == 'pld' and r.random() < 0.5:
                extra += ['--grid-budget', r.choice([1024, 2048, 10000, 100000])]
        recs[acc] = run([query] + q['args'] + [flag, val, '--accountant', acc] + extra, tag=acc, qid=qid)
    brs = {a: bracket(recs[a]) for a in accs}
    cert = {a: brs[a] for a in CERT if brs[a] is not None}
    # check 2: pairwise overlap of certified brackets
    names = list(cert)
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            a, b = names[i], names[j]
            (la, ua), (lb, ub) = cert[a], cert[b]
            tol = 1e-12 * max(abs(ua), abs(ub), 1e-300)
            ok = la <= ub + tol and lb <= ua + tol
            stat('overlap_%s_%s' % (a, b), ok)
            if not ok:
                violation(qid, 'overlap', '%s %s %s=%r %s=%r' % (query, val, a, cert[a], b, cert[b]),
                          [recs[a], recs[b]])
    # rdp upper >= certified lower
    if brs['rdp'] is not None:
        for a in cert:
            lo = cert[a][0]
            up = brs['rdp'][1]
            ok = up >= lo * (1 - 1e-12)
            stat('rdp_ge_lower_%s' % a, ok)
            if not ok:
                violation(qid, 'rdp_below', '%s %s rdp upper %r < %s lower %r' % (query, val, up, a, lo),
                          [recs['rdp'], recs[a]])
    # gdp: exact only for pure gaussian; check guarantee exact vs truth below
    if brs['gdp'] is not None:
        cert_g = dict(cert); cert_g['gdp'] = brs['gdp']
    else:
        cert_g = cert
    # check 3 closed form
    try:
        tv = truth(q, query, val)
    except Exception as e:
        tv = None
        print('truth error', e)
    if tv is not None:
        for a, br in cert_g.items():
            ok = contains(br, tv, query)
            stat('closed_form_%s' % a, ok)
            if not ok:
                violation(qid, 'closed_form', '%s %s=%r %s bracket %r truth %s' % (
                    q['mech'], query, val, a, br, mpmath.nstr(tv, 17)), [recs[a]])
        if brs['rdp'] is not None:
            ok = brs['rdp'][1] >= float(tv) * (1 - 1e-9)
            stat('closed_form_rdp', ok)
            if not ok:
                violation(qid, 'closed_form', '%s %s=%r rdp upper %r < truth %s' % (
                    q['mech'], query, val, brs['rdp'][1], mpmath.nstr(tv, 17)), [recs['rdp']])
    # equivalences
    equiv = None
    if q['mech'] == 'mixture-of-gaussians' and 'equiv_q' in q:
        equiv = ['--mechanism', 'subsampled-gaussian', '--sigma', q['sigma'], '--sampling-rate', q['equiv_q'],
                 '--steps', q['steps'], '--adjacency', q['adj']]
    if q['mech'] == 'truncated-poisson' and q['B'] >= q['n']:
        equiv = ['--mechanism', 'subsampled-gaussian', '--sigma', q['sigma'], '--sampling-rate', q['q'],
                 '--steps', q['steps'], '--adjacency', q['adj']]
    if equiv and heavy:
        for acc in ['contour', 'pld']:
            e = run([query] + equiv + [flag, val, '--accountant', acc], tag='equiv-' + acc, qid=qid)
            be = bracket(e)
            if be is None:
                continue
            for a, br in cert.items():
                ok = br[0] <= be[1] * (1 + 1e-12) and be[0] <= br[1] * (1 + 1e-12)
                stat('equivalence_overlap', ok)
                if not ok:
                    violation(qid, 'equivalence', '%s %s %s=%r vs equivalent %s=%r' % (query, val, a, br, acc, be),
                              [recs[a], e])
    # duality: epsilon bracket [eL,eU] at delta -> delta query at eU must have lower <= delta*(1+tol)
    if heavy and query == 'epsilon':
        for acc in ['contour', 'pld']:
            br = brs[acc]
            if br is None or not math.isfinite(br[1]) or br[1] <= 0:
                continue
            d = run(['delta'] + q['args'] + ['--epsilon', br[1], '--accountant', acc], tag='dual-' + acc, qid=qid)
            bd = bracket(d)
            if bd is None:
                continue
            ok = bd[0] <= val * (1 + 1e-6)
            stat('duality', ok)
            if not ok:
                violation(qid, 'duality', '%s eps(delta=%r) upper=%r but delta(eps=upper) lower=%r' % (
                    acc, val, br[1], bd[0]), [recs[acc], d])
    # monotone in epsilon (delta queries)
    if heavy and query == 'delta':
        for acc in ['contour', 'pld']:
            prev = None
            for f in [1.0, 1.03, 1.1]:
                rr = recs[acc] if f == 1.0 else run(['delta'] + q['args'] + ['--epsilon', val * f, '--accountant', acc],
                                                    tag='mono-' + acc, qid=qid)
                b = bracket(rr)
                if b is None:
                    prev = None
                    continue
                if prev is not None:
                    ok = b[0] <= prev[1] * (1 + 1e-9) + 1e-300
                    stat('mono_eps_hard', ok)
                    if not ok:
                        violation(qid, 'mono_eps', '%s delta lower at larger eps %r > upper at smaller eps %r' % (
                            acc, b[0], prev[1]), [rr])
                    ok2 = b[1] <= prev[1] * (1 + 1e-6) + 1e-300
                    stat('mono_eps_upper_soft', ok2)
                    if not ok2:
                        print('SOFT mono upper', qid, acc, prev, b, flush=True)
                prev = b
    # monotone in steps (epsilon queries)
    if heavy and query == 'epsilon' and q['steps'] < 1e6:
        k2 = max(q['steps'] + 1, int(q['steps'] * 1.5))
        a2 = list(q['args'])
        i = a2.index('--steps'); a2[i + 1] = k2
        for acc in ['contour', 'pld']:
            b1 = brs[acc]
            if b1 is None:
                continue
            rr = run(['epsilon'] + a2 + ['--delta', val, '--accountant', acc], tag='steps-' + acc, qid=qid)
            b2 = bracket(rr)
            if b2 is None:
                continue
            ok = b2[1] >= b1[0] * (1 - 1e-9)
            stat('mono_steps', ok)
            if not ok:
                violation(qid, 'mono_steps', '%s eps(k=%d)=%r but eps(k=%d)=%r' % (acc, q['steps'], b1, k2, b2),
                          [recs[acc], rr])
    # max-loss delta
    ml = max_loss(q)
    if heavy and ml is not None and ml > 0:
        for acc in ['contour', 'pld', 'saddlepoint']:
            e = ml * (1 + 1e-6) + 1e-12
            rr = run(['delta'] + q['args'] + ['--epsilon', e, '--accountant', acc], tag='maxloss-' + acc, qid=qid)
            ok = rr['secs'] < 60
            b = bracket(rr)
            if b is not None:
                ok = ok and b[0] <= 1e-300 and b[1] < 1e-6
            stat('maxloss_delta0', ok)
            if not ok:
                violation(qid, 'maxloss', '%s eps=%r (max loss %r) -> bracket %r rc %d secs %.1f' % (
                    acc, e, ml, b, rr['rc'], rr['secs']), [rr])
    # text-mode compare (NaN/inf in text)
    if heavy and r.random() < 0.3:
        run(['compare'] + q['args'] + [flag, val], tag='compare-text', qid=qid, text=True)
    return recs


def main():
    seed = int(sys.argv[1]); n = int(sys.argv[2])
    mode = sys.argv[3] if len(sys.argv) > 3 else 'all'
    deadline = float(sys.argv[4]) if len(sys.argv) > 4 else 1e18
    r = random.Random(seed)
    if mode.startswith('c'):
        COARSE[0] = 1
        mode = mode[1:] or 'all'
    if mode.startswith('x'):
        EXTREME[0] = 0.6
        mode = mode[1:] or 'all'
    for i in range(n):
        if time.time() > deadline:
            break
        q = gen(r, None if mode == 'all' else mode)
        if EXTREME[0] and r.random() < 0.15:
            q['eps'] = 0.0
        qid = '%d-%d' % (seed, i)
        with open(LOG, 'a') as f:
            f.write(json.dumps({'qid': qid, 'query_spec': {k: v for k, v in q.items()}}) + '\n')
        try:
            do_query(qid, q, r)
        except Exception as e:
            import traceback; traceback.print_exc()
        if i % 10 == 0:
            print('progress', i, time.strftime('%H:%M:%S'), flush=True)
    print('STATS', json.dumps(STATS), flush=True)
    with open(HERE + '/stats_%d_%s.json' % (seed, mode), 'w') as f:
        json.dump(STATS, f)


if __name__ == '__main__':
    main()
