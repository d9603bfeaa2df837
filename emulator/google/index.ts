/**
 * Google Calendar v3 emulator module: routes `/calendar/v3/...`, the batch endpoint, the OAuth
 * token endpoint at `/token` and Admin Directory room resources, with admin hooks for tests.
 */
import type { ApiModule, EmuContext, EmuRequest, EmuResponse, FaultDecision, RequestScope } from '../types';
import { bearerIsValid, handleToken, mintToken } from './auth';
import { handleBatch } from './batch';
import { badRequest, googleError, googleFaultResponse, notFound, unauthorized } from './errors';
import { deleteEvent, getEvent, importEvent, insertEvent, listEvents, listInstances, patchEvent, seedEvent, type EventsEnv, type PageShaper } from './events';
import { GoogleStore, type EventJson, type Room } from './store';
import { seededRandom } from '../prng';

export type { PageShaper } from './events';
export type { Room } from './store';

export interface GoogleAdmin {
  /** Creates (or keeps) a calendar; ids are case-insensitive. Default time zone UTC. */
  createCalendar(id: string, opts?: { summary?: string; timeZone?: string }): void;
  /** Stores an event as the calendar's owner made it (people's own events); returns the resource. */
  seedEvent(calendarId: string, event: EventJson): EventJson;
  /**
   * A person duplicates an event in the calendar UI: a new event (new id, new iCalUID) with the
   * same content and extended properties (as Google copies them). Returns the copy.
   */
  copyEvent(calendarId: string, eventId: string): EventJson;
  /** A person edits an event (or one instance, `{masterId}_{time}`) in the calendar UI: a PATCH of `changes`. Returns the result. */
  editEvent(calendarId: string, eventId: string, changes: EventJson): EventJson;
  /** A person deletes an event, or one occurrence of a series (`{masterId}_{time}`), in the calendar UI. */
  deleteEvent(calendarId: string, eventId: string): void;
  /** Changes a calendar's own time zone (what `GET calendars/{id}` answers; floating times are read in it). */
  setCalendarTimeZone(calendarId: string, timeZone: string): void;
  /** Every stored event of a calendar, deleted ones (status "cancelled") and exceptions included. */
  listRaw(calendarId: string): EventJson[];
  /** Invalidates every sync token issued so far for the calendar (next incremental list → 410). */
  expireSyncTokens(calendarId: string): void;
  /** Registers a service account; with a public key, JWT signatures are verified. */
  registerServiceAccount(email: string, publicKeyPem?: string): void;
  /** A refresh token; with `user`, the access tokens it yields act for that user (`primary`,
   * per-user quota). */
  registerRefreshToken(token: string, opts?: { user?: string }): void;
  /** Mints a valid access token directly (static bearer for raw-HTTP tests). */
  issueAccessToken(opts?: { subject?: string; lifetimeSeconds?: number }): string;
  /** Revokes every issued access token (next call → 401, clients must refresh). */
  expireAccessTokens(): void;
  /** Adds a room resource (Admin Directory) and creates its calendar. Returns the stored room. */
  addRoom(room: { resourceId?: string; resourceName: string; resourceEmail?: string; capacity?: number; buildingId?: string; floorName?: string; resourceDescription?: string }): Room;
  /** Decides page sizes of list/instances (undefined: full pages). See `randomShortPages`. */
  setPageShaper(shaper: PageShaper | undefined): void;
  /** Seeded random page sizes between 0 and the requested size, so clients must follow tokens. */
  randomShortPages(seed?: number): void;
  /** Require `Authorization: Bearer <token from /token>` on API calls (default true). */
  requireAuth: boolean;
  /** Unknown calendar ids are created on first use instead of answering 404 (default false). */
  autoCreateCalendars: boolean;
  /**
   * What an update (PUT/PATCH) of a deleted (cancelled) event does: 'allow' (default) restores it,
   * as widely reported for Google; 'forbidden' answers 403 `forbidden`, as reported for events
   * deleted by another user. Either way a re-insert of the id answers 409 duplicate.
   */
  restoreDeleted: 'allow' | 'forbidden';
}

