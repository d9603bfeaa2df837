/**
 * Event bodies are checked against the `Event` type of @microsoft/microsoft-graph-types (generated
 * into schema/graph-event.json by schema/generate.mjs) with the shared checker in
 * emulator/schema/validate.ts, so a misspelled or mistyped field fails with 400 naming its path.
 *
 * Stricter than Graph (documented in README.md): read-only properties and navigation properties
 * the emulator does not model are rejected instead of ignored.
 */
import { formatIssues, validateBody, type SchemaFile } from '../schema/validate';
import { GraphHttpError } from './errors';
import eventSchema from './schema/graph-event.json';

const READ_ONLY = new Set([
  'id', 'createdDateTime', 'lastModifiedDateTime', 'changeKey', 'iCalUId', 'type', 'seriesMasterId', 'originalStart',
  'webLink', 'hasAttachments', 'bodyPreview', 'isOrganizer', 'responseStatus', 'cancelledOccurrences', 'exceptionOccurrences',
  'instances', 'calendar', '@odata.etag', 'onlineMeeting', 'onlineMeetingUrl', 'isCancelled',
]);
const NOT_MODELLED = new Set(['attachments', 'extensions', 'multiValueExtendedProperties']);

export function validateEventBody(body: Record<string, unknown>, mode: 'create' | 'patch'): void {
  for (const key of Object.keys(body)) {
    if (READ_ONLY.has(key)) throw new GraphHttpError(400, 'ErrorInvalidPropertySet', `${key}: read-only property cannot be set on ${mode} (the emulator rejects it; Graph may ignore some).`);
    if (NOT_MODELLED.has(key)) throw new GraphHttpError(400, 'BadRequest', `${key}: not modelled by the emulator.`);
  }
  if ('@odata.type' in body && body['@odata.type'] !== '#microsoft.graph.event') {
    throw new GraphHttpError(400, 'BadRequest', `@odata.type: expected "#microsoft.graph.event", got ${JSON.stringify(body['@odata.type'])}`);
  }
  const issues = validateBody(eventSchema as SchemaFile, 'Event', body, { extraFields: (_path, key) => key === '@odata.type' });
  if (issues.length > 0) {
    throw new GraphHttpError(400, 'RequestBodyRead', `Invalid event body: ${formatIssues(issues)}`);
  }
}
