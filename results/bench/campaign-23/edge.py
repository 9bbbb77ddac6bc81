import os, sys, json, math, random, time
exec(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'campaign.py')).read().replace("if __name__ == '__main__':", 'if False:'))
which = sys.argv[1]
if which == 'bad':
    base = ['epsilon', '--sigma', '1', '--sampling-rate', '0.01', '--steps', '100', '--delta', '1e-5', '--accountant', 'contour']
    def sub(flag, val, b=base):
        a = list(b)
        if flag in a:
            a[a.index(flag) + 1] = val
        else:
            a += [flag, val]
        return a
    cases = []
    for f, vals in [('--sigma', ['0', '-1', 'nan', 'inf', '1e-400', '1e400', 'abc']),
                    ('--sampling-rate', ['0', '1.5', 'nan', '-0.1', '1e-400']),
                    ('--steps', ['0', '1e16', '1000000000000001', '-1', '2.5', '18446744073709551616']),
                    ('--delta', ['0', '1', '1.5', 'nan', '1e-400', '-1e-5', 'inf']),
                    ('--tolerance', ['0', '0.2', 'nan', '1e-300']),
                    ]:
        for v in vals:
            cases.append(sub(f, v))
    dbase = ['delta', '--sigma', '1', '--steps', '10', '--epsilon', '1', '--accountant', 'pld']
    for v in ['-1', 'nan', 'inf', '1e400', '1e300', '0']:
        cases.append(sub('--epsilon', v, dbase))
    for v in ['0', '1', '3', '64', '1e12']:
        cases.append(sub('--grid-budget', v, dbase))
    cases += [
        *[['epsilon', '--mechanism', 'randomized-response', '--noise-parameter', p, '--buckets', k,
           '--adjacency', adj, '--delta', '1e-5', '--accountant', acc]
          for p, k, adj, acc in [('1.5', '3', 'replace-one', 'contour'), ('0.5', '0', 'replace-one', 'contour'), ('0', '3', 'replace-one', 'contour'), ('1', '3', 'replace-one', 'pld'), ('0.5', '1', 'replace-one', 'saddlepoint'), ('0.5', '3', 'add-remove', 'contour')]],
        ['epsilon', '--mechanism', 'mixture-of-gaussians', '--sigma', '1', '--sensitivities', '0,1', '--probabilities', '0.5,0.6', '--delta', '1e-5', '--accountant', 'contour'],
        ['epsilon', '--mechanism', 'mixture-of-gaussians', '--sigma', '1', '--sensitivities', '0,-1', '--probabilities', '0.5,0.5', '--delta', '1e-5', '--accountant', 'contour'],
        ['epsilon', '--mechanism', 'mixture-of-gaussians', '--sigma', '1', '--sensitivities', '0,1,2', '--probabilities', '0.5,0.5', '--delta', '1e-5', '--accountant', 'contour'],
        ['epsilon', '--mechanism', 'mixture-of-gaussians', '--sigma', '1', '--sensitivities', '0,0', '--probabilities', '0.5,0.5', '--delta', '1e-5', '--accountant', 'pld'],
        ['epsilon', '--mechanism', 'mixture-of-gaussians', '--sigma', '1', '--sensitivities', '0,nan', '--probabilities', '0.5,0.5', '--delta', '1e-5', '--accountant', 'pld'],
        ['epsilon', '--mechanism', 'mixture-of-gaussians', '--sigma', '1', '--sensitivities', '1e300', '--probabilities', '1', '--delta', '1e-5', '--accountant', 'contour'],
        ['epsilon', '--mechanism', 'gaussian', '--sigma', '1', '--sampling', 'without-replacement', '--dataset-size', '10', '--batch-size', '11', '--adjacency', 'replace-one', '--delta', '1e-5', '--accountant', 'contour'],
        ['epsilon', '--mechanism', 'gaussian', '--sigma', '1', '--sampling', 'without-replacement', '--dataset-size', '10', '--batch-size', '0', '--adjacency', 'replace-one', '--delta', '1e-5', '--accountant', 'contour'],
        ['epsilon', '--mechanism', 'gaussian', '--sigma', '1', '--sampling', 'without-replacement', '--dataset-size', '10', '--batch-size', '5', '--delta', '1e-5', '--accountant', 'contour'],
        ['epsilon', '--mechanism', 'gaussian', '--sigma', '1', '--sampling', 'truncated-poisson', '--sampling-rate', '0.1', '--dataset-size', '10', '--max-batch-size', '0', '--delta', '1e-5', '--accountant', 'contour'],
        ['epsilon', '--mechanism', 'discrete-laplace', '--parameter', '0', '--delta', '1e-5', '--accountant', 'contour'],
        ['epsilon', '--mechanism', 'discrete-laplace', '--parameter', '1', '--sensitivity', '0', '--delta', '1e-5', '--accountant', 'contour'],
        ['epsilon', '--mechanism', 'discrete-laplace', '--parameter', '1', '--sensitivity', '1.5', '--delta', '1e-5', '--accountant', 'contour'],
        ['epsilon', '--mechanism', 'discrete-gaussian', '--sigma', '1', '--sensitivity', '1000000000', '--delta', '1e-5', '--accountant', 'contour'],
        ['epsilon', '--mechanism', 'discrete-laplace', '--parameter', '1e300', '--sensitivity', '1', '--delta', '1e-5', '--accountant', 'pld'],
        ['epsilon', '--mechanism', 'laplace', '--scale', '1e-300', '--delta', '1e-5', '--accountant', 'pld'],
        ['epsilon', '--mechanism', 'laplace', '--scale', '1e-300', '--delta', '1e-5', '--accountant', 'contour'],
        ['epsilon', '--mechanism', 'laplace', '--scale', '1e300', '--delta', '1e-5', '--accountant', 'saddlepoint'],
        ['epsilon', '--sigma', '1e-300', '--delta', '1e-5', '--accountant', 'rdp'],
        ['epsilon', '--sigma', '1e300', '--delta', '1e-5', '--accountant', 'pld'],
        ['calibrate', '--target-epsilon', '0', '--delta', '1e-5', '--sampling-rate', '0.01', '--steps', '100', '--accountant', 'contour'],
        ['calibrate', '--target-epsilon', '1', '--delta', '1e-5', '--sampling-rate', '0.01', '--steps', '100', '--accountant', 'pld', '--rel-tol', '0'],
        ['cumulants', '--sigma', '1', '--max-order', '7'],
        ['cumulants', '--sigma', '1', '--precision', '1'],
        ['cumulants', '--sigma', '1', '--precision', '100000000'],
        ['epsilon', '--sigma', '1', '--delta', '1e-5', '--accountant', 'saddlepoint', '--precision', '2'],
        ['epsilon', '--sigma', '1', '--delta', '1e-5', '--accountant', 'saddlepoint', '--order', '9'],
    ]
    for i, c in enumerate(cases):
        rec = run(c, tag='bad', qid='bad-%d' % i, text=True)
        print(rec['rc'], '%.2f' % rec['secs'], ' '.join(c), '|', (rec['stderr'].strip() or rec['stdout'].strip())[:250].replace('\n', ' / '), flush=True)
