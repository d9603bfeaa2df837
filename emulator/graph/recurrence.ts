/**
 * Expands a Graph `patternedRecurrence` into occurrence dates. Works on "wall" days (see
 * core/time.ts): midnight of each local date as a Date.UTC value; callers add the series' time
 * of day and convert with the recurrence zone.
 *
 * Outlook semantics modelled: weeks start on `firstDayOfWeek` (default sunday) for interval
 * counting; `absoluteMonthly`/`absoluteYearly` with a dayOfMonth past the month's end fall on the
 * month's last day (Outlook's documented behaviour); relative patterns with several daysOfWeek
 * pick the index-th matching day of the month; `numbered` counts from range.startDate.
 */
import { parseWall, MS } from '../../core/time';
import { GraphHttpError } from './errors';

export interface RecurrencePattern {
  type: string;
  interval?: number;
  month?: number;
  dayOfMonth?: number;
  daysOfWeek?: string[];
  firstDayOfWeek?: string;
  index?: string;
}

export interface RecurrenceRange {
  type: string;
  startDate?: string;
  endDate?: string;
  numberOfOccurrences?: number;
  recurrenceTimeZone?: string;
}

export interface PatternedRecurrence {
  pattern: RecurrencePattern;
  range: RecurrenceRange;
}

const DAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const INDEXES = ['first', 'second', 'third', 'fourth', 'last'];
/** Stops a noEnd series with a far window from spinning forever. */
const MAX_PERIODS = 200_000;

function invalid(message: string): GraphHttpError {
  return new GraphHttpError(400, 'ErrorInvalidRecurrence', message);
}

function dayIndex(name: string, field: string): number {
  const i = DAY_NAMES.indexOf(String(name).toLowerCase());
  if (i < 0) throw invalid(`recurrence.pattern.${field}: "${name}" is not a day of the week`);
  return i;
}

function daysInMonth(y: number, m0: number): number {
  return new Date(Date.UTC(y, m0 + 1, 0)).getUTCDate();
}

/** Checks a recurrence for the fields its pattern and range types need; throws 400 naming the field. */
export function validateRecurrence(r: PatternedRecurrence): void {
  const p = r?.pattern;
  const rg = r?.range;
  if (!p || !rg) throw invalid('recurrence needs both pattern and range');
  const interval = p.interval ?? 1;
  if (!Number.isInteger(interval) || interval < 1 || interval > 99) throw invalid('recurrence.pattern.interval must be an integer 1..99');
  const needDays = () => {
    if (!Array.isArray(p.daysOfWeek) || p.daysOfWeek.length === 0) throw invalid(`recurrence.pattern.daysOfWeek is required for ${p.type}`);
    p.daysOfWeek.forEach((d) => dayIndex(d, 'daysOfWeek'));
  };
  const needDayOfMonth = () => {
    if (!Number.isInteger(p.dayOfMonth) || p.dayOfMonth! < 1 || p.dayOfMonth! > 31) throw invalid(`recurrence.pattern.dayOfMonth (1..31) is required for ${p.type}`);
  };
  const needMonth = () => {
    if (!Number.isInteger(p.month) || p.month! < 1 || p.month! > 12) throw invalid(`recurrence.pattern.month (1..12) is required for ${p.type}`);
  };
  const needIndex = () => {
    if (p.index !== undefined && !INDEXES.includes(p.index)) throw invalid(`recurrence.pattern.index: "${p.index}" is not one of ${INDEXES.join(', ')}`);
  };
  switch (p.type) {
    case 'daily': break;
    case 'weekly': needDays(); break;
    case 'absoluteMonthly': needDayOfMonth(); break;
    case 'relativeMonthly': needDays(); needIndex(); break;
    case 'absoluteYearly': needDayOfMonth(); needMonth(); break;
    case 'relativeYearly': needDays(); needMonth(); needIndex(); break;
    default: throw invalid(`recurrence.pattern.type: "${p.type}" is not one of daily, weekly, absoluteMonthly, relativeMonthly, absoluteYearly, relativeYearly`);
  }
  if (p.firstDayOfWeek !== undefined) dayIndex(p.firstDayOfWeek, 'firstDayOfWeek');
  if (!rg.startDate || !/^\d{4}-\d{2}-\d{2}$/.test(rg.startDate)) throw invalid('recurrence.range.startDate (YYYY-MM-DD) is required');
  switch (rg.type) {
    case 'noEnd': break;
    case 'endDate':
      if (!rg.endDate || !/^\d{4}-\d{2}-\d{2}$/.test(rg.endDate)) throw invalid('recurrence.range.endDate (YYYY-MM-DD) is required for an endDate range');
      if (rg.endDate < rg.startDate) throw invalid('recurrence.range.endDate is before recurrence.range.startDate');
      break;
    case 'numbered':
      if (!Number.isInteger(rg.numberOfOccurrences) || rg.numberOfOccurrences! < 1) throw invalid('recurrence.range.numberOfOccurrences must be a positive integer for a numbered range');
      break;
    default: throw invalid(`recurrence.range.type: "${rg.type}" is not one of endDate, noEnd, numbered`);
  }
}

