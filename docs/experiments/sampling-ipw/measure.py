"""Online sampling comparison of docs/experiments/sampling-ipw/README.md.

    python3 docs/experiments/sampling-ipw/measure.py criteo|avazu [WORKDIR]   (after npx tsc)

Criteo: an online LR teacher on rows 1-5000 of the Criteo head, the samplers on rows 5001-10000;
Avazu: banner_pos on the 8,999-row head. Sampling seeds 1-5; prints a markdown table.
"""
import gzip, json, os, subprocess, re, statistics as st, sys
W = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
DATA = os.environ.get('CTRKIT_SHARED_DATA', os.path.join(W, '..', 'shared', 'data'))
D = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else '/tmp/ctrkit-sampling-ipw')
os.makedirs(D, exist_ok=True)
lines = gzip.open(os.path.join(DATA, 'criteo_kaggle_dac_head10k', 'criteo_kaggle_train_head10k.txt.gz'), 'rt').read().split('\n')[:10000]
open(os.path.join(D, 'early.txt'), 'w').write('\n'.join(lines[:5000]) + '\n')
open(os.path.join(D, 'late.txt'), 'w').write('\n'.join(lines[5000:]) + '\n')
fields = [f"    - {{ name: I{i}, kind: numeric, transform: log-bucket }}" for i in range(1,14)] + [f"    - {{ name: C{i}, kind: categorical }}" for i in range(1,27)]
def criteo(name, path, sampling='', online=''):
    t = f"""data:
  source: {{ format: criteo, path: {D}/{path} }}
{('  sampling: '+sampling+chr(10)) if sampling else ''}  labels:
    - {{ name: click, column: label, type: binary }}
  fields:
""" + "\n".join(fields) + f"""
model: {{ type: lr }}
train: {{ epochs: 1, batchSize: 256, seed: 1, optimizer: {{ type: adagrad, lr: 0.2, initialAccumulator: 0.1 }}, online: {{ hashBuckets: 32768, window: 2000{online} }} }}
output: {D}/{name}
"""
    f=f'{D}/{name}.yaml'; open(f,'w').write(t); return f
av = open(W+'/examples/avazu.yaml').read().replace('../shared/data', DATA)
def avazu(name, sampling='', online=''):
    t = av
    if sampling: t = t.replace('  labels:', '  sampling: '+sampling+'\n  labels:')
    t = re.sub(r'^model:.*$', 'model: { type: lr }', t, flags=re.M)
    t = re.sub(r'^train:.*$', 'train: { epochs: 1, batchSize: 256, seed: 1, optimizer: { type: adagrad, lr: 0.2, initialAccumulator: 0.1 }, online: { hashBuckets: 32768, window: 2000, sliceField: banner_pos'+online+' } }', t, flags=re.M)
    t = re.sub(r'^output:.*$', f'output: {D}/{name}', t, flags=re.M)
    f=f'{D}/{name}.yaml'; open(f,'w').write(t); return f
def run(f):
    r = subprocess.run(['node', W+'/dist/src/cli/main.js', 'train', f], capture_output=True, text=True)
    if r.returncode != 0: sys.exit(r.stderr)
    return json.loads(r.stdout.strip().split('\n')[-1])
def summary(label, outs, total):
    g = lambda k: [o['progressive'][k] for o in outs]
    kept = [o['trained_rows'] for o in outs]
    def ms(v, d=4):
        return f"{st.mean(v):.{d}f}" + (f" ± {st.stdev(v):.{d}f}" if len(v) > 1 else '')
    row = f"| {label} | {ms(kept,0)} ({st.mean(kept)/total:.3f}) | {ms(g('logloss'))} | {ms(g('auc'))} | {ms(g('meanP'))} | {g('meanY')[0]:.4f} |"
    extra = ''
    if 'slices' in outs[0]:
        sl = {}
        for o in outs:
            for s in o['slices']: sl.setdefault(str(s['slice']), []).append(s)
        extra = ' ; '.join(f"pos {k}: Σp/Σy−1 {st.mean([x['ratioBias'] for x in v]):+.3f}" for k, v in sorted(sl.items()) if k in ('0', '1'))
    print(row + (f" {extra} |" if extra else ''), flush=True)
