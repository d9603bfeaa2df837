/**
 * Event handlers: create (with transactionId de-duplication), get, patch, delete, list (with the
 * extended-property filter), calendarView and calendarView/delta.
 */
import { randomBytes } from 'node:crypto';
import { formatUtc } from '../../core/time';
import type { EmuRequest, EmuResponse } from '../types';
import { GraphHttpError, notFound } from './errors';
import {
  findInstance, graphTimeToUtc, masterInstance, parseWindowBound, renderInstance, seriesOf, viewInstances,
  type GraphDateTime, type Instance, type OutputZone, type RenderOptions,
} from './instances';
import { matchesFilter, MAX_TOP, parsePrefer, parseQuery, sameExtPropId, type QueryOptions } from './odata';
import { validateRecurrence, type PatternedRecurrence } from './recurrence';
import {
  newChangeKey, newICalUId, newItemId, type DeltaState, type ExtendedProperty, type GraphStore, type Json, type Mailbox, type StoredEvent,
} from './store';
import { validateEventBody } from './validate';
import { requireZone } from './zones';

export const DEFAULT_PAGE = 10;

/** Everything a handler needs about one request. */
export interface GraphCall {
  req: EmuRequest;
  now: number;
  baseUrl: string;
  store: GraphStore;
  mb: Mailbox;
  /** Set when the URL names a calendar (/calendar or /calendars/{id}). */
  calendarId?: string;
  /** The path prefix up to and including the calendar part, for next/delta links. */
  collectionPath: string;
  /** Page sizes of list/calendarView/delta (undefined: full pages). */
  pageShaper?: PageShaper;
}

/** Decides how many items a page holds: (requested size, page number from 0) → size (0 = empty
 * page that still carries its nextLink). Real Graph sometimes answers short pages. */
export type PageShaper = (requested: number, page: number) => number;

function shapedTake(call: GraphCall, size: number, page: number): number {
  return call.pageShaper ? Math.max(0, Math.min(size, Math.floor(call.pageShaper(size, page)))) : size;
}

function outputZone(req: EmuRequest): { zone: OutputZone; applied?: string } {
  const name = parsePrefer(req.headers['prefer']).get('outlook.timezone');
  if (!name) return { zone: { name: 'UTC', iana: 'UTC' } };
  return { zone: { name, iana: requireZone(name) }, applied: `outlook.timezone="${name}"` };
}

function pageSize(req: EmuRequest, q: QueryOptions): number {
  const max = Number(parsePrefer(req.headers['prefer']).get('odata.maxpagesize'));
  return q.top ?? (Number.isInteger(max) && max > 0 ? Math.min(max, 1000) : DEFAULT_PAGE);
}

function ok(status: number, body: unknown, applied?: string): EmuResponse {
  const headers: Record<string, string> = { 'content-type': 'application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8' };
  if (applied) headers['preference-applied'] = applied;
  return { status, headers, body };
}

function parseJsonBody(req: EmuRequest): Json {
  const text = req.body.toString('utf8').trim();
  if (!text) throw new GraphHttpError(400, 'BadRequest', 'Empty Payload. JSON content expected.');
  const ct = req.headers['content-type'] ?? '';
  if (!/application\/json/i.test(ct)) throw new GraphHttpError(415, 'UnsupportedMediaType', `Content-Type '${ct}' is not supported; send application/json.`);
  try {
    const v = JSON.parse(text);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as Json;
  } catch (e) {
    throw new GraphHttpError(400, 'BadRequest', `Unable to read JSON request payload: ${(e as Error).message}`);
  }
}

/** Checks times, all-day shape and recurrence of the effective fields; throws 400. */
function checkSemantics(fields: Json): void {
  if (!fields.start || !fields.end) throw new GraphHttpError(400, 'ErrorInvalidRequest', 'An event needs both start and end (the emulator requires them on create).');
  const s = graphTimeToUtc(fields.start as GraphDateTime, 'start');
  const e = graphTimeToUtc(fields.end as GraphDateTime, 'end');
  if (e < s) throw new GraphHttpError(400, 'ErrorInvalidRequest', 'The end of an event must not be before its start.');
  if (fields.isAllDay === true) {
    const midnight = (t: GraphDateTime) => /T00:00(:00(\.0+)?)?$/.test(t.dateTime);
    if (!midnight(fields.start as GraphDateTime) || !midnight(fields.end as GraphDateTime) || e === s) {
      throw new GraphHttpError(400, 'ErrorPropertyValidationFailure', 'An all-day event must start and end at midnight and last at least a day.');
    }
  }
  if (fields.recurrence) validateRecurrence(fields.recurrence as PatternedRecurrence);
}

