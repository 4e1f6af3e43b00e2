/**
 * Keeps the served model in step with its directory. ctrkit publishes a model directory by
 * renaming a complete copy into place (src/io/atomic.ts), so the parent directory is watched for
 * renames of that name (debounced), and the manifest's identity is also polled, because fs.watch
 * can miss events (network filesystems, inotify limits). A changed manifest is loaded and
 * verified outside any request, asynchronously (the loader keeps its heavy part off the event
 * loop), one load at a time; only a good snapshot replaces the current one, and requests already
 * holding the old one finish with it. A snapshot that fails is reported once and not retried until
 * the directory changes again.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { manifestStamp, SnapshotChangedError } from './snapshot.js';

export interface Reloadable {
  readonly version: string;
  readonly stamp: string;
}

export interface ReloadOptions {
  /** Quiet time after the last filesystem event before checking (default 200 ms). */
  debounceMs: number;
  /** Interval of the manifest check that does not rely on fs.watch (default 2000 ms; 0 = off). */
  pollMs: number;
  /** Watch the parent directory (default true). */
  watch: boolean;
}

export const DEFAULT_RELOAD_OPTIONS: ReloadOptions = { debounceMs: 200, pollMs: 2000, watch: true };

export interface ReloadEvents<T> {
  swapped(next: T, previous: T): void;
  failed(error: Error, stamp: string): void;
  /** `previous` was replaced (by a new version, or by the same one republished): it gets no new requests. */
  retired?(previous: T): void;
}

export type CheckResult = 'unchanged' | 'swapped' | 'failed' | 'pending';

export class Reloader<T extends Reloadable> {
  private model: T;
  private failedStamp: string | undefined;
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private readonly dir: string;
  /** The check under way: a second caller shares it rather than loading the same snapshot twice. */
  private inFlight: Promise<CheckResult> | undefined;

  constructor(dir: string, initial: T, private readonly load: (dir: string) => Promise<T>,
    private readonly opts: ReloadOptions, private readonly events: ReloadEvents<T>) {
    this.dir = resolve(dir);
    this.model = initial;
  }

  get current(): T {
    return this.model;
  }

  /** Starts watching and polling; returns a message when fs.watch is unavailable (polling still runs). */
  start(): string | undefined {
    let note: string | undefined;
    if (this.opts.watch) {
      const name = basename(this.dir);
      try {
        this.watcher = watch(dirname(this.dir), (_event, file) => {
          // The model directory itself or one of its publish siblings (.name.new-…, .name.old-…).
          if (file === null || file === name || file.startsWith(`.${name}.`)) this.schedule();
        });
        this.watcher.on('error', () => this.watcher?.close());
        this.watcher.unref();
      } catch (e) {
        note = `cannot watch ${dirname(this.dir)} (${(e as Error).message}); relying on the ${this.opts.pollMs} ms poll`;
      }
    }
    if (this.opts.pollMs > 0) {
      this.poll = setInterval(() => void this.check(), this.opts.pollMs);
      this.poll.unref();
    }
    return note;
  }

  stop(): void {
    this.watcher?.close();
    clearInterval(this.poll);
    clearTimeout(this.debounce);
    this.watcher = undefined;
    this.poll = undefined;
    this.debounce = undefined;
  }

  private schedule(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.check(), this.opts.debounceMs);
    this.debounce.unref();
  }

  /** Loads the directory if its manifest changed since the current (or last failed) snapshot. */
  check(): Promise<CheckResult> {
    this.inFlight ??= this.checkOnce().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async checkOnce(): Promise<CheckResult> {
    const stamp = manifestStamp(this.dir);
    // Absent: between the two renames of a publish; the rename-in is another event.
    if (stamp === undefined) return 'pending';
    if (stamp === this.model.stamp || stamp === this.failedStamp) return 'unchanged';
    let next: T;
    try {
      next = await this.load(this.dir);
    } catch (e) {
      if (e instanceof SnapshotChangedError || manifestStamp(this.dir) !== stamp) {
        this.schedule();
        return 'pending';
      }
      this.failedStamp = stamp;
      this.events.failed(e as Error, stamp);
      return 'failed';
    }
    this.failedStamp = undefined;
    const previous = this.model;
    this.model = next;
    this.events.retired?.(previous);
    if (next.version === previous.version) return 'unchanged';
    this.events.swapped(next, previous);
    return 'swapped';
  }
}
