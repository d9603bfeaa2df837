/**
 * Microsoft Graph v1.0 emulator module: calendar events (create with transactionId dedupe, get,
 * patch, delete), calendarView with series expansion and `Prefer: outlook.timezone`, calendarView
 * delta, single-value extended properties, places (rooms, room lists), JSON $batch, and the
 * Microsoft identity token endpoint with bearer checks. See emulator/graph/README.md.
 */
import type { ApiModule, EmuContext, EmuRequest, EmuResponse, FaultDecision, RequestScope } from '../types';
import { handleBatch, type BatchOrder } from './batch';
import { errorResponse, GraphHttpError } from './errors';
import {
  calendarView, calendarViewDelta, createEvent, deleteEvent, expireDeltaStates, getEvent, listEvents, patchEvent, listSeriesInstances, type GraphCall, type PageShaper,
} from './events';
import { checkBearer, handleToken, issueToken } from './oauth';
import { serveMailboxSettings } from './mailbox-settings';
import { listRoomLists, listRooms, listRoomsOfList } from './places';
import { zoneToIana } from './zones';
import { GraphStore, type Json, type Mailbox, type Room } from './store';
import { seededRandom } from '../prng';

export type { BatchOrder } from './batch';
export type { PageShaper as GraphPageShaper } from './events';

/** Outlook's per app-and-mailbox limits, for the fault layer (emulator/index.ts DEFAULT_LIMITS). */
export const GRAPH_DEFAULT_LIMITS = { windowMs: 600_000, maxRequests: 10_000, maxConcurrent: 4 } as const;

/** What a test gives to add a room: the stored Room's fields, keyed by email, id generated. */
export type RoomSpec = { email: string; displayName?: string } & Omit<Room, 'id' | 'emailAddress' | 'displayName'>;

/** A stored event as the emulator holds it (for assertions), not as Graph renders it. */
export interface RawEvent {
  id: string;
  calendarId: string;
  fields: Json;
  singleValueExtendedProperties: { id: string; value: string }[];
  /** Series only: exception overrides by original start (UTC ISO) and cancelled original starts. */
  exceptions: Record<string, Json>;
  cancelled: string[];
}

export interface GraphAdmin {
  /** Creates a mailbox (a person, or a room with `room: true`, which is also listed as a place). */
  createMailbox(upn: string, opts?: { room?: boolean; displayName?: string }): { id: string; upn: string; defaultCalendarId: string };
  /** Adds a secondary calendar; returns its id. */
  addCalendar(mailbox: string, name: string): string;
  /** Stores an event as if POSTed to /users/{mailbox}/events (people's own events); returns Graph's JSON (UTC). */
  seedEvent(mailbox: string, event: Json): Json;
  listRaw(mailbox: string): RawEvent[];
  /** A person copies an event in Outlook: a new event (new id, iCalUId) with the same fields and extended properties. Returns Graph's JSON. */
  copyEvent(mailbox: string, id: string): Json;
  /** A person edits an event (or an occurrence) in Outlook: a PATCH of `changes`. Returns Graph's JSON. */
  editEvent(mailbox: string, id: string, changes: Json): Json;
  /** Every delta/skip token of the mailbox answers 410 from now on; returns how many were live. */
  expireDeltaTokens(mailbox: string): number;
  /** Delta states kept per calendar (default 20); older tokens answer 410 SyncStateNotFound. */
  setDeltaStateLimit(n: number): void;
  registerApp(clientId: string, secret: string, tenant: string): void;
  registerRefreshToken(token: string, opts?: { user?: string; clientId?: string }): void;
  /** A valid bearer token without the token endpoint (app-only, or delegated for `user`). */
  issueToken(opts?: { user?: string; lifetimeS?: number }): string;
  /** Default true: Graph requests need a valid bearer token. */
  setAuthRequired(on: boolean): void;
  /** Lifetime of issued access tokens in seconds (default 3599). */
  setTokenLifetime(seconds: number): void;
  addRoom(room: RoomSpec): Room;
  addRoomList(email: string, displayName: string, roomEmails: string[]): void;
  setBatchOrder(order: BatchOrder): void;
  /** Page sizes of /events, calendarView and delta (undefined: full pages). */
  setPageShaper(shaper: PageShaper | undefined): void;
  /** Seeded random page sizes from 0 to the requested size (empty pages keep their nextLink). */
  randomShortPages(seed?: number): void;
  /** mailboxSettings.timeZone of one mailbox (Windows or IANA name, answered verbatim; default "UTC"). */
  setMailboxTimeZone(mailbox: string, zone: string): void;
  /** The zone of mailboxes created from now on (until reset; default "UTC"). */
  setDefaultMailboxTimeZone(zone: string): void;
}

