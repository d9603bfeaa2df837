/**
 * In-memory state of the Graph emulator: mailboxes (people and rooms are both users), their
 * calendars and events, transactionId de-duplication, delta sync states, places, apps and tokens.
 * Plain data; the HTTP handlers in events.ts / places.ts / oauth.ts give it meaning.
 */
import { randomBytes, randomUUID } from 'node:crypto';

export type Json = Record<string, unknown>;

export interface ExtendedProperty {
  id: string;
  value: string;
}

/** A modified occurrence of a series: its own field overrides and version. */
export interface SeriesException {
  fields: Json;
  changeKey: string;
  modifiedMs: number;
}

export interface StoredEvent {
  id: string;
  calendarId: string;
  /** Client-supplied fields (subject, start, end, recurrence, …) as accepted. */
  fields: Json;
  extendedProperties: ExtendedProperty[];
  iCalUId: string;
  changeKey: string;
  createdMs: number;
  modifiedMs: number;
  /** Series masters only, keyed by the occurrence's original start (UTC ISO, "…Z"). */
  exceptions: Map<string, SeriesException>;
  cancelled: Set<string>;
}

export interface Mailbox {
  id: string;
  upn: string;
  displayName: string;
  room: boolean;
  defaultCalendarId: string;
  calendars: Map<string, { id: string; name: string }>;
  events: Map<string, StoredEvent>;
  /** transactionId → event id (dedupe of retried POSTs). */
  transactions: Map<string, string>;
  /** mailboxSettings.timeZone as set (Windows or IANA name, returned verbatim). */
  timeZone: string;
}

export interface DeltaState {
  mailboxId: string;
  calendarId: string;
  startMs: number;
  endMs: number;
  /** id → changeKey of every instance the client has been told about. */
  known: Map<string, string>;
  expired: boolean;
  /** The round (paged answer) that ends with this state's deltaLink. */
  roundId: string;
}

/** Delta states kept per calendar by default; older ones expire (410), as real sync state does. */
export const DEFAULT_DELTA_STATES_PER_CALENDAR = 20;

export interface Room {
  id: string;
  emailAddress: string;
  displayName: string;
  capacity?: number;
  building?: string;
  floorNumber?: number;
  bookingType?: string;
  isWheelChairAccessible?: boolean;
  tags?: string[];
}

export interface RoomList {
  id: string;
  emailAddress: string;
  displayName: string;
  rooms: string[]; // room emails, lower-cased
}

export interface AppRegistration {
  clientId: string;
  secret: string;
  tenant: string;
}

export interface IssuedToken {
  kind: 'app' | 'delegated';
  clientId?: string;
  /** Delegated tokens act as this mailbox (for /me). */
  userUpn?: string;
  expiresMs: number;
}

// Ids come from one pool of random bytes refilled 8 KiB at a time: a randomBytes() call per id
// cost more than the rest of an event's create (benchmarks create 10,000 events a run).
const POOL_SIZE = 8192;
let pool = Buffer.alloc(0);
let poolAt = POOL_SIZE;

function freshBytes(n: number): Buffer {
  if (poolAt + n > pool.length) {
    pool = randomBytes(POOL_SIZE);
    poolAt = 0;
  }
  const out = pool.subarray(poolAt, poolAt + n);
  poolAt += n;
  return out;
}

/** Opaque, Exchange-looking ids ("AAMkAD…"), URL-safe. */
export function newItemId(): string {
  return 'AAMkAD' + freshBytes(24).toString('base64url');
}

export function newChangeKey(): string {
  return freshBytes(12).toString('base64');
}

/**
 * Exchange's GlobalObjectId: a fixed class id, 4 bytes of instance date (zero on the master),
 * then a unique part. Occurrences differ from their master only in the date bytes, which is why
 * Graph's iCalUId differs per occurrence.
 */
export function newICalUId(): string {
  return '040000008200E00074C5B7101A82E008' + '00000000' + freshBytes(24).toString('hex').toUpperCase();
}