function takeExtendedProperties(body: Json): ExtendedProperty[] | undefined {
  const raw = body.singleValueExtendedProperties as { id: string; value: string }[] | undefined | null;
  delete body.singleValueExtendedProperties;
  if (raw == null) return undefined;
  raw.forEach((p, i) => {
    if (!/^(String|Integer|Boolean|SystemTime|Binary|Double|Long|Short|Float|Currency|CLSID) (\{[0-9a-f-]{36}\} (Name .+|Id 0x[0-9a-f]+)|0x[0-9a-f]{1,4})$/i.test(p.id)) {
      throw new GraphHttpError(400, 'ErrorInvalidExtendedPropertyValue', `singleValueExtendedProperties[${i}].id: "${p.id}" is not like "String {GUID} Name X"`);
    }
  });
  return raw.map((p) => ({ id: p.id, value: p.value }));
}

function mergeExtendedProperties(into: ExtendedProperty[], add: ExtendedProperty[]): ExtendedProperty[] {
  const out = into.filter((p) => !add.some((q) => sameExtPropId(p.id, q.id)));
  return [...out, ...add];
}

function renderOpts(call: GraphCall, q: QueryOptions, zone: OutputZone): RenderOptions {
  return { zone, expand: q.expandExtProps, select: q.select, mailbox: call.mb, baseUrl: call.baseUrl };
}

function calendarOf(call: GraphCall): string {
  return call.calendarId ?? call.mb.defaultCalendarId;
}

// ---- create / get / patch / delete ----

export function createEvent(call: GraphCall): EmuResponse {
  const body = parseJsonBody(call.req);
  validateEventBody(body, 'create');
  const { zone, applied } = outputZone(call.req);
  const txn = typeof body.transactionId === 'string' ? body.transactionId : undefined;
  if (txn) {
    const existing = call.mb.events.get(call.mb.transactions.get(txn) ?? '');
    // A retried POST with the same transactionId returns the event the first one created.
    if (existing) return ok(201, renderInstance(masterInstance(existing), renderOpts(call, {}, zone)), applied);
  }
  const ext = takeExtendedProperties(body) ?? [];
  checkSemantics(body);
  const ev: StoredEvent = {
    id: newItemId(), calendarId: calendarOf(call), fields: body, extendedProperties: ext, iCalUId: newICalUId(),
    changeKey: newChangeKey(), createdMs: call.now, modifiedMs: call.now, exceptions: new Map(), cancelled: new Set(),
  };
  call.mb.events.set(ev.id, ev);
  if (txn) call.mb.transactions.set(txn, ev.id);
  return ok(201, renderInstance(masterInstance(ev), renderOpts(call, {}, zone)), applied);
}

function mustFind(call: GraphCall, id: string): Instance {
  const i = findInstance(call.mb, id, call.calendarId);
  if (!i) throw notFound();
  return i;
}

export function getEvent(call: GraphCall, id: string): EmuResponse {
  const q = parseQuery(call.req.query, ['$select', '$expand']);
  const { zone, applied } = outputZone(call.req);
  return ok(200, renderInstance(mustFind(call, id), renderOpts(call, q, zone)), applied);
}

