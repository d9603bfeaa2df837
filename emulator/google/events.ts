/**
 * Calendar v3 `events.*` handlers over the in-memory store: insert, import, get, patch, update,
 * delete, instances and list (paging, windows, singleEvents expansion, extended-property filters,
 * sync tokens). Each handler returns an EmuResponse in Google's shapes.
 */
import { randomBytes } from 'node:crypto';
import type { EmuRequest, EmuResponse } from '../types';
import { badRequest, googleError, notFound, required } from './errors';
import { BadTimeError, expandSeries, googleTimeToUtc, type Occurrence } from './recurrence';
import type { CalendarState, EventJson, GoogleStore } from './store';
import { validateBody, formatIssues, type SchemaFile } from '../schema/validate';
import googleSchema from '../schema/google-calendar-v3.json';

const SCHEMA = googleSchema as unknown as SchemaFile;
const ID_RE = /^[a-v0-9]{5,1024}$/;
const DEFAULT_PAGE = 250;
const MAX_PAGE = 2500;
/** singleEvents expansion of open-ended series stops this far after the emulator clock. */
const OPEN_SERIES_HORIZON_MS = 2 * 366 * 86_400_000;
const SYNC_FORBIDDEN = ['iCalUID', 'orderBy', 'privateExtendedProperty', 'q', 'sharedExtendedProperty', 'timeMin', 'timeMax', 'updatedMin'];

/** Decides how many items a page holds: (requested size, page number from 0) → size (0 = empty page). */
export type PageShaper = (requested: number, page: number) => number;

export interface EventsEnv {
  store: GoogleStore;
  now: () => number;
  pageShaper?: PageShaper;
  /** Updates of a deleted event: restore it ('allow', default) or 403 ('forbidden'). */
  restoreDeleted?: 'allow' | 'forbidden';
}

const json = (body: unknown, status = 200): EmuResponse => ({ status, body });

function parseBody(req: EmuRequest): EventJson | EmuResponse {
  try {
    const v = JSON.parse(req.body.toString('utf8') || '{}');
    if (!v || typeof v !== 'object' || Array.isArray(v)) return badRequest('The request body must be a JSON object.');
    return v;
  } catch {
    return googleError(400, 'parseError', 'Parse Error');
  }
}

/**
 * Unknown or mistyped fields → 400 naming the path (stricter than Google, which ignores them).
 * `null` only means something in PATCH (delete the key); elsewhere Google would not store it, so
 * the emulator refuses it rather than keep a value the real API drops.
 */
function checkSchema(body: EventJson, allowNull: boolean): EmuResponse | undefined {
  const issues = validateBody(SCHEMA, 'Schema$Event', body, { allowNull });
  if (issues.length === 0 && !allowNull) {
    const at = firstNull(body, '');
    if (at !== undefined) issues.push({ path: at, message: 'null is accepted only in PATCH bodies (it deletes a key there)' });
  }
  if (issues.length === 0) return undefined;
  return googleError(400, 'invalid', `Invalid event body: ${formatIssues(issues)}`, { locationType: 'other', location: issues[0].path });
}

/** Path of the first null in a JSON value ("start.timeZone", "attendees[0].email"), if any. */
function firstNull(v: unknown, path: string): string | undefined {
  if (v === null) return path;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const p = firstNull(v[i], `${path}[${i}]`);
      if (p !== undefined) return p;
    }
  } else if (typeof v === 'object' && v !== undefined) {
    for (const [k, x] of Object.entries(v as EventJson)) {
      const p = firstNull(x, path ? `${path}.${k}` : k);
      if (p !== undefined) return p;
    }
  }
  return undefined;
}

const isResponse = (x: unknown): x is EmuResponse => typeof x === 'object' && x !== null && 'status' in x && typeof (x as EmuResponse).status === 'number' && !('kind' in x);