/** The index-th (first..fourth, last) day of month `m0` of year `y` whose weekday is in `days`. */
function relativeDay(y: number, m0: number, days: number[], index: string): number | undefined {
  const matches: number[] = [];
  const n = daysInMonth(y, m0);
  for (let d = 1; d <= n; d++) {
    if (days.includes(new Date(Date.UTC(y, m0, d)).getUTCDay())) matches.push(d);
  }
  const pick = index === 'last' ? matches[matches.length - 1] : matches[INDEXES.indexOf(index)];
  return pick;
}

/**
 * Occurrence dates (wall midnights, ascending) of the series, from range.startDate up to and
 * including `untilWall` (a wall-day bound the caller derives from its window).
 */
export function occurrenceDates(r: PatternedRecurrence, untilWall: number): number[] {
  validateRecurrence(r);
  const p = r.pattern;
  const rg = r.range;
  const interval = p.interval ?? 1;
  const start = parseWall(rg.startDate!);
  const endWall = rg.type === 'endDate' ? parseWall(rg.endDate!) : Infinity;
  const limit = Math.min(untilWall, endWall);
  const maxCount = rg.type === 'numbered' ? rg.numberOfOccurrences! : Infinity;
  const out: number[] = [];
  // Returns false once the series is exhausted.
  const emit = (d: number): boolean => {
    if (d < start) return true;
    if (d > limit || out.length >= maxCount) return false;
    out.push(d);
    return true;
  };
  const sd = new Date(start);
  const y0 = sd.getUTCFullYear();
  const m0 = sd.getUTCMonth();
  const days = (p.daysOfWeek ?? []).map((d) => dayIndex(d, 'daysOfWeek'));
  const index = p.index ?? 'first';

  for (let k = 0; k < MAX_PERIODS; k++) {
    let candidates: number[] = [];
    switch (p.type) {
      case 'daily':
        candidates = [start + k * interval * MS.DAY];
        break;
      case 'weekly': {
        const fdw = dayIndex(p.firstDayOfWeek ?? 'sunday', 'firstDayOfWeek');
        const weekStart = start - ((sd.getUTCDay() - fdw + 7) % 7) * MS.DAY + k * interval * 7 * MS.DAY;
        for (let i = 0; i < 7; i++) {
          const d = weekStart + i * MS.DAY;
          if (days.includes(new Date(d).getUTCDay())) candidates.push(d);
        }
        break;
      }
      case 'absoluteMonthly':
      case 'relativeMonthly': {
        const mm = m0 + k * interval;
        const y = y0 + Math.floor(mm / 12);
        const mo = ((mm % 12) + 12) % 12;
        const day = p.type === 'absoluteMonthly'
          ? Math.min(p.dayOfMonth!, daysInMonth(y, mo))
          : relativeDay(y, mo, days, index);
        if (day !== undefined) candidates = [Date.UTC(y, mo, day)];
        break;
      }
      case 'absoluteYearly':
      case 'relativeYearly': {
        const y = y0 + k * interval;
        const mo = p.month! - 1;
        const day = p.type === 'absoluteYearly'
          ? Math.min(p.dayOfMonth!, daysInMonth(y, mo))
          : relativeDay(y, mo, days, index);
        if (day !== undefined) candidates = [Date.UTC(y, mo, day)];
        break;
      }
    }
    for (const c of candidates) {
      if (!emit(c)) return out;
    }
    // Every pattern's periods move forward, so a period starting past the limit ends the series.
    if (candidates.length > 0 && candidates[0] > limit) return out;
  }
  return out;
}