export function occurrenceICalUId(masterUid: string, originalStartUtc: string): string {
  const [y, m, d] = originalStartUtc.slice(0, 10).split('-').map(Number);
  const dateHex = y.toString(16).padStart(4, '0') + m.toString(16).padStart(2, '0') + d.toString(16).padStart(2, '0');
  return (masterUid.slice(0, 32) + dateHex.toUpperCase() + masterUid.slice(40));
}

export class GraphStore {
  readonly mailboxes = new Map<string, Mailbox>(); // key: id
  private readonly byUpn = new Map<string, string>(); // upn lower → id
  readonly deltaStates = new Map<string, DeltaState>();
  /** A delta round being paged: the rendered changes and the state its deltaLink will carry. */
  readonly deltaRounds = new Map<string, { stateToken: string; items: Json[] }>();
  /** Live delta state tokens per "mailboxId/calendarId", oldest first (for the bound). */
  private readonly deltaOrder = new Map<string, string[]>();
  deltaStatesPerCalendar = DEFAULT_DELTA_STATES_PER_CALENDAR;
  readonly rooms = new Map<string, Room>(); // email lower → room
  readonly roomLists = new Map<string, RoomList>(); // email lower → list
  readonly apps = new Map<string, AppRegistration>();
  readonly refreshTokens = new Map<string, { userUpn?: string; clientId?: string }>();
  readonly tokens = new Map<string, IssuedToken>();
  /** mailboxSettings.timeZone of mailboxes created from now on. */
  defaultMailboxTimeZone = 'UTC';

  createMailbox(upn: string, opts: { room?: boolean; displayName?: string } = {}): Mailbox {
    const existing = this.findMailbox(upn);
    if (existing) return existing;
    const calId = 'AAMkAGCal' + randomBytes(18).toString('base64url');
    const mb: Mailbox = {
      id: randomUUID(),
      upn,
      displayName: opts.displayName ?? upn.split('@')[0],
      room: !!opts.room,
      defaultCalendarId: calId,
      calendars: new Map([[calId, { id: calId, name: 'Calendar' }]]),
      events: new Map(),
      transactions: new Map(),
      timeZone: this.defaultMailboxTimeZone,
    };
    this.mailboxes.set(mb.id, mb);
    this.byUpn.set(upn.toLowerCase(), mb.id);
    return mb;
  }

  /** By object id (GUID) or user principal name, case-insensitively. */
  findMailbox(idOrUpn: string): Mailbox | undefined {
    const key = idOrUpn.toLowerCase();
    return this.mailboxes.get(key) ?? this.mailboxes.get(this.byUpn.get(key) ?? '');
  }

  /**
   * Stores a delta state with its round. Beyond `deltaStatesPerCalendar` states for the calendar
   * the oldest is dropped with its round, so its links answer 410 and memory stays bounded.
   */
  addDeltaState(token: string, state: DeltaState, round: { stateToken: string; items: Json[] }): void {
    this.deltaStates.set(token, state);
    this.deltaRounds.set(state.roundId, round);
    const key = `${state.mailboxId}/${state.calendarId}`;
    let order = this.deltaOrder.get(key);
    if (!order) this.deltaOrder.set(key, (order = []));
    order.push(token);
    while (order.length > Math.max(1, this.deltaStatesPerCalendar)) {
      const oldToken = order.shift()!;
      const old = this.deltaStates.get(oldToken);
      this.deltaStates.delete(oldToken);
      if (old) this.deltaRounds.delete(old.roundId);
    }
  }

  clear(): void {
    this.mailboxes.clear();
    this.byUpn.clear();
    this.deltaStates.clear();
    this.deltaRounds.clear();
    this.deltaOrder.clear();
    this.deltaStatesPerCalendar = DEFAULT_DELTA_STATES_PER_CALENDAR;
    this.rooms.clear();
    this.roomLists.clear();
    this.apps.clear();
    this.refreshTokens.clear();
    this.tokens.clear();
    this.defaultMailboxTimeZone = 'UTC';
  }
}
