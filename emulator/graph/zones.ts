/**
 * Time-zone names as Graph accepts them: Windows ids ("W. Europe Standard Time", via CLDR
 * windowsZones in core/ics) and IANA names ("Europe/Berlin"). Both resolve to IANA for the
 * arithmetic in core/time.ts; responses keep the name the client used.
 */
import { windowsToIana } from '../../core/ics/timezones';
import { canonicalTimeZone } from '../../core/time';
import { GraphHttpError } from './errors';

/** The IANA zone for a Windows or IANA name, or undefined when neither. */
export function zoneToIana(name: string): string | undefined {
  const trimmed = name.trim();
  const win = windowsToIana(trimmed);
  if (win) return win;
  // Only genuine zone ids pass: Intl also accepts offsets such as "+01:00", which Graph does not.
  if (!/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(trimmed)) return undefined;
  return canonicalTimeZone(trimmed);
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
