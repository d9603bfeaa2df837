/**
 * `GET|PATCH /users/{id}/mailboxSettings` and `GET /users/{id}/mailboxSettings/timeZone`: the
 * mailbox's preferred time zone (clients place all-day and floating events in it). Graph returns
 * the zone in the format the administrator set — Windows ("W. Europe Standard Time", the default
 * format) or IANA — so the emulator returns the name exactly as it was set. Only `timeZone` can be
 * PATCHed here; other settings are answered but not modelled.
 */
import type { EmuRequest, EmuResponse } from '../types';
import { GraphHttpError } from './errors';
import type { Mailbox } from './store';
import { requireZone } from './zones';

function settingsOf(mb: Mailbox): Record<string, unknown> {
  return {
    archiveFolder: '',
    timeZone: mb.timeZone,
    automaticRepliesSetting: { status: 'disabled', externalAudience: 'none', internalReplyMessage: '', externalReplyMessage: '' },
    dateFormat: 'dd.MM.yyyy',
    timeFormat: 'HH:mm',
    language: { locale: 'en-US', displayName: 'English (United States)' },
    workingHours: {
      daysOfWeek: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday'], startTime: '08:00:00.0000000', endTime: '17:00:00.0000000',
      timeZone: { name: mb.timeZone },
    },
    userPurpose: mb.room ? 'room' : 'user',
    delegateMeetingMessageDeliveryOptions: 'sendToDelegateOnly',
  };
}

/** `rest` starts at "mailboxSettings"; `userPath` is "/users/{id}" or "/me" as requested. */
export function serveMailboxSettings(req: EmuRequest, mb: Mailbox, rest: string[], baseUrl: string, userRef: string): EmuResponse {
  const low = rest.map((s) => s.toLowerCase());
  const context = `${baseUrl}/v1.0/$metadata#users('${encodeURIComponent(userRef)}')/mailboxSettings`;
  if (low.length === 2 && low[1] === 'timezone') {
    if (req.method !== 'GET') throw new GraphHttpError(405, 'BadRequest', `The HTTP method '${req.method}' is not allowed for this resource.`);
    return { status: 200, body: { '@odata.context': `${context}/timeZone`, value: mb.timeZone } };
  }
  if (low.length !== 1) throw new GraphHttpError(400, 'BadRequest', `Resource not found for the segment '${rest[1]}'.`);
  if (req.method === 'GET') return { status: 200, body: { '@odata.context': context, ...settingsOf(mb) } };
  if (req.method !== 'PATCH') throw new GraphHttpError(405, 'BadRequest', `The HTTP method '${req.method}' is not allowed for this resource.`);
  let body: unknown;
  try {
    body = JSON.parse(req.body.toString('utf8') || '{}');
  } catch {
    throw new GraphHttpError(400, 'BadRequest', 'Unable to read JSON request payload.');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new GraphHttpError(400, 'BadRequest', 'The request body must be a JSON object.');
  for (const [k, v] of Object.entries(body)) {
    if (k === '@odata.context') continue;
    if (k !== 'timeZone') throw new GraphHttpError(400, 'BadRequest', `mailboxSettings.${k}: the emulator only models PATCHing timeZone.`);
    if (typeof v !== 'string') throw new GraphHttpError(400, 'BadRequest', 'mailboxSettings.timeZone must be a string.');
    requireZone(v);
    mb.timeZone = v;
  }
  return { status: 200, body: { '@odata.context': context, ...settingsOf(mb) } };
}