type Route =
  | { kind: 'token'; tenant: string }
  | { kind: 'batch' }
  | { kind: 'places'; what: 'rooms' | 'roomLists' }
  | { kind: 'places'; what: 'roomsOfList'; list: string }
  | { kind: 'mailbox'; user: string | null; rest: string[] };

function parseRoute(path: string): Route | undefined {
  const tok = /^\/([^/]+)\/oauth2\/v2\.0\/token\/?$/i.exec(path);
  if (tok) return { kind: 'token', tenant: decodeURIComponent(tok[1]) };
  const m = /^\/v1\.0(\/.*)?$/i.exec(path);
  if (!m) return undefined;
  const segs = (m[1] ?? '').split('/').filter(Boolean).map(decodeURIComponent);
  const low = segs.map((s) => s.toLowerCase());
  if (low.length === 1 && low[0] === '$batch') return { kind: 'batch' };
  if (low[0] === 'places') {
    if (low.length === 2 && low[1] === 'microsoft.graph.room') return { kind: 'places', what: 'rooms' };
    if (low.length === 2 && low[1] === 'microsoft.graph.roomlist') return { kind: 'places', what: 'roomLists' };
    if (low.length === 4 && low[2] === 'microsoft.graph.roomlist' && low[3] === 'rooms') return { kind: 'places', what: 'roomsOfList', list: segs[1] };
  }
  if (low[0] === 'users' && segs.length >= 2) return { kind: 'mailbox', user: segs[1], rest: segs.slice(2) };
  if (low[0] === 'me') return { kind: 'mailbox', user: null, rest: segs.slice(1) };
  return { kind: 'mailbox', user: null, rest: ['\u0000' + (segs[0] ?? '')] }; // unknown: answered 400 below
}

/** The operation a mailbox path + method names, as used in scopes and fault rules. */
function operationKind(rest: string[], method: string): string {
  const low = rest.map((s) => s.toLowerCase());
  const i = low[0] === 'calendar' ? 1 : low[0] === 'calendars' && low.length > 2 ? 2 : 0;
  const tail = low.slice(i);
  if (low[0] === 'mailboxsettings') return 'mailboxSettings';
  if (tail[0] === 'calendarview') return tail[1] === 'delta' ? 'delta' : 'calendarView';
  if (tail[0] === 'events') {
    if (tail.length === 1) return method === 'POST' ? 'create' : 'list';
    if (tail[2] === 'instances') return 'instances';
    return method === 'PATCH' ? 'patch' : method === 'DELETE' ? 'delete' : 'get';
  }
  return 'other';
}

