// Tables of docs/experiments/online-vocab/README.md from experiments/online-vocab.mjs's results:
//   node experiments/online-vocab-report.mjs docs/experiments/online-vocab/results.json
import { readFileSync } from 'node:fs';
const rs = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const groups = new Map();
for (const r of rs) {
  const k = `${r.data}|${r.model}|${r.size}|${r.method}`;
  if (!groups.has(k)) groups.set(k, []);
  groups.get(k).push(r);
}
const ms = (xs) => { const m = xs.reduce((a, b) => a + b, 0) / xs.length; const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1)); return [m, sd]; };
const f = ([m, sd], d) => `${m.toFixed(d)} ± ${sd.toFixed(d)}`;
console.log('| data | model | rows/field | method | progressive LogLoss | progressive AUC | last-2000 AUC | occupancy | OOV share | evictions |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const [k, g] of groups) {
  const [data, model, size, method] = k.split('|');
  console.log(`| ${data} | ${model} | ${size} | ${method} | ${f(ms(g.map((r) => r.logloss)), 4)} | ${f(ms(g.map((r) => r.auc)), 4)} | ${f(ms(g.map((r) => r.windowAuc)), 4)} | ${g[0].occupancy.toFixed(3)} | ${g[0].oovShare.toFixed(3)} | ${g[0].evictions} |`);
}
// Paired differences vs hashing (same seed: same initial weights, the tables have the same shape).
const t975 = { 2: 12.706, 3: 4.303, 4: 3.182, 5: 2.776 };
console.log('\n| data | model | rows/field | method | Δ LogLoss vs hash [95 % CI] | Δ AUC vs hash [95 % CI] | Δ last-2000 AUC [95 % CI] |');
console.log('|---|---|---|---|---|---|---|');
for (const [k, g] of groups) {
  const [data, model, size, method] = k.split('|');
  if (method === 'hash') continue;
  const h = groups.get(`${data}|${model}|${size}|hash`);
  const d = (key) => g.map((r) => r[key] - h.find((x) => x.seed === r.seed)[key]);
  const ci = (xs, dig) => { const [m, sd] = ms(xs); const w = (t975[xs.length] ?? 2) * sd / Math.sqrt(xs.length); const star = xs.length > 1 && (m - w > 0 || m + w < 0) ? ' *' : ''; return `${m >= 0 ? '+' : ''}${m.toFixed(dig)} [${(m - w).toFixed(dig)}, ${(m + w).toFixed(dig)}]${star}`; };
  console.log(`| ${data} | ${model} | ${size} | ${method} | ${ci(d('logloss'), 4)} | ${ci(d('auc'), 4)} | ${ci(d('windowAuc'), 4)} |`);
}