/** Google's documented extendedProperties limits: long keys dropped, long values cut, 300 / 32 kB. */
function applyExtendedPropertyLimits(ev: EventJson): EmuResponse | undefined {
  const ep = ev.extendedProperties;
  if (!ep || typeof ep !== 'object') return undefined;
  let count = 0;
  let bytes = 0;
  for (const scope of ['private', 'shared'] as const) {
    const props = ep[scope];
    if (!props || typeof props !== 'object') continue;
    for (const key of Object.keys(props)) {
      if (props[key] === null) {
        delete props[key];
        continue;
      }
      if (key.length > 44) {
        delete props[key];
        continue;
      }
      if (typeof props[key] === 'string' && props[key].length > 1024) props[key] = props[key].slice(0, 1024);
      count++;
      bytes += Buffer.byteLength(key) + Buffer.byteLength(String(props[key]));
    }
  }
  if (count > 300 || bytes > 32 * 1024) return badRequest('The event has too many extended properties (at most 300 and 32 kB).');
  return undefined;
}

/** Checks times and recurrence of a full event; returns an error response or undefined. */
function checkEventShape(ev: EventJson, cal: CalendarState): EmuResponse | undefined {
  if (ev.recurringEventId && ev.status === 'cancelled') return undefined; // cancelled exception: only ids matter
  if (!ev.start || (!ev.start.date && !ev.start.dateTime)) return required('start');
  if (!ev.end || (!ev.end.date && !ev.end.dateTime)) return required('end');
  if (!!ev.start.date !== !!ev.end.date) return badRequest('Start and end times must either both be date or both be dateTime.');
  const recurring = Array.isArray(ev.recurrence) && ev.recurrence.length > 0;
  if (recurring && !ev.start.timeZone && ev.start.dateTime) return googleError(400, 'required', 'Missing time zone definition for start time.');
  for (const t of [ev.start, ev.end]) if (t.timeZone && !isKnownZone(t.timeZone)) return badRequest(`Invalid time zone definition for ${t === ev.start ? 'start' : 'end'} time.`);
  try {
    const s = googleTimeToUtc(ev.start, cal.timeZone);
    const e = googleTimeToUtc(ev.end, cal.timeZone);
    if (e < s) return googleError(400, 'timeRangeEmpty', 'The specified time range is empty.', { locationType: 'parameter', location: 'end.dateTime' });
    if (recurring) {
      for (const line of ev.recurrence) {
        if (typeof line !== 'string' || !/^(RRULE|EXRULE|RDATE|EXDATE)[:;]/i.test(line)) return badRequest(`Invalid recurrence rule: "${line}"`);
      }
      expandSeries(ev as never, cal.timeZone, s, s + 1, 1);
    }
  } catch (e) {
    if (e instanceof BadTimeError || e instanceof Error) return badRequest(`Invalid value: ${e.message}`);
    throw e;
  }
  return undefined;
}

function isKnownZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function newId(): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuv';
  return [...randomBytes(26)].map((b) => alphabet[b & 31]).join('');
}

/** Fields the server owns; a client value is overwritten. */
function serverFields(cal: CalendarState, ev: EventJson, nowIso: string, prev?: EventJson): void {
  ev.kind = 'calendar#event';
  ev.status = ev.status ?? 'confirmed';
  ev.htmlLink = `https://www.google.com/calendar/event?eid=${Buffer.from(`${ev.id} ${cal.id}`).toString('base64url')}`;
  ev.created = prev?.created ?? nowIso;
  ev.creator = prev?.creator ?? { email: cal.id, self: true };
  ev.organizer = ev.organizer ?? prev?.organizer ?? { email: cal.id, displayName: cal.summary, self: true };
  ev.iCalUID = prev?.iCalUID ?? ev.iCalUID ?? `${ev.id}@google.com`;
  ev.sequence = ev.sequence ?? prev?.sequence ?? 0;
  ev.reminders = ev.reminders ?? { useDefault: true };
  ev.eventType = ev.eventType ?? 'default';
}

function checkIfMatch(req: EmuRequest, current: EventJson): EmuResponse | undefined {
  const want = req.headers['if-match'];
  if (want === undefined || want === '*' || want === current.etag) return undefined;
  return googleError(412, 'conditionNotMet', 'Precondition Failed', { locationType: 'header', location: 'If-Match' });
}

