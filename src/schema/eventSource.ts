import { DataFormatError, show } from '../data/readers/errors.js';
import { handleBadLine, newStats, type BadLinePolicy, type ReaderStats } from '../data/readers/reader.js';
import { ItemPool } from '../data/events/itemPool.js';
import { countExampleEvents, sequenceExamples, type EventExample, type EventSplit, type LogEvent, type SequenceOptions } from '../data/events/sequences.js';
import type { RawValue } from '../data/prep/field.js';
import type { EventsSourceConfig } from './config.js';
import { positiveRuleHolds, toNumber } from './rows.js';
import type { ColumnRequest, ColumnSource, SourceRow } from './source.js';

/*
 * `format: events`: a CSV event log read as rows of behaviour-sequence examples
 * (src/data/events). The log's events are checked here (time a number, user and item present,
 * the order the config promises), so that the example builder sees valid, ordered events; the
 * rows then go through the schema like any other source's.
 *
 * Memory: order grouped streams the log (one user's history at a time), reading it twice when
 * negatives (the item pool: one entry per item) or split mode last (example events per user)
 * need a first pass; order sort holds every event.
 */

export interface EventReadOptions {
  policy: BadLinePolicy;
  keep: number;
  split?: EventSplit | undefined;
}

/** Opens the log as CSV with the given columns (one call per pass). */
export type LogOpener = (requests: ColumnRequest[]) => Promise<ColumnSource>;

function text(v: RawValue): string {
  return typeof v === 'number' ? (Number.isNaN(v) ? '' : String(v)) : v;
}

