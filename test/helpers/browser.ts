/**
 * Opens a local page in headless Chromium and reports what a reader's browser would complain
 * about: console errors, uncaught page errors, failed or external resource loads. Chromium is
 * driven over the DevTools protocol on a pipe (--remote-debugging-pipe: fd 3 in, fd 4 out,
 * NUL-separated JSON), so no driver package and no network port is needed.
 *
 * Install: `apt-get install -y chromium` (Debian). Tests skip when it is absent.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Readable, Writable } from 'node:stream';

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The Chromium executable, or null (tests then skip with a message). */
export function chromiumPath(): string | null {
  return CANDIDATES.find((p): p is string => !!p && existsSync(p)) ?? null;
}

export interface PageCheck {
  /** Everything wrong, one line each (empty: the page loaded cleanly). */
  problems: string[];
  /** The value of `evaluate` in the loaded page (JSON-serialisable). */
  value: unknown;
}

export interface PageCheckOptions {
  /** A JavaScript expression evaluated after load; its value comes back as `value`. */
  evaluate?: string;
  /** Writes a full-page PNG here. */
  screenshot?: string;
  /** Viewport width in CSS px (default 1100). */
  width?: number;
  timeoutMs?: number;
}

interface Message {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
  sessionId?: string;
}

/** A DevTools protocol connection over Chromium's debugging pipe. */
class Pipe {
  private next = 1;
  private buffer = '';
  private readonly pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  readonly events: Message[] = [];
  private waiters: { test: (m: Message) => boolean; resolve: () => void }[] = [];

  constructor(private readonly out: Writable, input: Readable) {
    input.setEncoding('utf8');
    input.on('data', (chunk: string) => {
      this.buffer += chunk;
      let i: number;
      while ((i = this.buffer.indexOf('\0')) >= 0) {
        this.dispatch(JSON.parse(this.buffer.slice(0, i)) as Message);
        this.buffer = this.buffer.slice(i + 1);
      }
    });
  }

  private dispatch(m: Message): void {
    if (m.id !== undefined) {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error) p?.reject(new Error(m.error.message));
      else p?.resolve(m.result ?? {});
      return;
    }
    this.events.push(m);
    this.waiters = this.waiters.filter((w) => (w.test(m) ? (w.resolve(), false) : true));
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.next++;
    this.out.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  waitFor(test: (m: Message) => boolean): Promise<void> {
    if (this.events.some(test)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }
}

function problemsOf(events: readonly Message[], pageUrl: string): string[] {
  const out: string[] = [];
  for (const e of events) {
    const p = e.params ?? {};
    switch (e.method) {
      case 'Runtime.exceptionThrown': {
        const d = p.exceptionDetails as { text?: string; exception?: { description?: string } };
        out.push(`page error: ${(d.exception?.description ?? d.text ?? 'unknown').split('\n')[0]}`);
        break;
      }
      case 'Runtime.consoleAPICalled':
        if (p.type === 'error' || p.type === 'assert') {
          out.push(`console.${String(p.type)}: ${(p.args as { value?: unknown; description?: string }[]).map((a) => String(a.value ?? a.description)).join(' ')}`);
        }
        break;
      case 'Log.entryAdded': {
        const entry = p.entry as { level: string; text: string; url?: string };
        if (entry.level === 'error') out.push(`browser log: ${entry.text}${entry.url ? ` (${entry.url})` : ''}`);
        break;
      }
      case 'Network.requestWillBeSent': {
        const url = (p.request as { url: string }).url;
        if (url !== pageUrl && !url.startsWith('data:')) out.push(`resource request: ${url} (the page must be self-contained)`);
        break;
      }
      case 'Network.loadingFailed':
        out.push(`failed resource: ${String(p.errorText)} (${String(p.type)})`);
        break;
      case 'Network.responseReceived': {
        const r = p.response as { status: number; url: string };
        if (r.status >= 400) out.push(`HTTP ${r.status}: ${r.url}`);
        break;
      }
    }
  }
  return out;
}

/** Loads `file` in a fresh headless Chromium profile with the network unreachable, and checks it. */
export async function checkPage(file: string, opts: PageCheckOptions = {}): Promise<PageCheck> {
  const exe = chromiumPath();
  if (!exe) throw new Error('chromium not found (apt-get install -y chromium)');
  const profile = mkdtempSync(join(tmpdir(), 'ctrkit-chromium-'));
  const width = opts.width ?? 1100;
  const child = spawn(exe, [
    '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check', '--disable-extensions',
    '--remote-debugging-pipe', `--user-data-dir=${profile}`, '--hide-scrollbars', `--window-size=${width},900`,
    // Any request leaving the machine fails fast instead of hanging: the page must need none.
    '--proxy-server=127.0.0.1:9', '--proxy-bypass-list=<-loopback>',
  ], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
  const gone = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const exited = new Promise<never>((_, reject) => child.on('exit', (code) => reject(new Error(`chromium exited (${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`))));
  const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('chromium: timed out')), opts.timeoutMs ?? 60_000).unref());
  const pipe = new Pipe(child.stdio[3] as Writable, child.stdio[4] as Readable);
  const url = pathToFileURL(file).href;
  const run = async (): Promise<PageCheck> => {
    const { targetId } = await pipe.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await pipe.send('Target.attachToTarget', { targetId, flatten: true }) as { sessionId: string };
    for (const domain of ['Runtime', 'Log', 'Network', 'Page']) await pipe.send(`${domain}.enable`, {}, sessionId);
    await pipe.send('Page.navigate', { url }, sessionId);
    await pipe.waitFor((m) => m.sessionId === sessionId && m.method === 'Page.loadEventFired');
    // Late console output and resource failures arrive after load: give them a moment.
    await new Promise((r) => setTimeout(r, 300));
    let value: unknown = null;
    if (opts.evaluate) {
      const r = await pipe.send('Runtime.evaluate', { expression: opts.evaluate, returnByValue: true }, sessionId) as { result: { value?: unknown }; exceptionDetails?: { text: string } };
      if (r.exceptionDetails) throw new Error(`evaluate: ${r.exceptionDetails.text}`);
      value = r.result.value ?? null;
    }
    if (opts.screenshot) {
      const m = await pipe.send('Page.getLayoutMetrics', {}, sessionId) as { cssContentSize: { height: number } };
      await pipe.send('Emulation.setDeviceMetricsOverride', { width, height: Math.ceil(m.cssContentSize.height), deviceScaleFactor: 1, mobile: false }, sessionId);
      const shot = await pipe.send('Page.captureScreenshot', { format: 'png' }, sessionId) as { data: string };
      writeFileSync(opts.screenshot, Buffer.from(shot.data, 'base64'));
    }
    return { problems: problemsOf(pipe.events.filter((e) => e.sessionId === sessionId), url), value };
  };
  try {
    return await Promise.race([run(), exited, timer]);
  } finally {
    child.kill('SIGKILL');
    await gone;
    // Chromium's helper processes can still be writing into the profile after the browser process
    // exits (ENOTEMPTY): retry, and leave a temporary folder behind rather than fail the check.
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch {
      // A leftover in the OS temp folder; the page check itself is done.
    }
  }
}
