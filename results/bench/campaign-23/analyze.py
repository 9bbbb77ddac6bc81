import json, sys, collections, re
files = sys.argv[1:] or ['log.jsonl']
runs = []; viol = []; specs = 0
for fn in files:
    for l in open(fn):
        d = json.loads(l)
        if 'query_spec' in d: specs += 1
        elif 'check' in d: viol.append(d)
        elif 'args' in d and 'rc' in d: runs.append(d)
print('query specs', specs, 'ewtune runs', len(runs))
rc = collections.Counter((r['tag'].split('-')[-1] if r['tag'] else '', r['rc']) for r in runs)
print('rc by acc', sorted(rc.items()))
print('runtime violations:')
for r in runs:
    v = [x for x in r['violations'] if 'inf' not in x]
    if v: print('  ', r['qid'], r['tag'], ' '.join(r['args'])[:300], v)
print('slow >20s:')
for r in runs:
    if r['secs'] > 20: print('  %.1fs %dKB rc=%d %s' % (r['secs'], r['maxKB'], r['rc'], ' '.join(r['args'])))
print('max mem', max(r['maxKB'] for r in runs))
print('check violations:', collections.Counter(v['check'] for v in viol))
for v in viol: print('  ', v['qid'], v['check'], v['violation'][:400])
e2 = collections.Counter(re.sub(r'-?\d[\d.]*(e[-+]?\d+)?', 'N', r['stderr'].strip())[:160] for r in runs if r['rc'] == 2)
print('exit2 msgs:'); [print('  ', c, m) for m, c in e2.most_common(30)]
e1 = collections.Counter(re.sub(r'-?\d[\d.]*(e[-+]?\d+)?', 'N', r['stderr'].strip())[:160] for r in runs if r['rc'] == 1)
print('exit1 msgs:'); [print('  ', c, m) for m, c in e1.most_common(30)]
