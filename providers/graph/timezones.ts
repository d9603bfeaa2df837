/**
 * Time-zone names for Graph's `dateTimeTimeZone.timeZone` and `recurrenceTimeZone`.
 *
 * Graph accepts Windows zone ids ("W. Europe Standard Time") and a set of IANA names. Our model
 * holds IANA names only, so for targets configured with `timeZoneStyle: 'windows'` we need the
 * reverse of CLDR's windowsZones table (core/ics/windows-zones.ts). CLDR maps many IANA zones to
 * one Windows id; the reverse here uses every IANA zone that is the golden (territory 001) zone of
 * a Windows id, plus runtime aliases of it ("Asia/Calcutta" ≡ "Asia/Kolkata"). A zone that is not
 * a golden zone of any Windows id (e.g. "Europe/Amsterdam") is looked up by equal UTC offsets over
 * a year among golden zones of the same region; if none matches, the caller keeps the IANA name.
 */
import { canonicalTimeZone, zoneOffsetMs } from '../../core/time';
import { windowsToIana } from '../../core/ics/timezones';
import { WINDOWS_ZONES } from '../../core/ics/windows-zones';

export type TimeZoneStyle = 'iana' | 'windows';

const windowsByIana = new Map<string, string>();
for (const [windowsId, , iana] of WINDOWS_ZONES) {
  const canon = canonicalTimeZone(iana) ?? iana;
  // First row wins: CLDR lists the "main" Windows id of a golden zone first.
  if (!windowsByIana.has(canon)) windowsByIana.set(canon, windowsId);
  if (!windowsByIana.has(iana)) windowsByIana.set(iana, windowsId);
}

const offsetMatchMemo = new Map<string, string | undefined>();

/** Offsets of `zone` at 24 instants through 2024 (twice a month): a fingerprint of its rules. */
function offsetProfile(zone: string): string {
  const out: number[] = [];
  for (let i = 0; i < 24; i++) out.push(zoneOffsetMs(zone, Date.UTC(2024, Math.floor(i / 2), i % 2 === 0 ? 1 : 16)));
  return out.join(',');
}

/** The Windows zone id for an IANA zone, or undefined when no Windows zone keeps the same clock. */
export function ianaToWindows(iana: string): string | undefined {
  if (iana === 'UTC' || iana === 'Etc/UTC' || iana === 'Etc/GMT') return 'UTC';
  const canon = canonicalTimeZone(iana);
  if (!canon) return undefined;
  const direct = windowsByIana.get(canon) ?? windowsByIana.get(iana);
  if (direct) return direct;
  if (offsetMatchMemo.has(canon)) return offsetMatchMemo.get(canon);
  // Not a golden zone: pick a golden zone of the same region ("Europe/…") with identical offsets
  // through a whole year, so wall clocks agree (Amsterdam → W. Europe Standard Time).
  const region = canon.split('/')[0];
  const profile = offsetProfile(canon);
  let found: string | undefined;
  for (const [zone, windowsId] of windowsByIana) {
    if (zone.split('/')[0] !== region) continue;
    if (offsetProfile(zone) === profile) {
      found = windowsId;
      break;
    }
  }
  offsetMatchMemo.set(canon, found);
  return found;
}

/** The IANA zone for a name Graph returned: a Windows id, an IANA name, or undefined ("tzone://Microsoft/Custom"). */
export function graphZoneToIana(name: string | undefined): string | undefined {
  if (!name) return undefined;
  const trimmed = name.trim();
  if (/^utc$/i.test(trimmed) || trimmed === 'Coordinated Universal Time') return 'UTC';
  const win = windowsToIana(trimmed);
  if (win) return win;
  if (!/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(trimmed)) return undefined;
  return canonicalTimeZone(trimmed);
}

/** The name to send for an IANA zone under `style` (IANA kept when Windows has no equivalent). */
export function graphZoneName(iana: string, style: TimeZoneStyle): string {
  if (iana === 'UTC' || iana === 'Etc/UTC') return 'UTC';
  if (style === 'iana') return iana;
  return ianaToWindows(iana) ?? iana;
}