/** `now` is the emulator clock (admin hooks run outside requests, so it is passed in). */
export function createGraphModule(now: () => number = Date.now): ApiModule & { admin: GraphAdmin; setBaseUrl(url: string): void } {
  const store = new GraphStore();
  let authRequired = true;
  let tokenLifetimeS = 3599;
  let batchOrder: BatchOrder = 'completion';
  let lastBaseUrl = '';
  let pageShaper: PageShaper | undefined;

  const mailboxFor = (user: string | null, req: EmuRequest): Mailbox | undefined => {
    if (user !== null) return store.findMailbox(user);
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers['authorization'] ?? '');
    const t = bearer ? store.tokens.get(bearer[1]) : undefined;
    return t?.userUpn ? store.findMailbox(t.userUpn) : undefined;
  };

  const mustMailbox = (name: string): Mailbox => {
    const mb = store.findMailbox(name);
    if (!mb) throw new Error(`graph admin: no mailbox ${name}`);
    return mb;
  };

  function serveMailbox(req: EmuRequest, route: { user: string | null; rest: string[] }, now: number, baseUrl: string): EmuResponse | Promise<EmuResponse> {
    if (route.rest[0]?.startsWith('\u0000')) throw new GraphHttpError(400, 'BadRequest', `Resource not found for the segment '${route.rest[0].slice(1)}'.`);
    if (route.user === null) {
      const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers['authorization'] ?? '');
      const t = bearer ? store.tokens.get(bearer[1]) : undefined;
      if (!t?.userUpn) throw new GraphHttpError(400, 'BadRequest', '/me request is only valid with delegated authentication flow.');
    }
    const mb = mailboxFor(route.user, req);
    if (!mb) throw new GraphHttpError(404, 'ErrorInvalidUser', `The requested user '${route.user}' is invalid.`);
    const low = route.rest.map((s) => s.toLowerCase());
    const userPath = route.user === null ? '/me' : `/users/${encodeURIComponent(route.user)}`;
    const m = req.method;
    if (low.length === 0 && m === 'GET') {
      return { status: 200, body: { id: mb.id, userPrincipalName: mb.upn, displayName: mb.displayName, mail: mb.upn } };
    }
    if (low.length === 1 && low[0] === 'calendars' && m === 'GET') {
      return { status: 200, body: { value: [...mb.calendars.values()].map((c) => ({ id: c.id, name: c.name, isDefaultCalendar: c.id === mb.defaultCalendarId, canEdit: true, owner: { name: mb.displayName, address: mb.upn } })) } };
    }
    if (low.length === 1 && low[0] === 'calendar' && m === 'GET') {
      const c = mb.calendars.get(mb.defaultCalendarId)!;
      return { status: 200, body: { id: c.id, name: c.name, isDefaultCalendar: true, canEdit: true, owner: { name: mb.displayName, address: mb.upn } } };
    }
    if (low[0] === 'mailboxsettings') return serveMailboxSettings(req, mb, route.rest, baseUrl, route.user ?? mb.upn);
    let calendarId: string | undefined;
    let rest = route.rest;
    let collectionPath = userPath;
    if (low[0] === 'calendar') {
      calendarId = mb.defaultCalendarId;
      rest = rest.slice(1);
      collectionPath += '/calendar';
    } else if (low[0] === 'calendars' && rest.length >= 3) {
      if (!mb.calendars.has(rest[1])) throw new GraphHttpError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
      calendarId = rest[1];
      collectionPath += `/calendars/${encodeURIComponent(rest[1])}`;
      rest = rest.slice(2);
    }
    const call: GraphCall = { req, now, baseUrl, store, mb, calendarId, collectionPath, pageShaper };
    const t = rest.map((s) => s.toLowerCase());
    if (t[0] === 'events' && t.length === 1) {
      if (m === 'POST') return createEvent(call);
      if (m === 'GET') return listEvents(call);
    } else if (t[0] === 'events' && t.length === 2) {
      if (m === 'GET') return getEvent(call, rest[1]);
      if (m === 'PATCH') return patchEvent(call, rest[1]);
      if (m === 'DELETE') return deleteEvent(call, rest[1]);
    } else if (t[0] === 'events' && t.length === 3 && t[2] === 'instances') {
      if (m === 'GET') return listSeriesInstances(call, rest[1]);
    } else if (t[0] === 'calendarview' && t.length === 1) {
      if (m === 'GET') return calendarView(call);
    } else if (t[0] === 'calendarview' && t[1] === 'delta' && t.length === 2) {
      if (m === 'GET') return calendarViewDelta(call);
    } else {
      throw new GraphHttpError(400, 'BadRequest', `Resource not found for the segment '${rest[0] ?? ''}'.`);
    }
    throw new GraphHttpError(405, 'BadRequest', `The HTTP method '${m}' is not allowed for this resource.`);
  }

  const module: ApiModule & { admin: GraphAdmin; setBaseUrl(url: string): void } = {
    name: 'graph',

    /** The server's URL, for links in answers of admin hooks run before any request. */
    setBaseUrl(url: string): void {
      lastBaseUrl = url;
    },

    claim(req: EmuRequest): RequestScope | undefined {
      const route = parseRoute(req.path);
      if (!route) return undefined;
      switch (route.kind) {
        case 'token': return { api: 'oauth', kind: 'token', route: '/{tenant}/oauth2/v2.0/token' };
        case 'batch': return { api: 'graph', kind: 'batch', route: '/v1.0/$batch' };
        case 'places': return { api: 'graph', kind: 'places', route: `/v1.0/places/${route.what}` };
        case 'mailbox': {
          const mb = mailboxFor(route.user, req);
          const target = mb ? mb.upn.toLowerCase() : route.user?.toLowerCase();
          const kind = operationKind(route.rest, req.method);
          return { api: 'graph', target, kind, route: `/v1.0/users/{id}/${kind}` };
        }
      }
    },

    async handle(req: EmuRequest, _scope: RequestScope, ctx: EmuContext): Promise<EmuResponse> {
      const now = ctx.now();
      lastBaseUrl = ctx.baseUrl;
      try {
        const route = parseRoute(req.path)!;
        if (route.kind === 'token') return handleToken(store, req, route.tenant, now, tokenLifetimeS);
        if (authRequired) checkBearer(store, req, now);
        switch (route.kind) {
          case 'batch':
            if (req.method !== 'POST') throw new GraphHttpError(405, 'BadRequest', '$batch accepts POST only.');
            return await handleBatch(req, ctx, batchOrder);
          case 'places':
            if (route.what === 'roomsOfList') return listRoomsOfList(store, req, ctx.baseUrl, route.list);
            return route.what === 'rooms' ? listRooms(store, req, ctx.baseUrl) : listRoomLists(store, req, ctx.baseUrl);
          case 'mailbox':
            return await serveMailbox(req, route, now, ctx.baseUrl);
        }
      } catch (e) {
        if (e instanceof GraphHttpError) return errorResponse(e.status, e.code, e.message, req, now, e.headers);
        throw e;
      }
    },

    faultResponse(d: FaultDecision, scope: RequestScope): EmuResponse {
      const at = now();
      if (scope.api === 'oauth') {
        const status = d.kind === 'error' ? d.status : d.kind === 'throttle' || d.kind === 'quota' ? 429 : 400;
        return {
          status,
          headers: d.kind === 'throttle' ? { 'retry-after': d.retryAfter ?? '1' } : {},
          body: { error: status === 400 ? 'invalid_grant' : 'temporarily_unavailable', error_description: `AADSTS50196: injected fault (${d.kind}).`, error_codes: [50196] },
        };
      }
      switch (d.kind) {
        case 'throttle':
        case 'quota': {
          const retryAfter = (d.kind === 'throttle' ? d.retryAfter : undefined) ?? '1';
          const limit = d.kind === 'throttle' ? d.limit : 'rate';
          const code = limit || d.kind === 'quota' ? 'ApplicationThrottled' : (d.kind === 'throttle' && d.reason) || 'TooManyRequests';
          const message = limit === 'concurrency'
            ? 'Application is over its MailboxConcurrency limit.'
            : limit === 'rate' ? 'Application is over its request rate limit for this mailbox (10000 requests per 10 minutes).' : 'Too many requests.';
          return errorResponse(429, code, message, undefined, at, { 'retry-after': retryAfter });
        }
        case 'error': {
          const codes = { 500: 'InternalServerError', 502: 'BadGateway', 503: 'ServiceUnavailable', 504: 'GatewayTimeout' } as const;
          return errorResponse(d.status, codes[d.status], 'The service is temporarily unavailable (injected fault).', undefined, at);
        }
        case 'tokenExpired':
          return errorResponse(401, 'InvalidAuthenticationToken', 'Lifetime validation failed, the token is expired.', undefined, at);
        default:
          return errorResponse(500, 'InternalServerError', `Unexpected fault decision '${d.kind}'.`, undefined, at);
      }
    },

    reset(): void {
      store.clear();
      authRequired = true;
      tokenLifetimeS = 3599;
      batchOrder = 'completion';
      pageShaper = undefined;
    },

    admin: {
      createMailbox(upn, opts = {}) {
        const mb = store.createMailbox(upn, opts);
        if (opts.room && !store.rooms.has(upn.toLowerCase())) module.admin.addRoom({ email: upn, displayName: opts.displayName });
        return { id: mb.id, upn: mb.upn, defaultCalendarId: mb.defaultCalendarId };
      },
      addCalendar(mailbox, name) {
        const mb = mustMailbox(mailbox);
        const id = 'AAMkAGCal' + Buffer.from(`${mb.id}:${mb.calendars.size}:${name}`).toString('base64url');
        mb.calendars.set(id, { id, name });
        return id;
      },
      seedEvent(mailbox, event) {
        const mb = mustMailbox(mailbox);
        const req: EmuRequest = { method: 'POST', path: '', query: new URLSearchParams(), headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(event)) };
        try {
          const res = createEvent({ req, now: now(), baseUrl: lastBaseUrl, store, mb, collectionPath: `/users/${mb.upn}` });
          return res.body as Json;
        } catch (e) {
          if (e instanceof GraphHttpError) throw new Error(`graph admin seedEvent: ${e.code}: ${e.message}`);
          throw e;
        }
      },
      copyEvent(mailbox, id) {
        const src = mustMailbox(mailbox).events.get(id);
        if (!src) throw new Error(`graph admin copyEvent: no event ${id} in ${mailbox}`);
        const { transactionId: _t, ...fields } = structuredClone(src.fields);
        return module.admin.seedEvent(mailbox, { ...fields, singleValueExtendedProperties: src.extendedProperties.map((p) => ({ ...p })) });
      },
      editEvent(mailbox, id, changes) {
        const mb = mustMailbox(mailbox);
        const req: EmuRequest = { method: 'PATCH', path: '', query: new URLSearchParams(), headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(changes)) };
        try {
          return patchEvent({ req, now: now(), baseUrl: lastBaseUrl, store, mb, collectionPath: `/users/${mb.upn}` }, id).body as Json;
        } catch (e) {
          if (e instanceof GraphHttpError) throw new Error(`graph admin editEvent: ${e.code}: ${e.message}`);
          throw e;
        }
      },
      listRaw(mailbox) {
        return [...mustMailbox(mailbox).events.values()].map((ev) => ({
          id: ev.id, calendarId: ev.calendarId, fields: structuredClone(ev.fields),
          singleValueExtendedProperties: ev.extendedProperties.map((p) => ({ ...p })),
          exceptions: Object.fromEntries([...ev.exceptions].map(([k, v]) => [k, structuredClone(v.fields)])),
          cancelled: [...ev.cancelled].sort(),
        }));
      },
      expireDeltaTokens(mailbox) {
        return expireDeltaStates(store, mustMailbox(mailbox));
      },
      setDeltaStateLimit(n) {
        if (!Number.isInteger(n) || n < 1) throw new RangeError(`graph admin setDeltaStateLimit: need a whole number >= 1, got ${n}`);
        store.deltaStatesPerCalendar = n;
      },
      registerApp(clientId, secret, tenant) {
        store.apps.set(clientId, { clientId, secret, tenant });
      },
      registerRefreshToken(token, opts = {}) {
        store.refreshTokens.set(token, { userUpn: opts.user, clientId: opts.clientId });
      },
      issueToken(opts = {}) {
        return issueToken(store, opts.user ? { kind: 'delegated', userUpn: opts.user } : { kind: 'app' }, now(), opts.lifetimeS ?? tokenLifetimeS, 'emulator');
      },
      setAuthRequired(on) {
        authRequired = on;
      },
      setTokenLifetime(seconds) {
        tokenLifetimeS = seconds;
      },
      addRoom(spec) {
        const email = spec.email;
        store.createMailbox(email, { room: true, displayName: spec.displayName });
        const room: Room = {
          id: store.findMailbox(email)!.id, emailAddress: email, displayName: spec.displayName ?? email.split('@')[0],
          capacity: spec.capacity, building: spec.building, floorNumber: spec.floorNumber, bookingType: spec.bookingType,
          isWheelChairAccessible: spec.isWheelChairAccessible, tags: spec.tags,
        };
        store.rooms.set(email.toLowerCase(), room);
        return room;
      },
      addRoomList(email, displayName, roomEmails) {
        store.roomLists.set(email.toLowerCase(), { id: store.createMailbox(email, { displayName }).id, emailAddress: email, displayName, rooms: roomEmails.map((e) => e.toLowerCase()) });
      },
      setBatchOrder(order) {
        batchOrder = order;
      },
      setPageShaper(shaper) {
        pageShaper = shaper;
      },
      setMailboxTimeZone(mailbox, zone) {
        if (!zoneToIana(zone)) throw new Error(`graph admin setMailboxTimeZone: '${zone}' is neither a Windows nor an IANA time zone`);
        mustMailbox(mailbox).timeZone = zone;
      },
      setDefaultMailboxTimeZone(zone) {
        if (!zoneToIana(zone)) throw new Error(`graph admin setDefaultMailboxTimeZone: '${zone}' is neither a Windows nor an IANA time zone`);
        store.defaultMailboxTimeZone = zone;
      },
      randomShortPages(seed = 7) {
        const rnd = seededRandom(seed);
        pageShaper = (size) => Math.floor(rnd() * (size + 1));
      },
    },
  };
  return module;
}
