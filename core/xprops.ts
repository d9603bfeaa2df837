/**
 * Which X- properties of an event travel to a target calendar (Google extendedProperties.shared,
 * Graph singleValueExtendedProperties), e.g. Kaltura's X-KALTURA-ID / X-KALTURA-RESOURCE-IDS.
 * Both providers and the fingerprint use this one selection, so a change to a kept X- property
 * rewrites the event and nothing else does.
 *
 * Kept: names `X-` + letters, digits and dashes, at most 44 characters (Google drops longer
 * keys); values of at most 1024 characters (Google cuts longer ones: a cut value would be a silent
 * change, so a longer property is left out instead, like X-ALT-DESC HTML usually is); the first
 * property of each name; at most MAX_KEPT_XPROPS properties and MAX_KEPT_XPROP_CHARS characters
 * in all (Google allows 300 / 32 kB per event, shared with our ownership stamp; every distinct
 * name is a named property in an Exchange mailbox). Values are written verbatim, params dropped.
 */
import type { CalendarEvent, XProperty } from './event';

export const MAX_XPROP_NAME = 44;
export const MAX_XPROP_VALUE = 1024;
export const MAX_KEPT_XPROPS = 32;
export const MAX_KEPT_XPROP_CHARS = 16_000;

const NAME_RE = /^X-[A-Z0-9-]+$/;

/** The X- properties of `e` a provider writes to the target, in the event's order. */
export function keptXProps(e: Pick<CalendarEvent, 'xProps'>): Array<{ name: string; value: string }> {
  const out: Array<{ name: string; value: string }> = [];
  const seen = new Set<string>();
  let chars = 0;
  for (const x of (e.xProps ?? []) as XProperty[]) {
    if (out.length >= MAX_KEPT_XPROPS) break;
    const name = typeof x?.name === 'string' ? x.name.toUpperCase() : '';
    if (!NAME_RE.test(name) || name.length > MAX_XPROP_NAME || seen.has(name)) continue;
    if (typeof x.value !== 'string' || x.value.length > MAX_XPROP_VALUE) continue;
    seen.add(name);
    if (chars + name.length + x.value.length > MAX_KEPT_XPROP_CHARS) continue;
    chars += name.length + x.value.length;
    out.push({ name, value: x.value });
  }
  return out;
}

/** True for a name keptXProps could produce (used when reading properties back from a target). */
export function isKeptXPropName(name: string): boolean {
  return NAME_RE.test(name) && name.length <= MAX_XPROP_NAME;
}