export function patchEvent(call: GraphCall, id: string): EmuResponse {
  const inst = mustFind(call, id);
  const body = parseJsonBody(call.req);
  validateEventBody(body, 'patch');
  const { zone, applied } = outputZone(call.req);
  const ext = takeExtendedProperties(body);
  const ev = inst.event;
  if (inst.type === 'occurrence' || inst.type === 'exception') {
    if ('recurrence' in body) throw new GraphHttpError(400, 'ErrorInvalidRequest', 'recurrence cannot be set on an occurrence of a series.');
    // Patching an occurrence turns it into an exception carrying its own overrides.
    const prev = ev.exceptions.get(inst.originalStart!);
    const fields: Json = { ...(prev?.fields ?? {}), ...body };
    if (ext) fields.singleValueExtendedProperties = mergeExtendedProperties((prev?.fields.singleValueExtendedProperties as ExtendedProperty[]) ?? [], ext);
    // An occurrence inherits the series' times; pin them so a later series edit does not move it.
    if (!fields.start) fields.start = { dateTime: formatUtc(inst.startMs).slice(0, 19), timeZone: 'UTC' };
    if (!fields.end) fields.end = { dateTime: formatUtc(inst.endMs).slice(0, 19), timeZone: 'UTC' };
    checkSemantics({ ...ev.fields, recurrence: null, ...fields });
    ev.exceptions.set(inst.originalStart!, { fields, changeKey: newChangeKey(), modifiedMs: call.now });
  } else {
    const next: Json = { ...ev.fields, ...body };
    for (const [k, v] of Object.entries(body)) if (v === null && k !== 'recurrence') delete next[k];
    checkSemantics(next);
    const wasSeries = !!seriesOf(ev);
    const recurrenceChanged = 'recurrence' in body && JSON.stringify(body.recurrence) !== JSON.stringify(ev.fields.recurrence);
    ev.fields = next;
    if (!next.recurrence) delete ev.fields.recurrence;
    // Outlook drops a series' exceptions when its pattern changes.
    if (wasSeries && recurrenceChanged) {
      ev.exceptions.clear();
      ev.cancelled.clear();
    }
    if (ext) ev.extendedProperties = mergeExtendedProperties(ev.extendedProperties, ext);
    ev.changeKey = newChangeKey();
    ev.modifiedMs = call.now;
  }
  const updated = mustFind(call, id);
  return ok(200, renderInstance(updated, renderOpts(call, {}, zone)), applied);
}

export function deleteEvent(call: GraphCall, id: string): EmuResponse {
  const inst = mustFind(call, id);
  if (inst.originalStart) {
    inst.event.cancelled.add(inst.originalStart);
    inst.event.exceptions.delete(inst.originalStart);
  } else {
    call.mb.events.delete(inst.event.id);
    for (const [t, eid] of call.mb.transactions) if (eid === inst.event.id) call.mb.transactions.delete(t);
  }
  return { status: 204 };
}

// ---- collections ----

function link(call: GraphCall, suffix: string, params: Record<string, string>): string {
  const qs = new URLSearchParams(params).toString();
  return `${call.baseUrl}/v1.0${call.collectionPath}${suffix}${qs ? '?' + qs : ''}`;
}

function odataContext(call: GraphCall): string {
  return `${call.baseUrl}/v1.0/$metadata#users('${encodeURIComponent(call.mb.upn)}')/events`;
}

function eventsOfCalendar(call: GraphCall): StoredEvent[] {
  const cal = calendarOf(call);
  return [...call.mb.events.values()].filter((e) => e.calendarId === cal);
}

/** GET …/events: single instances and series masters, optional ext-prop filter, $skip paging. */
export function listEvents(call: GraphCall): EmuResponse {
  const q = parseQuery(call.req.query, ['$select', '$expand', '$filter', '$top', '$skip', '$orderby', '$skiptoken']);
  const { zone, applied } = outputZone(call.req);
  let items = eventsOfCalendar(call).map(masterInstance);
  if (q.filter) {
    const f = q.filter;
    items = items.filter((i) => {
      const range = i.type === 'seriesMaster' ? (i.event.fields as { recurrence?: { range?: { type?: string; endDate?: string } } }).recurrence?.range : undefined;
      return matchesFilter(f, { type: i.type, startMs: i.startMs, endMs: i.endMs, extendedProperties: i.event.extendedProperties, ...(range ? { range } : {}) });
    });
  }
  if (q.orderByStart) items.sort((a, b) => (a.startMs - b.startMs) * (q.orderByStart === 'desc' ? -1 : 1));
  else items.sort((a, b) => a.event.createdMs - b.event.createdMs || a.id.localeCompare(b.id));
  const size = pageSize(call.req, q);
  // Full pages link with $skip; shaped (short) pages with a $skiptoken that counts pages.
  const at = q.skiptoken ? decodeToken<{ o: number; p: number }>(q.skiptoken, '$skiptoken') : { o: q.skip ?? 0, p: 0 };
  const skip = at.o;
  const take = shapedTake(call, size, at.p);
  const page = items.slice(skip, skip + take);
  const body: Json = { '@odata.context': odataContext(call), value: page.map((i) => renderInstance(i, renderOpts(call, q, zone))) };
  if (skip + take < items.length) {
    const params = Object.fromEntries(call.req.query);
    if (call.pageShaper) {
      delete params['$skip'];
      params['$skiptoken'] = encodeToken({ o: skip + take, p: at.p + 1 });
    } else {
      params['$skip'] = String(skip + take);
    }
    if (!params['$top']) params['$top'] = String(size);
    body['@odata.nextLink'] = link(call, '/events', params);
  }
  return ok(200, body, applied);
}

