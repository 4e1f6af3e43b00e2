/**
 * `ctrkit serve` as a process: it listens on an ephemeral port, answers over real HTTP, and on
 * SIGTERM stops accepting, finishes the request in flight and exits 0.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { cli } from './census.js';
import { saveTinyModel, tinyRow } from './tiny.js';

describe('ctrkit serve (child process)', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ctrkit-serve-cli-'));
    saveTinyModel(join(dir, 'model'), 3);
  });
  after(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('drains the request in flight on SIGTERM and exits 0', { timeout: 90_000 }, async () => {
    // Requests wait 1.5 s for company, also on an idle server: the one sent below is still in its batch when SIGTERM comes.
    child = spawn('node', [cli, 'serve', '-m', join(dir, 'model'), '--port', '0', '--batch-wait-ms', '1500', '--idle-wait-ms', '1500', '--token', 'tok', '--score-thread', 'on'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    let url: string | undefined;
    while (url === undefined) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the server did not start: ${stderr}`);
      url = /ctrkit serve: model [0-9a-f]+ \(dnn\) at (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)?.[1];
      await sleep(50);
    }
    const auth = { authorization: 'Bearer tok' };
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    assert.equal((await fetch(`${url}/v1/model`)).status, 401);

    const inFlight = fetch(`${url}/v1/predict`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ rows: [tinyRow(1), tinyRow(2)] }) });
    // Wait until the server has the request (its rows are counted before it joins a batch).
    for (;;) {
      const m = await (await fetch(`${url}/metrics`, { headers: auth })).text();
      if (/ctrkit_serve_request_rows_count 1/.test(m)) break;
      await sleep(20);
    }
    child.kill('SIGTERM');
    const killedAt = Date.now();
    const r = await inFlight;
    assert.equal(r.status, 200);
    const j = (await r.json()) as { model: string; scores: number[] };
    assert.equal(j.scores.length, 2);
    assert.ok(j.scores.every((p) => p > 0 && p < 1), JSON.stringify(j));
    assert.equal(await exited, 0, stderr);
    // Not held open by the client's keep-alive connection (node's keep-alive timeout is 72 s here).
    assert.ok(Date.now() - killedAt < 20_000, `exited ${Date.now() - killedAt} ms after SIGTERM`);
    assert.match(stderr, /SIGTERM: finishing in-flight requests/);
    await assert.rejects(fetch(`${url}/healthz`), 'nothing listens after the exit');
  });

  it('a missing model directory or a taken port is a one-line user error (exit 1)', async () => {
    const missing = spawnSync('node', [cli, 'serve', '-m', join(dir, 'nope')], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(missing.status, 1, missing.stderr);
    assert.equal(missing.stderr, `ctrkit: ${join(dir, 'nope')}: not a ctrkit model directory (${join(dir, 'nope', 'manifest.json')}: not found)\n`);
    const taken = createNetServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = String((taken.address() as AddressInfo).port);
      const busy = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const p = spawn('node', [cli, 'serve', '-m', join(dir, 'model'), '--port', port, '--log-level', 'silent'], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        p.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
        p.on('exit', (code) => resolve({ code, stderr: err }));
      });
      assert.equal(busy.code, 1, busy.stderr);
      assert.match(busy.stderr, new RegExp(`^ctrkit: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE.*\\n$`));
    } finally {
      taken.close();
    }
  });
});
