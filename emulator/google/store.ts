/**
 * In-memory state of the Google emulator: calendars with their events (deleted ones kept as
 * `status: "cancelled"`, as Google does), a change counter per calendar for sync tokens, rooms,
 * registered credentials and issued access tokens.
 */
export type EventJson = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface StoredEvent {
  res: EventJson;
  /** Calendar change counter value of the last write (sync tokens compare against it). */
  seq: number;
}

export interface CalendarState {
  id: string;
  summary: string;
  timeZone: string;
  /** Insertion order is the default list order. */
  events: Map<string, StoredEvent>;
  /** Bumped on every write to this calendar. */
  seq: number;
  /** Bumped by expireSyncTokens: tokens of an older epoch answer 410 fullSyncRequired. */
  epoch: number;
}

export interface Room {
  resourceId: string;
  resourceName: string;
  resourceEmail: string;
  resourceCategory: string;
  capacity?: number;
  buildingId?: string;
  floorName?: string;
  resourceDescription?: string;
}

export interface IssuedToken {
  subject?: string;
  scope?: string;
  expiresAt: number;
}

export class GoogleStore {
  calendars = new Map<string, CalendarState>();
  rooms: Room[] = [];
  serviceAccounts = new Map<string, string | undefined>();
  /** refresh token → the user its access tokens act for (undefined: none named). */
  refreshTokens = new Map<string, string | undefined>();
  tokens = new Map<string, IssuedToken>();
  private etagCounter = 0;

  createCalendar(id: string, opts: { summary?: string; timeZone?: string } = {}): CalendarState {
    const key = id.toLowerCase();
    let cal = this.calendars.get(key);
    if (!cal) {
      cal = { id: key, summary: opts.summary ?? id, timeZone: opts.timeZone ?? 'UTC', events: new Map(), seq: 0, epoch: 0 };
      this.calendars.set(key, cal);
    }
    return cal;
  }

  /** Stores `res` as a new version: new etag, `updated`, and the calendar's change counter. */
  write(cal: CalendarState, res: EventJson, nowMs: number): EventJson {
    cal.seq++;
    res.etag = `"${nowMs * 1000 + (++this.etagCounter % 1000)}"`;
    res.updated = new Date(nowMs).toISOString();
    cal.events.set(res.id, { res, seq: cal.seq });
    return res;
  }

  clear(): void {
    this.calendars.clear();
    this.rooms = [];
    this.serviceAccounts.clear();
    this.refreshTokens.clear();
    this.tokens.clear();
  }
}