seeds = [1,2,3,4,5]
which = sys.argv[1]
if which == 'criteo':
    run(criteo('teacher', 'early.txt'))
    T = f'{D}/teacher/model'
    print('| sampler (online, LR, Criteo rows 5001–10000) | rows trained (share) | progressive LogLoss | progressive AUC | mean p | mean y |')
    print('|---|---|---|---|---|---|')
    summary('none', [run(criteo('none', 'late.txt'))], 5000)
    for keep in (0.5, 0.3):
        r = (keep - 0.2228) / (1 - 0.2228)
        variants = [
            (f'loss-based, keepRate {keep}, pMin 0.05 (1/p)', lambda s: criteo(f'loss{keep}-{s}', 'late.txt', f'{{ loss: {{ teacher: {T}, keepRate: {keep}, pMin: 0.05 }}, seed: {s} }}')),
            (f'loss-based, keepRate {keep}, keepPositives (1/p)', lambda s: criteo(f'losspos{keep}-{s}', 'late.txt', f'{{ loss: {{ teacher: {T}, keepRate: {keep}, pMin: 0.05, keepPositives: true }}, seed: {s} }}')),
            (f'uniform rows, p = {keep} (loss with pMin = keepRate) (1/p)', lambda s: criteo(f'unif{keep}-{s}', 'late.txt', f'{{ loss: {{ teacher: {T}, keepRate: {keep}, pMin: {keep} }}, seed: {s} }}')),
            (f'negative downsampling r = {r:.4f}, weights 1/r', lambda s: criteo(f'negw{keep}-{s}', 'late.txt', f'{{ negativeRate: {r:.4f}, seed: {s} }}', ', inverseWeights: true')),
            (f'negative downsampling r = {r:.4f}, prediction correction', lambda s: criteo(f'negc{keep}-{s}', 'late.txt', f'{{ negativeRate: {r:.4f}, seed: {s} }}')),
        ]
        for label, mk in variants:
            summary(label, [run(mk(s)) for s in seeds], 5000)
else:
    print('| sampler (online, LR, Avazu 8,999 rows) | rows trained (share) | progressive LogLoss | progressive AUC | mean p | mean y | calibration by banner_pos (Σp/Σy − 1) |')
    print('|---|---|---|---|---|---|---|')
    summary('none', [run(avazu('none'))], 8999)
    ctr = 1563 / 8999
    for rate in (0.3, 0.1):
        k = (7232 + rate * 1767) / 8999
        r = (k - ctr) / (1 - ctr)
        rates = ', '.join(f'"{v}": {k:.4f}' for v in (0, 1, 4, 5))
        variants = [
            (f'position: beyond 0 kept at {rate} (1/p)', lambda s: avazu(f'pos{rate}-{s}', f'{{ position: {{ column: banner_pos, beyond: 0, rate: {rate} }}, seed: {s} }}')),
            (f'uniform rows p = {k:.4f} (1/p)', lambda s: avazu(f'unif{rate}-{s}', f'{{ position: {{ column: banner_pos, rates: {{ {rates} }} }}, seed: {s} }}')),
            (f'negative downsampling r = {r:.4f}, weights 1/r', lambda s: avazu(f'negw{rate}-{s}', f'{{ negativeRate: {r:.4f}, seed: {s} }}', ', inverseWeights: true')),
            (f'negative downsampling r = {r:.4f}, prediction correction', lambda s: avazu(f'negc{rate}-{s}', f'{{ negativeRate: {r:.4f}, seed: {s} }}')),
        ]
        for label, mk in variants:
            summary(label, [run(mk(s)) for s in seeds], 8999)