const CAL_RE = /^\/calendar\/v3\/calendars\/([^/]+)(?:\/events(?:\/([^/]+)(?:\/(instances))?)?)?$/;
const ROOMS_RE = /^\/admin\/directory\/v1\/customer\/([^/]+)\/resources\/calendars(?:\/([^/]+))?$/;

/** `now` is the emulator clock (admin seeding happens outside requests, so it is passed in). */
export function createGoogleModule(now: () => number = Date.now): ApiModule & { admin: GoogleAdmin } {
  const store = new GoogleStore();
  let clock = now;
  const env: EventsEnv = { store, now: () => clock() };
  let roomCounter = 0;

  const admin: GoogleAdmin = {
    requireAuth: true,
    autoCreateCalendars: false,
    get restoreDeleted() {
      return env.restoreDeleted ?? 'allow';
    },
    set restoreDeleted(v) {
      env.restoreDeleted = v;
    },
    createCalendar: (id, opts) => void store.createCalendar(id, opts),
    setCalendarTimeZone(id, timeZone) {
      store.createCalendar(id).timeZone = timeZone;
    },
    seedEvent(calendarId, event) {
      return seedEvent(env, store.createCalendar(calendarId), event);
    },
    copyEvent(calendarId, eventId) {
      const cal = store.calendars.get(calendarId.toLowerCase());
      const src = cal?.events.get(eventId)?.res;
      if (!cal || !src) throw new Error(`google admin copyEvent: no event ${eventId} in ${calendarId}`);
      const keep = ['summary', 'description', 'location', 'start', 'end', 'recurrence', 'transparency', 'status', 'extendedProperties'];
      return seedEvent(env, cal, Object.fromEntries(Object.entries(structuredClone(src)).filter(([k]) => keep.includes(k))));
    },
    editEvent(calendarId, eventId, changes) {
      const cal = store.calendars.get(calendarId.toLowerCase());
      if (!cal) throw new Error(`google admin editEvent: no calendar ${calendarId}`);
      const res = patchEvent(env, cal, eventId, { method: 'PATCH', path: '', query: new URLSearchParams(), headers: {}, body: Buffer.from(JSON.stringify(changes)) }, false);
      if (res.status !== 200) throw new Error(`google admin editEvent(${eventId}): ${JSON.stringify(res.body)}`);
      return res.body as EventJson;
    },
    deleteEvent(calendarId, eventId) {
      const cal = store.calendars.get(calendarId.toLowerCase());
      if (!cal) throw new Error(`google admin deleteEvent: no calendar ${calendarId}`);
      const res = deleteEvent(env, cal, eventId, { method: 'DELETE', path: '', query: new URLSearchParams(), headers: {}, body: Buffer.alloc(0) });
      if (res.status !== 204) throw new Error(`google admin deleteEvent(${eventId}): ${JSON.stringify(res.body)}`);
    },
    listRaw(calendarId) {
      return [...(store.calendars.get(calendarId.toLowerCase())?.events.values() ?? [])].map((s) => structuredClone(s.res));
    },
    expireSyncTokens(calendarId) {
      const cal = store.calendars.get(calendarId.toLowerCase());
      if (cal) cal.epoch++;
    },
    registerServiceAccount: (email, pem) => void store.serviceAccounts.set(email.toLowerCase(), pem),
    registerRefreshToken: (t, o = {}) => void store.refreshTokens.set(t, o.user),
    issueAccessToken: (o = {}) => mintToken(store, env.now(), o.subject, o.lifetimeSeconds),
    expireAccessTokens: () => store.tokens.clear(),
    addRoom(r) {
      const resourceId = r.resourceId ?? String(++roomCounter).padStart(11, '1');
      const room: Room = {
        resourceId, resourceName: r.resourceName,
        resourceEmail: r.resourceEmail ?? `c_${resourceId}@resource.calendar.google.com`,
        resourceCategory: 'CONFERENCE_ROOM', capacity: r.capacity, buildingId: r.buildingId, floorName: r.floorName, resourceDescription: r.resourceDescription,
      };
      store.rooms.push(room);
      store.createCalendar(room.resourceEmail, { summary: r.resourceName });
      return room;
    },
    setPageShaper: (s) => void (env.pageShaper = s),
    randomShortPages(seed = 7) {
      const rnd = seededRandom(seed);
      env.pageShaper = (size) => Math.floor(rnd() * (size + 1));
    },
  };

  function calendarFor(rawId: string, req: EmuRequest): ReturnType<GoogleStore['createCalendar']> | undefined {
    let id = decodeURIComponent(rawId).toLowerCase();
    if (id === 'primary') id = tokenUser(req) ?? 'primary';
    return store.calendars.get(id) ?? (admin.autoCreateCalendars ? store.createCalendar(id) : undefined);
  }

  /** Google sends the resource's etag as an ETag header too (get, list, writes). */
  async function serveCalendar(req: EmuRequest, scope: RequestScope, ctx: EmuContext): Promise<EmuResponse> {
    const res = await serveCalendarBody(req, scope, ctx);
    const etag = res.status === 200 && res.body && typeof res.body === 'object' ? (res.body as EventJson).etag : undefined;
    if (typeof etag === 'string') res.headers = { ...(res.headers ?? {}), ETag: etag };
    return res;
  }

  async function serveCalendarBody(req: EmuRequest, scope: RequestScope, ctx: EmuContext): Promise<EmuResponse> {
    const m = CAL_RE.exec(req.path)!;
    const cal = calendarFor(m[1], req);
    if (!cal) return notFound();
    const eventId = m[2] ? decodeURIComponent(m[2]) : undefined;
    switch (scope.kind) {
      case 'calendar': return { status: 200, body: { kind: 'calendar#calendar', etag: `"c${cal.seq}"`, id: cal.id, summary: cal.summary, timeZone: cal.timeZone } };
      case 'list': return listEvents(env, cal, req);
      case 'insert': return insertEvent(env, cal, req);
      case 'import': return importEvent(env, cal, req);
      case 'get': return getEvent(env, cal, eventId!, req);
      case 'patch': return patchEvent(env, cal, eventId!, req, false);
      case 'update': return patchEvent(env, cal, eventId!, req, true);
      case 'delete': return deleteEvent(env, cal, eventId!, req);
      case 'instances': return listInstances(env, cal, eventId!, req);
      default: void ctx; return googleError(405, 'httpMethodNotAllowed', `Method ${req.method} not allowed here`);
    }
  }

  function listRooms(req: EmuRequest): EmuResponse {
    const max = Math.min(Number(req.query.get('maxResults') ?? 100) || 100, 500);
    const offset = req.query.get('pageToken') ? Number(Buffer.from(req.query.get('pageToken')!, 'base64url').toString()) : 0;
    if (!Number.isInteger(offset) || offset < 0) return badRequest('Invalid page token', 'pageToken');
    const items = store.rooms.slice(offset, offset + max).map((r) => ({ kind: 'admin#directory#resources#calendars#CalendarResource', etag: `"r${r.resourceId}"`, ...JSON.parse(JSON.stringify(r)) }));
    const body: EventJson = { kind: 'admin#directory#resources#calendars#calendarResourcesList', etag: '"rooms"', items };
    if (offset + max < store.rooms.length) body.nextPageToken = Buffer.from(String(offset + max)).toString('base64url');
    return { status: 200, body };
  }

  /** The user a bearer token acts for (service-account `sub`, or the minted subject). */
  function tokenUser(req: EmuRequest): string | undefined {
    const m = /^Bearer\s+(.+)$/i.exec(req.headers['authorization'] ?? '');
    return (m && store.tokens.get(m[1].trim())?.subject?.toLowerCase()) || undefined;
  }

  /** Calendar API requests: Google's quota is 600 requests/min per user, so the token's user
   * owns the budget (one user writing to N room calendars shares it); the calendar id stands in
   * when the token names no user. */
  function claimCalendar(req: EmuRequest): RequestScope | undefined {
    const scope = claimCalendarRoute(req);
    if (scope?.api === 'google' && scope.target !== undefined) {
      const user = tokenUser(req);
      if (scope.target === 'primary' && user) scope.target = user;
      scope.quotaKey = user ? `user:${user}` : scope.target;
    }
    return scope;
  }

  function claimCalendarRoute(req: EmuRequest): RequestScope | undefined {
    const m = CAL_RE.exec(req.path);
    if (!m) return undefined;
    const target = decodeURIComponent(m[1]).toLowerCase();
    const base = '/calendar/v3/calendars/{calendarId}';
    if (m[2] === undefined && !req.path.endsWith('/events')) return { api: 'google', target, kind: req.method === 'GET' ? 'calendar' : 'unsupported', route: base };
    if (m[2] === undefined) return { api: 'google', target, kind: req.method === 'GET' ? 'list' : req.method === 'POST' ? 'insert' : 'unsupported', route: `${base}/events` };
    if (m[3]) return { api: 'google', target, kind: req.method === 'GET' ? 'instances' : 'unsupported', route: `${base}/events/{eventId}/instances` };
    if (m[2] === 'import' && req.method === 'POST') return { api: 'google', target, kind: 'import', route: `${base}/events/import` };
    const kinds: Record<string, string> = { GET: 'get', PATCH: 'patch', PUT: 'update', DELETE: 'delete' };
    return { api: 'google', target, kind: kinds[req.method] ?? 'unsupported', route: `${base}/events/{eventId}` };
  }

  return {
    name: 'google',
    admin,
    claim(req): RequestScope | undefined {
      if (req.path === '/token') return { api: 'oauth', kind: 'token', route: '/token' };
      if (req.path === '/batch/calendar/v3' || req.path === '/batch') return { api: 'google', kind: 'batch', route: '/batch/calendar/v3' };
      if (ROOMS_RE.test(req.path)) return { api: 'directory', kind: 'rooms', route: '/admin/directory/v1/customer/{customer}/resources/calendars' };
      const scope = claimCalendar(req);
      if (scope) return scope;
      // Anything else under Google's API roots is answered 404 in Google's envelope.
      if (req.path.startsWith('/calendar/')) return { api: 'google', kind: 'unknown', route: '/calendar/(unknown)' };
      if (req.path.startsWith('/admin/directory/')) return { api: 'directory', kind: 'unknown', route: '/admin/directory/(unknown)' };
      return undefined;
    },
    async handle(req, scope, ctx): Promise<EmuResponse> {
      clock = ctx.now;
      if (scope.kind === 'token') return handleToken(store, req, ctx.now(), `${ctx.baseUrl}/token`);
      if (scope.kind === 'unknown') return notFound();
      // The batch's own Authorization covers its parts, which are checked one by one.
      if (scope.kind !== 'batch' && admin.requireAuth && !bearerIsValid(store, req, ctx.now())) return unauthorized();
      if (scope.kind === 'batch') return handleBatch(req, ctx);
      if (scope.api === 'directory') return req.method === 'GET' ? listRooms(req) : googleError(405, 'httpMethodNotAllowed', 'Only list is emulated for room resources');
      return serveCalendar(req, scope, ctx);
    },
    faultResponse(d: FaultDecision): EmuResponse {
      return googleFaultResponse(d);
    },
    reset() {
      store.clear();
      env.pageShaper = undefined;
      admin.requireAuth = true;
      admin.autoCreateCalendars = false;
      env.restoreDeleted = 'allow';
      roomCounter = 0;
    },
  };
}
