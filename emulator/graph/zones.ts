/**
 * Time-zone names as Graph accepts them: Windows names ("W. Europe Standard Time") and IANA names
 * ("Europe/Berlin"). Resolves both to IANA for arithmetic with core/time.ts.
 *
 * A small local Windows→IANA table (CLDR windowsZones "001" territory) until
 * core/ics/timezones.ts `windowsToIana` lands; then this should delegate to it.
 */
import { canonicalTimeZone } from '../../core/time';
import { GraphHttpError } from './errors';

const WINDOWS_TO_IANA: Record<string, string> = {
  'UTC': 'UTC',
  'Coordinated Universal Time': 'UTC',
  'GMT Standard Time': 'Europe/London',
  'Greenwich Standard Time': 'Atlantic/Reykjavik',
  'W. Europe Standard Time': 'Europe/Berlin',
  'Central Europe Standard Time': 'Europe/Budapest',
  'Central European Standard Time': 'Europe/Warsaw',
  'Romance Standard Time': 'Europe/Paris',
  'E. Europe Standard Time': 'Europe/Chisinau',
  'FLE Standard Time': 'Europe/Kiev',
  'GTB Standard Time': 'Europe/Bucharest',
  'Russian Standard Time': 'Europe/Moscow',
  'Turkey Standard Time': 'Europe/Istanbul',
  'Israel Standard Time': 'Asia/Jerusalem',
  'South Africa Standard Time': 'Africa/Johannesburg',
  'Arabian Standard Time': 'Asia/Dubai',
  'India Standard Time': 'Asia/Calcutta',
  'China Standard Time': 'Asia/Shanghai',
  'Singapore Standard Time': 'Asia/Singapore',
  'Tokyo Standard Time': 'Asia/Tokyo',
  'Korea Standard Time': 'Asia/Seoul',
  'AUS Eastern Standard Time': 'Australia/Sydney',
  'New Zealand Standard Time': 'Pacific/Auckland',
  'Eastern Standard Time': 'America/New_York',
  'Central Standard Time': 'America/Chicago',
  'Mountain Standard Time': 'America/Denver',
  'US Mountain Standard Time': 'America/Phoenix',
  'Pacific Standard Time': 'America/Los_Angeles',
  'Alaskan Standard Time': 'America/Anchorage',
  'Hawaiian Standard Time': 'Pacific/Honolulu',
  'Atlantic Standard Time': 'America/Halifax',
  'E. South America Standard Time': 'America/Sao_Paulo',
};

const BY_LOWER = new Map(Object.entries(WINDOWS_TO_IANA).map(([w, i]) => [w.toLowerCase(), i]));

/** The IANA zone for a Windows or IANA name, or undefined when neither. */
export function zoneToIana(name: string): string | undefined {
  const win = BY_LOWER.get(name.trim().toLowerCase());
  if (win) return win;
  // "tzone://Microsoft/Custom" and friends are not real zones; only genuine IANA ids pass.
  if (!/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(name.trim())) return undefined;
  return canonicalTimeZone(name.trim());
}

/** Like zoneToIana, but a bad name is Graph's 400 TimeZoneNotSupportedException. */
export function requireZone(name: string): string {
  const iana = zoneToIana(name);
  if (!iana) {
    throw new GraphHttpError(400, 'TimeZoneNotSupportedException',
      `A valid TimeZone value must be specified. The following TimeZone value is not supported: '${name}'.`);
  }
  return iana;
}
