/** CalDAV provider (Nextcloud, iCloud, Fastmail, Radicale, Xandikos): see docs/providers-caldav.md. */
export { CalDavCalendarProvider, CALDAV_MAX_BATCH, CALDAV_MAX_CONCURRENCY_PER_CALENDAR } from './adapter';
export type { CalDavProviderOptions } from './adapter';
export { createCalDavHttpPort, basicAuthHeader } from './http';
export type { CalDavAuth, CalDavHttpPortOptions } from './http';
export { DavClient, discoverCalendars, resolveCalendar, calendarsAsRooms, mkcalendarBody, davError } from './dav';
export type { CalDavCalendar, Discovery } from './dav';
export { parseResource, serializeResource, componentFor, resourceName, resourceUid, resourceKeyOf, STAMP_SYNC_ID, STAMP_KEY, STAMP_FINGERPRINT, STAMP_DIGEST, STAMP_SOURCE_UID, DIGEST_ZONE } from './resource';
export { parseXml, parseMultistatus, XmlError } from './xml';
