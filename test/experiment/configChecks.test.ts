/**
 * A config that validates key by key but asks for something training does not do is refused
 * when it is loaded, with the file and the key in the message (no data is read).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadExperimentConfig, parseExperimentConfig } from '../../src/experiment/config.js';
import { ConfigError } from '../../src/schema/index.js';
import { packageRoot } from '../helpers/sharedData.js';

type Raw = { data: Record<string, unknown>; model: Record<string, unknown>; train: Record<string, unknown>; output: string };

function base(): Raw {
  return {
    data: {
      source: { format: 'csv', path: 'x.csv' },
      labels: [{ name: 'click' }],
      fields: [{ name: 'a', kind: 'categorical' }, { name: 'b', kind: 'numeric' }],
    },
    model: { type: 'dnn', dim: 4, hidden: [8] },
    train: { epochs: 1, batchSize: 8, optimizer: { type: 'adam', lr: 0.01 } },
    output: 'out',
  };
}

/** base() with a graded label in lists, as LTR data has. */
function graded(): Raw {
  const r = base();
  r.data.labels = [{ name: 'relevance', column: 'label', type: 'graded' }];
  r.data.group = 'qid';
  r.train.validationMetric = 'ndcg@10';
  return r;
}

function refused(raw: Raw, pattern: RegExp): void {
  assert.throws(() => parseExperimentConfig(raw, 'bad.yaml'), (e: unknown) => {
    assert.ok(e instanceof ConfigError, `a ConfigError (a user error), got ${String(e)}`);
    assert.match((e as Error).message, pattern);
    return true;
  });
}