function requireWindow(query: URLSearchParams): { from: number; to: number } {
  const get = (n: string) => [...query].find(([k]) => k.toLowerCase() === n.toLowerCase())?.[1];
  const s = get('startDateTime');
  const e = get('endDateTime');
  if (!s || !e) {
    throw new GraphHttpError(400, 'ErrorInvalidParameter', 'This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.');
  }
  return { from: parseWindowBound(s, 'StartDateTime'), to: parseWindowBound(e, 'EndDateTime') };
}

function encodeToken(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}
function decodeToken<T>(t: string, what: string): T {
  try {
    return JSON.parse(Buffer.from(t, 'base64url').toString('utf8')) as T;
  } catch {
    throw new GraphHttpError(400, 'BadRequest', `The ${what} is malformed.`);
  }
}

/** GET …/calendarView: instances in the window, paged by $skiptoken. */
export function calendarView(call: GraphCall): EmuResponse {
  const q = parseQuery(call.req.query, ['$select', '$expand', '$top', '$skiptoken', '$orderby', '$filter'], ['startDateTime', 'endDateTime']);
  if (q.filter) throw new GraphHttpError(400, 'BadRequest', 'The emulator supports $filter on calendarView only via /events; filter client-side.');
  const { from, to } = requireWindow(call.req.query);
  const { zone, applied } = outputZone(call.req);
  const items = viewInstances(eventsOfCalendar(call), from, to);
  if (q.orderByStart === 'desc') items.reverse();
  const size = pageSize(call.req, q);
  const at = q.skiptoken ? decodeToken<{ o: number; p?: number }>(q.skiptoken, '$skiptoken') : { o: 0, p: 0 };
  const offset = at.o;
  const take = shapedTake(call, size, at.p ?? 0);
  const page = items.slice(offset, offset + take);
  const body: Json = { '@odata.context': odataContext(call), value: page.map((i) => renderInstance(i, renderOpts(call, q, zone))) };
  if (offset + take < items.length) {
    const params = Object.fromEntries(call.req.query);
    params['$skiptoken'] = encodeToken({ o: offset + take, p: (at.p ?? 0) + 1 });
    body['@odata.nextLink'] = link(call, '/calendarView', params);
  }
  return ok(200, body, applied);
}

/**
 * GET …/events/{id}/instances?startDateTime=&endDateTime=: the occurrences and exceptions of one
 * series overlapping the window, by start, paged like calendarView. A deleted occurrence is simply
 * absent (Graph v1.0 has no cancelledOccurrences): the emulator's own recurrence expansion
 * (recurrence.ts occurrenceDates), not the client's, decides which occurrences there are.
 */
export function listSeriesInstances(call: GraphCall, id: string): EmuResponse {
  const q = parseQuery(call.req.query, ['$select', '$expand', '$top', '$skiptoken'], ['startDateTime', 'endDateTime']);
  const { from, to } = requireWindow(call.req.query);
  const master = mustFind(call, id);
  if (master.type !== 'seriesMaster') {
    throw new GraphHttpError(400, 'ErrorInvalidRequest', 'The instances of an event can only be read from the master of a recurring series.');
  }
  const { zone, applied } = outputZone(call.req);
  const items = viewInstances([master.event], from, to);
  const size = pageSize(call.req, q);
  const at = q.skiptoken ? decodeToken<{ o: number; p?: number }>(q.skiptoken, '$skiptoken') : { o: 0, p: 0 };
  const take = shapedTake(call, size, at.p ?? 0);
  const page = items.slice(at.o, at.o + take);
  const body: Json = { '@odata.context': odataContext(call), value: page.map((i) => renderInstance(i, renderOpts(call, q, zone))) };
  if (at.o + take < items.length) {
    const params = Object.fromEntries(call.req.query);
    params['$skiptoken'] = encodeToken({ o: at.o + take, p: (at.p ?? 0) + 1 });
    body['@odata.nextLink'] = link(call, `/events/${encodeURIComponent(id)}/instances`, params);
  }
  return ok(200, body, applied);
}

// ---- delta ----

export const SYNC_STATE_GONE = (): GraphHttpError =>
  new GraphHttpError(410, 'SyncStateNotFound', 'The sync state generation is not found. The delta token is expired and data must be synchronized again.');