/** Sort key of a user: numeric ids in numeric order, then the others as text. */
function compareUsers(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  const na = a.length > 0 && Number.isFinite(x);
  const nb = b.length > 0 && Number.isFinite(y);
  if (na !== nb) return na ? -1 : 1;
  if (na && x !== y) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The example rows of the event log `file` (resolved `src.path`), with each row's split part. */
export async function openEventColumns(src: EventsSourceConfig, file: string, requests: readonly ColumnRequest[], openLog: LogOpener,
  options: EventReadOptions): Promise<ColumnSource> {
  // The log columns every pass reads: user, item, time, the positive rule's, the item attributes,
  // the history sources, then whatever else the schema asks for (passed through from the event).
  const logReq: ColumnRequest[] = [];
  const need = (column: string, usedBy: string): number => {
    let k = logReq.findIndex((r) => r.column === column);
    if (k === -1) k = logReq.push({ column, usedBy }) - 1;
    return k;
  };
  const userAt = need(src.user, 'source.user');
  const itemAt = need(src.item, 'source.item');
  const timeAt = need(src.time, 'source.time');
  const ruleAt = src.positive === undefined ? -1 : need(src.positive.column, 'source.positive.column');
  const itemValues = src.itemColumns.map((c, i) => need(c, `source.itemColumns[${i}]`));
  const histNames = Object.keys(src.history.columns);
  const historyValues = histNames.map((h) => need(src.history.columns[h]!, `source.history.columns.${h}`));
  type Pick = (ex: EventExample) => RawValue;
  const picks: Pick[] = requests.map((r): Pick => {
    if (r.column === src.label) return (ex) => ex.label;
    const h = histNames.indexOf(r.column);
    if (h !== -1) return (ex) => ex.history[h]!.join(src.history.separator);
    if (r.column === src.item) return (ex) => ex.item;
    const a = src.itemColumns.indexOf(r.column);
    if (a !== -1) return (ex) => ex.itemValues[a]!;
    const k = need(r.column, r.usedBy);
    return (ex) => ex.event.values[k]!;
  });

  const own = newStats('');
  let last: ColumnSource | undefined;
  /** One pass over the log as checked events, in the log's order. */
  async function* logEvents(): AsyncGenerator<LogEvent> {
    const log = await openLog(logReq);
    last = log;
    own.file = log.file;
    own.skipped = 0;
    own.skippedExamples = [];
    const finished = new Map<string, number>();
    let user: string | undefined;
    let userLine = 0;
    let lastTime = 0;
    let lastLine = 0;
    for await (const { values, line } of log) {
      let e: LogEvent;
      try {
        e = checkedEvent(values, line, log.file);
        if (src.order === 'grouped') {
          if (e.user !== user) {
            const first = finished.get(e.user);
            if (first !== undefined) {
              throw new DataFormatError(log.file, line, src.user, `user ${show(e.user)} reappears after other users (its events start on line ${first}); the log must be grouped by user (or set source.order: sort)`);
            }
          } else if (e.time < lastTime) {
            throw new DataFormatError(log.file, line, src.time, `time ${e.time} is before the previous event of user ${show(e.user)} (${lastTime}, line ${lastLine}); each user's events must be in ascending time (or set source.order: sort)`);
          }
        }
      } catch (err) {
        handleBadLine(err, options.policy, own, options.keep);
        log.stats.rows--;
        continue;
      }
      if (e.user !== user) {
        if (user !== undefined) finished.set(user, userLine);
        user = e.user;
        userLine = line;
      }
      lastTime = e.time;
      lastLine = line;
      yield e;
    }
  }

  function checkedEvent(values: RawValue[], line: number, file: string): LogEvent {
    const user = text(values[userAt]!);
    const item = text(values[itemAt]!);
    if (user.length === 0) throw new DataFormatError(file, line, src.user, 'user is missing');
    if (item.length === 0) throw new DataFormatError(file, line, src.item, 'item is missing');
    const time = toNumber(values[timeAt]!, file, line, src.time);
    if (Number.isNaN(time)) throw new DataFormatError(file, line, src.time, 'time is missing');
    historyValues.forEach((k, h) => {
      const v = text(values[k]!);
      if (v.includes(src.history.separator)) {
        throw new DataFormatError(file, line, logReq[k]!.column, `value ${show(v)} contains the history separator ${show(src.history.separator)} (history ${histNames[h]})`);
      }
    });
    const positive = src.positive === undefined ? true
      : positiveRuleHolds(src.positive, values[ruleAt]!, file, line, src.positive.column, 'value');
    return { user, item, time, positive, values: [...values], line };
  }

  // Order sort: one read, then every pass walks the sorted events (ties keep the log's order).
  let sorted: LogEvent[] | undefined;
  const events = async function* (): AsyncGenerator<LogEvent> {
    if (src.order === 'grouped') {
      yield* logEvents();
      return;
    }
    if (sorted === undefined) {
      const all: LogEvent[] = [];
      for await (const e of logEvents()) all.push(e);
      all.sort((a, b) => compareUsers(a.user, b.user) || a.time - b.time || a.line - b.line);
      sorted = all;
    }
    yield* sorted;
  };

  const opts: SequenceOptions = {
    examples: src.examples,
    history: src.history.include,
    maxHistory: src.history.maxLength,
    minHistory: src.minHistory,
    historyValues,
    itemValues,
    split: options.split,
  };
  if (src.negatives !== undefined) {
    const pool = new ItemPool();
    for await (const e of events()) pool.add(e.item, e.time, itemValues.map((k) => e.values[k]!));
    pool.finish();
    opts.negatives = { perPositive: src.negatives.perPositive, seed: src.negatives.seed, pool };
  }
  if (options.split?.mode === 'last') opts.exampleCounts = await countExampleEvents(events(), opts);

  const stats: ReaderStats = newStats(file);
  return {
    file,
    stats,
    async *[Symbol.asyncIterator](): AsyncGenerator<SourceRow> {
      for await (const ex of sequenceExamples(events(), opts)) {
        stats.rows++;
        yield { values: picks.map((p) => p(ex)), line: ex.event.line, part: ex.part };
      }
      const log = last!;
      stats.lines = log.stats.lines;
      stats.skipped = log.stats.skipped + own.skipped;
      stats.skippedExamples = [...log.stats.skippedExamples, ...own.skippedExamples].slice(0, options.keep);
      if (stats.rows === 0) {
        throw new DataFormatError(log.file, undefined, undefined, `the event log gave no examples (${log.stats.rows} events; check source.positive, source.examples and source.minHistory)`);
      }
    },
  };
}