function checkSequence(body: EventJson, prev: EventJson): EmuResponse | undefined {
  if (typeof body.sequence === 'number' && body.sequence < (prev.sequence ?? 0)) {
    return googleError(400, 'invalidSequenceValue', 'Invalid sequence value. The specified sequence number is below the current sequence number of the resource.');
  }
  return undefined;
}

// ---------- instances of recurring events ----------

const INSTANCE_ID_RE = /^(.+)_(\d{8}(?:T\d{6}Z)?)$/;

/** A virtual instance built from its master (what Google returns for unmodified instances). */
function instanceOf(master: EventJson, occ: Occurrence): EventJson {
  const { recurrence: _r, ...rest } = master;
  return { ...rest, id: `${master.id}_${occ.suffix}`, recurringEventId: master.id, originalStartTime: occ.start, start: occ.start, end: occ.end };
}

/** The stored exception or the virtual instance for an id like `master_20241114T080000Z`. */
function findInstance(cal: CalendarState, eventId: string): EventJson | undefined {
  const m = INSTANCE_ID_RE.exec(eventId);
  if (!m) return undefined;
  const master = cal.events.get(m[1])?.res;
  if (!master || !master.recurrence || master.status === 'cancelled') return undefined;
  const d = m[2];
  const iso = d.length === 8 ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}` : `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(9, 11)}:${d.slice(11, 13)}:${d.slice(13, 15)}Z`;
  const at = d.length === 8 ? googleTimeToUtc({ date: iso }, master.start.timeZone || cal.timeZone) : Date.parse(iso);
  const occ = expandSeries(master as never, cal.timeZone, at, at + 1, 5).find((o) => o.suffix === d);
  return occ ? instanceOf(master, occ) : undefined;
}

function lookup(cal: CalendarState, eventId: string): EventJson | undefined {
  return cal.events.get(eventId)?.res ?? findInstance(cal, eventId);
}

// ---------- write operations ----------

export function insertEvent(env: EventsEnv, cal: CalendarState, req: EmuRequest): EmuResponse {
  const body = parseBody(req);
  if (isResponse(body)) return body;
  const bad = checkSchema(body, false);
  if (bad) return bad;
  if (body.id !== undefined && body.id !== null) {
    if (typeof body.id !== 'string' || !ID_RE.test(body.id)) return badRequest('Invalid resource id value.');
    if (cal.events.has(body.id)) return googleError(409, 'duplicate', 'The requested identifier already exists.');
    if (body.iCalUID) return badRequest('Supply either id or iCalUID when creating an event, not both.');
  }
  const ev: EventJson = { ...body, id: body.id ?? newId() };
  delete ev.etag;
  delete ev.updated;
  const shapeErr = checkEventShape(ev, cal) ?? applyExtendedPropertyLimits(ev);
  if (shapeErr) return shapeErr;
  const nowIso = new Date(env.now()).toISOString();
  serverFields(cal, ev, nowIso);
  return json(env.store.write(cal, ev, env.now()));
}

/**
 * events.import is keyed by iCalUID: importing an iCalUID the calendar already holds updates that
 * event (a deleted one comes back). A supplied `id` follows insert's rules: it must be base32hex,
 * and an id that already names an event (live or deleted) other than the iCalUID's → 409.
 */
export function importEvent(env: EventsEnv, cal: CalendarState, req: EmuRequest): EmuResponse {
  const body = parseBody(req);
  if (isResponse(body)) return body;
  const bad = checkSchema(body, false);
  if (bad) return bad;
  if (!body.iCalUID) return required('iCalUID');
  const existing = [...cal.events.values()].find((s) => s.res.iCalUID === body.iCalUID && !s.res.recurringEventId)?.res;
  if (body.id !== undefined) {
    if (typeof body.id !== 'string' || !ID_RE.test(body.id)) return badRequest('Invalid resource id value.');
    const taken = existing ? body.id !== existing.id : cal.events.has(body.id);
    if (taken) return googleError(409, 'duplicate', 'The requested identifier already exists.');
  }
  const ev: EventJson = { ...body, id: existing?.id ?? body.id ?? newId() };
  delete ev.etag;
  delete ev.updated;
  if (existing && existing.status === 'cancelled' && ev.status === undefined) ev.status = 'confirmed';
  const shapeErr = checkEventShape(ev, cal) ?? applyExtendedPropertyLimits(ev);
  if (shapeErr) return shapeErr;
  serverFields(cal, ev, new Date(env.now()).toISOString(), existing ? { ...existing, iCalUID: body.iCalUID } : undefined);
  ev.iCalUID = body.iCalUID;
  return json(env.store.write(cal, ev, env.now()));
}

export function getEvent(env: EventsEnv, cal: CalendarState, eventId: string, req: EmuRequest): EmuResponse {
  const ev = lookup(cal, eventId);
  if (!ev) return notFound();
  if (req.headers['if-none-match'] && req.headers['if-none-match'] === ev.etag) return { status: 304 };
  return json(ev);
}

/** Deep merge for PATCH: objects merge, arrays and scalars replace, null deletes the key. */
function mergePatch(target: EventJson, patch: EventJson): EventJson {
  const out: EventJson = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (typeof v === 'object' && !Array.isArray(v) && typeof out[k] === 'object' && out[k] !== null && !Array.isArray(out[k])) out[k] = mergePatch(out[k], v);
    else out[k] = v;
  }
  return out;
}

export function patchEvent(env: EventsEnv, cal: CalendarState, eventId: string, req: EmuRequest, replace: boolean): EmuResponse {
  const prev = lookup(cal, eventId);
  if (!prev) return notFound();
  const body = parseBody(req);
  if (isResponse(body)) return body;
  const bad = checkSchema(body, !replace);
  if (bad) return bad;
  const pre = checkIfMatch(req, prev) ?? checkSequence(body, prev);
  if (pre) return pre;
  if (body.id !== undefined && body.id !== null && body.id !== prev.id) return badRequest('The event id cannot be changed.');
  const restoring = prev.status === 'cancelled' && !prev.recurringEventId && (replace ? body.status !== 'cancelled' : body.status !== undefined && body.status !== 'cancelled');
  if (restoring && env.restoreDeleted === 'forbidden') return googleError(403, 'forbidden', 'Forbidden');
  let ev: EventJson;
  if (replace) {
    // PUT replaces the resource: whatever the body omits (extendedProperties included) is gone.
    ev = { ...body, id: prev.id };
    if (prev.recurringEventId) {
      ev.recurringEventId = prev.recurringEventId;
      ev.originalStartTime = prev.originalStartTime;
    }
  } else {
    ev = mergePatch(prev, body);
  }
  delete ev.etag;
  delete ev.updated;
  if (!replace && body.status === undefined && prev.status === 'cancelled' && !prev.recurringEventId) ev.status = 'cancelled';
  const shapeErr = checkEventShape(ev, cal) ?? applyExtendedPropertyLimits(ev);
  if (shapeErr) return shapeErr;
  serverFields(cal, ev, new Date(env.now()).toISOString(), cal.events.has(prev.id) ? prev : { ...prev, created: undefined });
  return json(env.store.write(cal, ev, env.now()));
}

export function deleteEvent(env: EventsEnv, cal: CalendarState, eventId: string, req: EmuRequest): EmuResponse {
  const prev = lookup(cal, eventId);
  if (!prev) return notFound();
  if (prev.status === 'cancelled') return googleError(410, 'deleted', 'Resource has been deleted');
  const pre = checkIfMatch(req, prev);
  if (pre) return pre;
  env.store.write(cal, { ...prev, status: 'cancelled' }, env.now());
  // Deleting a series deletes its exceptions too.
  if (prev.recurrence) {
    for (const s of [...cal.events.values()]) {
      if (s.res.recurringEventId === prev.id && s.res.status !== 'cancelled') env.store.write(cal, { ...s.res, status: 'cancelled' }, env.now());
    }
  }
  return { status: 204 };
}

// ---------- reading many ----------

function parseTimeParam(req: EmuRequest, name: string): number | undefined | EmuResponse {
  const v = req.query.get(name);
  if (v === null) return undefined;
  // Google requires an RFC 3339 timestamp with a mandatory offset.
  if (!/[zZ]|[+-]\d{2}:\d{2}$/.test(v)) return badRequest(`Bad Request: ${name} must be an RFC 3339 timestamp with a time zone offset.`, name);
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? badRequest(`Bad Request: invalid ${name}`, name) : ms;
}

function extendedFilters(req: EmuRequest): ((ev: EventJson) => boolean) | EmuResponse {
  const checks: { scope: 'private' | 'shared'; key: string; value: string }[] = [];
  for (const [param, scope] of [['privateExtendedProperty', 'private'], ['sharedExtendedProperty', 'shared']] as const) {
    for (const c of req.query.getAll(param)) {
      const eq = c.indexOf('=');
      if (eq <= 0) return badRequest(`Invalid ${param} value "${c}": expected propertyName=value.`, param);
      checks.push({ scope, key: c.slice(0, eq), value: c.slice(eq + 1) });
    }
  }
  return (ev) => checks.every((c) => ev.extendedProperties?.[c.scope]?.[c.key] === c.value);
}

interface PageState {
  /** Offset into the result list. */
  o: number;
  /** Page number (for the page shaper). */
  p: number;
  /** Calendar change counter when the listing began (becomes the nextSyncToken). */
  s: number;
}

function encodeToken(x: object): string {
  return Buffer.from(JSON.stringify(x)).toString('base64url');
}
function decodeToken<T>(t: string): T | undefined {
  try {
    return JSON.parse(Buffer.from(t, 'base64url').toString('utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Minimal shape of a deleted event in incremental results (only id is guaranteed). */
function tombstone(ev: EventJson): EventJson {
  const t: EventJson = { kind: 'calendar#event', etag: ev.etag, id: ev.id, status: 'cancelled' };
  if (ev.recurringEventId) {
    t.recurringEventId = ev.recurringEventId;
    t.originalStartTime = ev.originalStartTime;
  }
  return t;
}

function page(env: EventsEnv, req: EmuRequest, cal: CalendarState, items: EventJson[], startSeq: number, extra: EventJson): EmuResponse {
  const max = req.query.get('maxResults');
  let size = DEFAULT_PAGE;
  if (max !== null) {
    size = Number(max);
    if (!Number.isInteger(size) || size < 1) return badRequest('Invalid value for maxResults', 'maxResults');
    size = Math.min(size, MAX_PAGE);
  }
  let state: PageState = { o: 0, p: 0, s: startSeq };
  const pt = req.query.get('pageToken');
  if (pt) {
    const d = decodeToken<PageState>(pt);
    if (!d || typeof d.o !== 'number') return badRequest('Invalid page token value.', 'pageToken');
    state = d;
  }
  const take = env.pageShaper ? Math.max(0, Math.min(size, Math.floor(env.pageShaper(size, state.p)))) : size;
  const slice = items.slice(state.o, state.o + take);
  const nextOffset = state.o + take;
  const body: EventJson = {
    kind: 'calendar#events', etag: `"p${cal.seq}"`, summary: cal.summary, description: '', updated: new Date(env.now()).toISOString(),
    timeZone: cal.timeZone, accessRole: 'owner', defaultReminders: [], ...extra, items: slice,
  };
  if (nextOffset < items.length) body.nextPageToken = encodeToken({ o: nextOffset, p: state.p + 1, s: state.s });
  else body.nextSyncToken = encodeToken({ c: cal.id, s: state.s, e: cal.epoch });
  return json(body);
}

function startOf(ev: EventJson, cal: CalendarState): number {
  return ev.start ? googleTimeToUtc(ev.start, cal.timeZone) : Number.NEGATIVE_INFINITY;
}

/**
 * Events (or instances) of `cal` for list/instances. `masterFilter` limits to one series.
 */
function collect(env: EventsEnv, cal: CalendarState, opts: { single: boolean; showDeleted: boolean; from: number; to: number; seriesOnly?: string; changedAfter?: number }): EventJson[] {
  const out: EventJson[] = [];
  const exceptions = new Map<string, EventJson>();
  for (const s of cal.events.values()) if (s.res.recurringEventId) exceptions.set(s.res.id, s.res);
  const horizon = Math.min(opts.to, env.now() + OPEN_SERIES_HORIZON_MS);
  const inWindow = (ev: EventJson) => {
    if (!ev.start || !ev.end) return true;
    const s = googleTimeToUtc(ev.start, cal.timeZone);
    const e = googleTimeToUtc(ev.end, cal.timeZone);
    return s < opts.to && Math.max(e, s + 1) > opts.from;
  };
  for (const stored of cal.events.values()) {
    const ev = stored.res;
    if (opts.changedAfter !== undefined && stored.seq <= opts.changedAfter) {
      continue;
    }
    if (opts.seriesOnly && ev.id !== opts.seriesOnly && ev.recurringEventId !== opts.seriesOnly) continue;
    const cancelled = ev.status === 'cancelled';
    const incremental = opts.changedAfter !== undefined;
    if (ev.recurringEventId) {
      // Exceptions: inline with instances when expanding; separate items otherwise.
      const master = cal.events.get(ev.recurringEventId)?.res;
      if (opts.single && !incremental) continue; // emitted in place below
      if (cancelled && !opts.showDeleted && !incremental && (opts.single || master?.status === 'cancelled')) continue;
      if (!cancelled && !inWindow(ev) && !incremental) continue;
      out.push(cancelled && incremental ? tombstone(ev) : ev);
      continue;
    }
    if (cancelled) {
      if (incremental || opts.showDeleted) out.push(incremental ? tombstone(ev) : ev);
      continue;
    }
    if (!ev.recurrence) {
      if (incremental || inWindow(ev)) out.push(ev);
      continue;
    }
    if (!opts.single) {
      if (incremental || expandSeries(ev as never, cal.timeZone, opts.from, horizon, 1).length > 0) out.push(ev);
      continue;
    }
    const seen = new Set<string>();
    for (const occ of expandSeries(ev as never, cal.timeZone, opts.from, horizon)) {
      const id = `${ev.id}_${occ.suffix}`;
      seen.add(id);
      const exc = exceptions.get(id);
      if (exc) {
        if (exc.status === 'cancelled' ? opts.showDeleted || incremental : inWindow(exc)) out.push(exc.status === 'cancelled' && incremental ? tombstone(exc) : exc);
      } else {
        out.push(instanceOf(ev, occ));
      }
    }
    // Expansion walks original slots from the window on; an exception moved into the window from
    // a slot outside it (earlier, or past the horizon) is found by its actual start instead.
    for (const exc of exceptions.values()) {
      if (exc.recurringEventId !== ev.id || seen.has(exc.id) || exc.status === 'cancelled') continue;
      if (!incremental && inWindow(exc) && isSlotOf(ev, exc, cal)) out.push(exc);
    }
  }
  // An incremental listing meets a changed exception twice when its series changed too (once
  // expanded in place, once as a change of its own): keep the first.
  if (opts.changedAfter === undefined) return out;
  const ids = new Set<string>();
  return out.filter((e) => !ids.has(e.id) && !!ids.add(e.id));
}

/** True when the exception's original start is still an occurrence of the series. */
function isSlotOf(master: EventJson, exc: EventJson, cal: CalendarState): boolean {
  if (!exc.originalStartTime) return false;
  const at = googleTimeToUtc(exc.originalStartTime, master.start?.timeZone || cal.timeZone);
  return expandSeries(master as never, cal.timeZone, at, at + 1, 5).some((o) => `${master.id}_${o.suffix}` === exc.id);
}

export function listEvents(env: EventsEnv, cal: CalendarState, req: EmuRequest): EmuResponse {
  const q = req.query;
  const single = q.get('singleEvents') === 'true';
  const syncToken = q.get('syncToken');
  if (syncToken) {
    for (const p of SYNC_FORBIDDEN) if (q.has(p)) return badRequest(`The parameter ${p} cannot be used together with syncToken.`, p);
    const t = decodeToken<{ c: string; s: number; e: number }>(syncToken);
    if (!t || typeof t.s !== 'number') return badRequest('Invalid sync token value.', 'syncToken');
    if (t.c !== cal.id || t.e !== cal.epoch) return googleError(410, 'fullSyncRequired', 'Sync token is no longer valid, a full sync is required.', { domain: 'calendar' });
    const pt = q.get('pageToken') ? decodeToken<PageState>(q.get('pageToken')!) : undefined;
    const items = collect(env, cal, { single, showDeleted: true, from: Number.NEGATIVE_INFINITY, to: Number.POSITIVE_INFINITY, changedAfter: t.s });
    return page(env, req, cal, items, pt?.s ?? cal.seq, {});
  }
  const timeMin = parseTimeParam(req, 'timeMin');
  const timeMax = parseTimeParam(req, 'timeMax');
  const updatedMin = parseTimeParam(req, 'updatedMin');
  for (const x of [timeMin, timeMax, updatedMin]) if (isResponse(x)) return x;
  const from = (timeMin as number | undefined) ?? Number.NEGATIVE_INFINITY;
  const to = (timeMax as number | undefined) ?? Number.POSITIVE_INFINITY;
  if (from >= to && timeMin !== undefined && timeMax !== undefined) return badRequest('The specified time range is empty.', 'timeMax');
  const orderBy = q.get('orderBy');
  if (orderBy !== null && orderBy !== 'startTime' && orderBy !== 'updated') return badRequest(`Invalid value for orderBy: ${orderBy}`, 'orderBy');
  if (orderBy === 'startTime' && !single) return badRequest('The requested ordering is not available for the particular query.', 'orderBy');
  const filter = extendedFilters(req);
  if (isResponse(filter)) return filter;
  // updatedMin lists deleted events too (like an incremental sync).
  const showDeleted = q.get('showDeleted') === 'true' || updatedMin !== undefined;
  const pt = q.get('pageToken') ? decodeToken<PageState>(q.get('pageToken')!) : undefined;
  let items = collect(env, cal, { single, showDeleted, from, to }).filter(filter);
  if (updatedMin !== undefined) items = items.filter((e) => Date.parse(e.updated) >= (updatedMin as number));
  const iCalUID = q.get('iCalUID');
  if (iCalUID) items = items.filter((e) => e.iCalUID === iCalUID);
  const text = q.get('q')?.toLowerCase();
  if (text) items = items.filter((e) => [e.summary, e.description, e.location].some((f) => typeof f === 'string' && f.toLowerCase().includes(text)));
  if (orderBy === 'startTime') items.sort((a, b) => startOf(a, cal) - startOf(b, cal) || String(a.id).localeCompare(String(b.id)));
  if (orderBy === 'updated') items.sort((a, b) => Date.parse(a.updated) - Date.parse(b.updated));
  return page(env, req, cal, items, pt?.s ?? cal.seq, {});
}

export function listInstances(env: EventsEnv, cal: CalendarState, eventId: string, req: EmuRequest): EmuResponse {
  const master = cal.events.get(eventId)?.res;
  if (!master) return notFound();
  if (master.status === 'cancelled') return googleError(410, 'deleted', 'Resource has been deleted');
  const timeMin = parseTimeParam(req, 'timeMin');
  const timeMax = parseTimeParam(req, 'timeMax');
  for (const x of [timeMin, timeMax]) if (isResponse(x)) return x;
  const items = master.recurrence
    ? collect(env, cal, { single: true, showDeleted: req.query.get('showDeleted') === 'true', from: (timeMin as number | undefined) ?? Number.NEGATIVE_INFINITY, to: (timeMax as number | undefined) ?? Number.POSITIVE_INFINITY, seriesOnly: eventId })
    : [master];
  const pt = req.query.get('pageToken') ? decodeToken<PageState>(req.query.get('pageToken')!) : undefined;
  return page(env, req, cal, items, pt?.s ?? cal.seq, {});
}

/** For admin seeding: stores a full event as the calendar's owner would have created it. */
export function seedEvent(env: EventsEnv, cal: CalendarState, body: EventJson): EventJson {
  const res = insertEvent(env, cal, { method: 'POST', path: '', query: new URLSearchParams(), headers: {}, body: Buffer.from(JSON.stringify(body)) });
  if (res.status !== 200) throw new Error(`seedEvent(${cal.id}): ${JSON.stringify(res.body)}`);
  return res.body as EventJson;
}