/**
 * GET …/calendarView/delta. A round (initial or incremental) is computed once and served in
 * pages via $skiptoken; its last page carries a deltaLink whose token remembers which instance
 * versions the client has seen. A deltaLink can be replayed: it always answers relative to the
 * state it was issued for.
 */
export function calendarViewDelta(call: GraphCall): EmuResponse {
  for (const [k] of call.req.query) {
    if (/^\$(top|select)$/i.test(k)) {
      throw new GraphHttpError(400, 'BadRequest', `calendarView/delta does not support ${k}; set the page size with the header Prefer: odata.maxpagesize=N.`);
    }
  }
  const q = parseQuery(call.req.query, ['$skiptoken', '$deltatoken'], ['startDateTime', 'endDateTime']);
  const { zone, applied } = outputZone(call.req);
  const all = call.store.deltaRounds;
  const calendarId = calendarOf(call);
  // A state belongs to one mailbox and calendar; anywhere else it is not found (410).
  const usable = (st: DeltaState | undefined): st is DeltaState => !!st && !st.expired && st.mailboxId === call.mb.id && st.calendarId === calendarId;
  let roundId = q.skiptoken;
  let offset = 0;
  let pageNo = 0;
  if (roundId) {
    const parsed = decodeToken<{ r: string; o: number; p?: number }>(roundId, '$skiptoken');
    roundId = parsed.r;
    offset = parsed.o;
    pageNo = parsed.p ?? 0;
    const round = all.get(roundId);
    if (!round || !usable(call.store.deltaStates.get(round.stateToken))) throw SYNC_STATE_GONE();
  } else {
    let base: { startMs: number; endMs: number; known: Map<string, string> };
    if (q.deltatoken) {
      const st = call.store.deltaStates.get(q.deltatoken);
      if (!usable(st)) throw SYNC_STATE_GONE();
      base = { startMs: st.startMs, endMs: st.endMs, known: st.known };
    } else {
      const w = requireWindow(call.req.query);
      base = { startMs: w.from, endMs: w.to, known: new Map() };
    }
    const current = viewInstances(eventsOfCalendar(call), base.startMs, base.endMs);
    const opts = renderOpts(call, q, zone);
    const items: Json[] = [];
    const known = new Map<string, string>();
    for (const i of current) {
      known.set(i.id, i.changeKey);
      if (base.known.get(i.id) !== i.changeKey) items.push(renderInstance(i, opts));
    }
    for (const id of base.known.keys()) {
      if (!known.has(id)) items.push({ '@odata.type': '#microsoft.graph.event', id, '@removed': { reason: 'deleted' } });
    }
    const stateToken = randomBytes(18).toString('base64url');
    roundId = randomBytes(12).toString('base64url');
    call.store.addDeltaState(stateToken, { mailboxId: call.mb.id, calendarId, startMs: base.startMs, endMs: base.endMs, known, expired: false, roundId }, { stateToken, items });
  }
  const round = all.get(roundId)!;
  const max = Number(parsePrefer(call.req.headers['prefer']).get('odata.maxpagesize'));
  const size = Number.isInteger(max) && max > 0 ? Math.min(max, MAX_TOP) : DEFAULT_PAGE;
  const take = shapedTake(call, size, pageNo);
  const page = round.items.slice(offset, offset + take);
  const body: Json = { '@odata.context': `${call.baseUrl}/v1.0/$metadata#Collection(event)`, value: page };
  if (offset + take < round.items.length) {
    body['@odata.nextLink'] = link(call, '/calendarView/delta', { $skiptoken: encodeToken({ r: roundId, o: offset + take, p: pageNo + 1 }) });
  } else {
    body['@odata.deltaLink'] = link(call, '/calendarView/delta', { $deltatoken: round.stateToken });
  }
  const res = ok(200, body, applied);
  if (size !== DEFAULT_PAGE || Number.isInteger(max)) {
    const pref = `odata.maxpagesize=${size}`;
    res.headers!['preference-applied'] = res.headers!['preference-applied'] ? `${res.headers!['preference-applied']}, ${pref}` : pref;
  }
  return res;
}

/** Admin: every delta/skip token of the mailbox answers 410 from now on. */
export function expireDeltaStates(store: GraphStore, mb: Mailbox): number {
  let n = 0;
  for (const st of store.deltaStates.values()) {
    if (st.mailboxId === mb.id && !st.expired) {
      st.expired = true;
      n++;
    }
  }
  return n;
}

