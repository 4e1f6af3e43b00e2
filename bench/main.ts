/** `npm run bench -- <suite> [options]`: suites are listed below. */
import { archBench } from './arch.js';
import { engineBench } from './engine.js';
import { accuracyBench } from './accuracy.js';
import { dataBench } from './data.js';
import { memoryBench } from './memory.js';
import { dinBench } from './din.js';
import { quBench } from './qu.js';
import { shampooBench } from './shampoo.js';
import { serveBench } from './serve.js';
import { inferenceBench } from './inference.js';
import { mtlBench } from './mtl.js';
import { onlineBench } from './online.js';
import { precisionBench } from './precision.js';
import { gemmTuneBench } from './gemmTune.js';

const suites: Record<string, (argv: string[]) => void | Promise<void>> = {
  arch: archBench,
  engine: engineBench,
  accuracy: accuracyBench,
  data: dataBench,
  memory: memoryBench,
  din: dinBench,
  qu: quBench,
  shampoo: shampooBench,
  serve: serveBench,
  inference: inferenceBench,
  mtl: mtlBench,
  online: onlineBench,
  precision: precisionBench,
  'gemm-tune': gemmTuneBench,
};

const [suite, ...rest] = process.argv.slice(2);
const run = suite ? suites[suite] : undefined;
if (!run) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(suites).join('|')}> [--json]\n`);
  process.exit(2);
}
await run(rest);