describe('experiment config: what training cannot do is refused', () => {
  it('the base config is accepted', () => {
    assert.equal(parseExperimentConfig(base(), 'ok.yaml').data.labels.length, 1);
  });

  it('several labels without train.tasks: the tasks must be named', () => {
    const r = base();
    r.data.labels = [{ name: 'click' }, { name: 'conversion' }];
    refused(r, /^bad\.yaml: data\.labels: 2 labels \(click, conversion\) but no train\.tasks: name the tasks/);
  });

  describe('train.tasks', () => {
    const twoLabels = (): Raw => {
      const r = base();
      r.data.labels = [{ name: 'click' }, { name: 'sale' }];
      return r;
    };
    it('one task on some rows trains a one-output model', () => {
      const r = twoLabels();
      r.train.tasks = [{ name: 'cvr', label: 'sale', on: 'click' }];
      const cfg = parseExperimentConfig(r, 'ok.yaml');
      assert.deepEqual(cfg.train.tasks, [{ name: 'cvr', label: 'sale', on: 'click', weight: 1 }]);
    });
    it('a label or an on-label that data.labels lacks is named', () => {
      const r = twoLabels();
      r.train.tasks = [{ name: 'cvr', label: 'conversion' }];
      refused(r, /^bad\.yaml: train\.tasks\[0\]\.label: no label "conversion" in data\.labels \(labels: click, sale\)/);
      r.train.tasks = [{ name: 'purchase' }];
      refused(r, /train\.tasks\[0\]\.name: no label "purchase" .*; set label/);
      r.train.tasks = [{ name: 'cvr', label: 'sale', on: 'clicked' }];
      refused(r, /train\.tasks\[0\]\.on: no label "clicked"/);
      r.train.tasks = [{ name: 'cvr', label: 'sale', on: 'sale' }];
      refused(r, /train\.tasks\[0\]\.on: the task's own label/);
    });
    it('two tasks need a multi-task model; a multi-task model needs tasks', () => {
      const r = twoLabels();
      r.train.tasks = [{ name: 'click' }, { name: 'sale' }];
      refused(r, /^bad\.yaml: model\.type: 'dnn' has one output, and train\.tasks reads 2 heads \(click, sale\); use a multi-task model \(shared-bottom, mmoe, ple, snr, esmm\)/);
      const m = twoLabels();
      m.model = { type: 'mmoe' };
      refused(m, /train\.tasks: model type 'mmoe' is multi-task: name its tasks/);
    });
    it('esmm tasks must be its heads', () => {
      const r = twoLabels();
      r.model = { type: 'esmm' };
      r.train.tasks = [{ name: 'ctr', label: 'click' }, { name: 'purchase', label: 'sale' }];
      refused(r, /train\.tasks\[1\]\.name: model type 'esmm' has heads ctr, cvr, ctcvr; "purchase" is none of them \(set head\)/);
      r.train.tasks = [{ name: 'ctr', label: 'click' }, { name: 'purchase', head: 'ctcvr', label: 'sale' }];
      assert.equal(parseExperimentConfig(r, 'ok.yaml').train.tasks![1]!.head, 'ctcvr');
    });
    it('duplicate names, all weights 0, a ranking loss, train.loss beside tasks, unknown validation tasks', () => {
      const r = twoLabels();
      r.train.tasks = [{ name: 'click', weight: 0 }, { name: 'click', weight: 0 }];
      refused(r, /train\.tasks\[1\]\.name: task "click" is named twice/);
      refused(r, /train\.tasks: every task has weight 0/);
      r.train.tasks = [{ name: 'click', loss: { type: 'listmle' } }];
      refused(r, /train\.tasks\[0\]\.loss\.type: 'listmle': a task's loss is one of bce, focal/);
      r.train.tasks = [{ name: 'click', loss: { type: 'focal', gama: 2 } }];
      refused(r, /train\.tasks\[0\]\.loss\.gama: not a setting/);
      r.train.tasks = [{ name: 'click' }];
      r.train.loss = { type: 'focal' };
      refused(r, /train\.loss: with train\.tasks each task has its own loss/);
      delete r.train.loss;
      r.train.validationTasks = { clicks: 1 };
      refused(r, /train\.validationTasks\.clicks: no task "clicks" in train\.tasks \(click\)/);
    });
    it('what a multi-task run does not do is refused', () => {
      const r = twoLabels();
      r.model = { type: 'esmm' };
      r.train.tasks = [{ name: 'ctr', label: 'click' }, { name: 'ctcvr', label: 'sale' }];
      r.train.calibration = 'platt';
      refused(r, /train\.calibration: post-hoc calibration of a multi-task model is not supported/);
    });
  });

  it('privileged fields need a teacher', () => {
    const r = base();
    r.data.fields = [{ name: 'a', kind: 'categorical' }, { name: 'b', kind: 'numeric', privileged: true }];
    refused(r, /^bad\.yaml: data\.fields\[1\]\.privileged: field b: a privileged field is read by a teacher only, and there is none: set train\.distill/);
  });

  it('a BCE term on a graded label, naming the loss and the label column', () => {
    const r = graded();
    refused(r, /^bad\.yaml: train\.loss: loss 'bce' trains BCE on the label, .*label relevance \(column label\) is graded/);
    r.train.loss = { type: 'focal' };
    refused(r, /train\.loss\.type: loss 'focal'/);
    r.train.loss = { type: 'combined-list' }; // α defaults to 0.5
    refused(r, /train\.loss\.type: loss 'combined-list' .*or set alpha: 0/);
    // A curriculum trains BCE alone first, whatever α is.
    r.train.loss = { type: 'listmle', alpha: 0, curriculum: { rampSteps: 10 } };
    refused(r, /loss 'listmle'/);
    r.train.loss = { type: 'jrc', alpha: 0.3 };
    refused(r, /loss 'jrc'/);
  });

  it('graded labels train pure ranking losses (α = 0), and binarised ones train BCE', () => {
    const r = graded();
    for (const type of ['combined-list', 'listmle', 'rcr', 'combined-pair']) {
      r.train.loss = { type, alpha: 0 };
      assert.doesNotThrow(() => parseExperimentConfig(r, 'ok.yaml'), type);
    }
    const b = graded();
    b.data.labels = [{ name: 'relevance', column: 'label', type: 'graded', positive: { atLeast: 1 } }];
    b.train.validationMetric = 'auc';
    assert.doesNotThrow(() => parseExperimentConfig(b, 'ok.yaml'));
  });

  it('validation metrics the data cannot give', () => {
    const r = graded();
    r.train.loss = { type: 'combined-list', alpha: 0 };
    r.train.validationMetric = 'auc';
    refused(r, /^bad\.yaml: train\.validationMetric: 'auc' needs a binary label, but label relevance is graded/);
    const g = base();
    g.train.validationMetric = 'gauc';
    refused(g, /^bad\.yaml: train\.validationMetric: 'gauc' is computed per list: set data\.group/);
  });

  it('contrastive needs a model with hidden layers', () => {
    const r = base();
    r.train.loss = { type: 'contrastive', temperature: 0.2 };
    assert.doesNotThrow(() => parseExperimentConfig(r, 'ok.yaml'));
    r.model = { type: 'lr' };
    refused(r, /^bad\.yaml: train\.loss\.type: 'contrastive' contrasts hidden representations, which model type 'lr' does not have; use dnn or dcnv2/);
  });

  it('DIN: attention names a sequence field and a categorical field of the data', () => {
    const r = base();
    r.data.fields = [{ name: 'a', kind: 'categorical' }, { name: 'b', kind: 'numeric' }, { name: 'h', kind: 'sequence', vocab: 'a' }];
    r.model = { type: 'din', dim: 4, attention: [{ sequence: 'h', target: 'a' }] };
    assert.doesNotThrow(() => parseExperimentConfig(r, 'ok.yaml'));
    r.model = { type: 'din', dim: 4, attention: [{ sequence: 'a', target: 'b' }] };
    refused(r, /bad\.yaml: model\.attention\[0\]\.sequence: no sequence field "a" in data\.fields \(sequence fields: h\)\n {2}bad\.yaml: model\.attention\[0\]\.target: no categorical field "b" in data\.fields \(id fields: a\)/);
  });

  it('JRC and the two-logit head go together', () => {
    const r = base();
    r.train.loss = { type: 'jrc' };
    assert.doesNotThrow(() => parseExperimentConfig(r, 'ok.yaml'));
    r.model = { type: 'fm' };
    refused(r, /train\.loss\.type: 'jrc' needs a two-logit model head/);
    const h = base();
    h.model = { type: 'dnn', hidden: [8], logits: 2 };
    refused(h, /^bad\.yaml: model\.logits: 2 is the JRC head/);
  });

  it('pairs: group and calibration need the data they work on', () => {
    const r = base();
    r.train.loss = { type: 'combined-pair', pairs: 'group' };
    refused(r, /^bad\.yaml: train\.loss\.pairs: 'group' compares rows within lists: set data\.group/);
    const c = base();
    c.data.split = { mode: 'files', test: 't.csv' };
    c.train.calibration = 'platt';
    refused(c, /^bad\.yaml: train\.calibration: 'platt' is fit on the validation rows: give data\.split\.validation/);
  });

  it('every problem is listed, each with its key', () => {
    const r = base();
    r.data.labels = [{ name: 'click' }, { name: 'conversion' }];
    r.model = { type: 'lr' };
    r.train.loss = { type: 'contrastive' };
    refused(r, /2 problems:\n {2}bad\.yaml: data\.labels: .*\n {2}bad\.yaml: train\.loss\.type: /);
  });

  it('every example config is one training can run', async () => {
    const dir = join(packageRoot(), 'examples');
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.yaml'))) {
      await assert.doesNotReject(loadExperimentConfig(join(dir, f)), f);
    }
  });
});
