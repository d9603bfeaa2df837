/**
 * `GET /openapi.json`: the bridge's HTTP API as OpenAPI 3.1. Written by hand next to the routes;
 * test/bridge/openapi.test.ts checks that it names exactly the routes the server registers.
 */
const json = (schema: Record<string, unknown> = { type: 'object' }) => ({ 'application/json': { schema } });
const error = { description: 'error', content: json({ $ref: '#/components/schemas/Error' }) };
const admin = [{ adminToken: [] }];
const param = (name: string, where: 'path' | 'query', description: string, type = 'string') => ({ name, in: where, required: where === 'path', description, schema: { type } });
const ok = (description: string, content?: Record<string, unknown>) => ({ description, ...(content ? { content } : {}) });

const subscriptionBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: { type: 'string' },
    calendar_url: { type: 'string', format: 'uri', description: 'http, https or webcal URL of the remote ICS/JSON feed' },
    enabled: { type: 'boolean', default: true },
    interval: { type: 'integer', description: 'seconds between polls; at least subscriptions.minIntervalSec (default 300)' },
    booking_property: { type: 'object', properties: { room: { type: 'string' }, status: { enum: ['CONFIRMED', 'TENTATIVE', 'CANCELLED'] }, categories: { type: 'array', items: { type: 'string' } } } },
    auth: { description: 'write-only credentials for the remote feed; null removes them', oneOf: [{ type: 'null' }, { type: 'object', properties: { type: { enum: ['bearer', 'basic', 'header'] } }, required: ['type'] }] },
    sync_target: { type: ['string', 'null'], description: 'name of a sync target configured on the bridge (subscriptions.syncTargets; its credentials never pass through the API): the events are synced straight into a calendar instead of forwarding diffs; null: forward diffs' },
    sync_calendar: { type: ['string', 'null'], description: "the calendar (room) the target writes into, e.g. a room's address; null: the target's configured calendar" },
    sync_override: { type: ['array', 'null'], items: { enum: ['allow-empty', 'allow-shrink', 'force'] }, description: "guard overrides for the next poll only (a PUT polls at once); cleared when that poll is recorded" },
  },
};
const subscription = {
  type: 'object',
  properties: {
    id: { type: 'integer', readOnly: true },
    ...subscriptionBody.properties,
    auth: { oneOf: [{ type: 'null' }, { type: 'object', properties: { type: { type: 'string' } } }], description: 'only the type is shown' },
    last_checked_date: { type: ['integer', 'null'], readOnly: true, description: 'UNIX seconds' },
    last_checked_filesize: { type: ['integer', 'null'], readOnly: true, description: 'bytes' },
    last_parsed_date: { type: ['integer', 'null'], readOnly: true, description: 'UNIX seconds' },
    last_error: { type: ['string', 'null'], readOnly: true },
    event_count: { type: 'integer', readOnly: true },
    sync_status: {
      readOnly: true,
      description: "the last sync into sync_target (null: none yet); a guard's refusal (nothing written) or a failure also sets last_error",
      oneOf: [{ type: 'null' }, {
        type: 'object',
        properties: {
          target: { type: 'string' }, calendar: { type: 'string' }, date: { type: 'integer', description: 'UNIX seconds' }, ok: { type: 'boolean' },
          created: { type: 'integer' }, updated: { type: 'integer' }, deleted: { type: 'integer' }, kept: { type: 'integer', description: 'left as they were (unchanged, or kept by a rule)' }, failed: { type: 'integer' },
          guard: { type: ['string', 'null'], enum: ['SourceEmptyError', 'SourceShrankError', 'DeleteLimitError', null] }, error: { type: ['string', 'null'] },
        },
      }],
    },
    created_date: { type: 'integer', readOnly: true },
    updated_date: { type: 'integer', readOnly: true },
  },
};

const removeEvents = (what: string) => ({
  ...param('remove_events', 'query', `true: before the ${what} is carried out, the events this subscription created in its (old) room are removed — only those: a person's bookings and copies and other subscriptions' events stay. This request is the override of the empty-source and mass-deletion guards for that one run. Runs under the subscription's lease (waits up to subscriptions.leaseWaitMs for a poll); if the removal fails nothing else is changed. Default false: the events are left.`, 'boolean'),
  schema: { type: 'string', enum: ['true', 'false'], default: 'false' },
});
const removalRefused = { description: 'another lease (a poll, another instance) held the subscription beyond leaseWaitMs (Retry-After), the room changed meanwhile, or its sync target is not configured: nothing was removed or changed', content: json({ $ref: '#/components/schemas/RemovalError' }) };
const removalFailed = { description: 'removing the events failed (target unreachable, throttled beyond retries, any error): the subscription was not deleted or changed and keeps its record of the events it still owns; removed_events says how many went before', content: json({ $ref: '#/components/schemas/RemovalError' }) };

export function openApiDocument(serverUrl: string): Record<string, unknown> {
  const subId = param('id', 'path', 'subscription id', 'integer');
  return {
    openapi: '3.1.0',
    info: { title: 'Calendar Relay bridge', version: '0.1.0', description: 'Feeds for calendar apps, webhook intake with a durable outbox, import subscriptions. See docs/bridge.md.' },
    servers: serverUrl ? [{ url: serverUrl }] : [],
    components: {
      securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'the admin token' }, sourceBearer: { type: 'http', scheme: 'bearer', description: "a source's bearer token" } },
      schemas: { Error: { type: 'object', properties: { error: { type: 'string' }, items: { type: 'array', items: { type: 'object' } } }, required: ['error'] }, Subscription: subscription, SubscriptionBody: subscriptionBody, RemovalError: { type: 'object', properties: { error: { type: 'string' }, removed_events: { type: 'integer' }, failed_events: { type: 'integer' }, locked_by: { type: ['string', 'null'] }, locked_until: { type: 'integer', description: 'UNIX seconds' } }, required: ['error', 'removed_events'] } },
    },
    paths: {
      '/healthz': { get: { summary: 'the process answers', responses: { 200: ok('alive', json()) } } },
      '/readyz': { get: { summary: 'the store answers', responses: { 200: ok('ready', json()), 503: error } } },
      '/metrics': { get: { summary: 'Prometheus text format', security: admin, responses: { 200: ok('metrics', { 'text/plain': { schema: { type: 'string' } } }), 401: error } } },
      '/': { get: { summary: 'the status page (HTML; it asks for the admin token and reads /api/status)', responses: { 200: ok('page', { 'text/html': { schema: { type: 'string' } } }) } } },
      '/status.js': { get: { summary: "the status page's script", responses: { 200: ok('script', { 'text/javascript': { schema: { type: 'string' } } }) } } },
      '/status.css': { get: { summary: "the status page's style sheet", responses: { 200: ok('style sheet', { 'text/css': { schema: { type: 'string' } } }) } } },
      '/api/status': { get: { summary: 'feeds, subscriptions with status fields, outbox and its last errors', security: admin, responses: { 200: ok('status', json()), 401: error } } },
      '/openapi.json': { get: { summary: 'this document', responses: { 200: ok('OpenAPI 3.1', json()) } } },
      '/api/feeds/{name}': {
        parameters: [param('name', 'path', 'feed name: letters, digits, . _ -')],
        put: { summary: 'publish a new version (event JSON or ICS)', security: admin, requestBody: { content: { ...json(), 'text/calendar': { schema: { type: 'string' } } } }, responses: { 200: ok('published (or unchanged)', json()), 400: error, 401: error, 413: error, 415: error } },
        get: { summary: 'current version and subscribe URLs', security: admin, responses: { 200: ok('feed', json()), 401: error, 404: error } },
      },
      '/api/feeds/{name}/rotate-token': { parameters: [param('name', 'path', 'feed name')], post: { summary: 'new subscribe token; the old one stops working', security: admin, responses: { 200: ok('new URLs', json()), 401: error, 404: error } } },
      '/feeds/{file}': {
        parameters: [param('file', 'path', '<token>.ics or <token>.json')],
        get: { summary: 'the feed for subscribers (ETag, Last-Modified, gzip, per-token budget)', responses: { 200: ok('feed', { 'text/calendar': { schema: { type: 'string' } }, ...json() }), 304: ok('not modified'), 404: error, 429: error } },
      },
      '/feeds/{token}/events/{file}': {
        parameters: [param('token', 'path', 'feed token'), param('file', 'path', '<uid>.ics')],
        get: { summary: 'one event of a feed as ICS', responses: { 200: ok('event', { 'text/calendar': { schema: { type: 'string' } } }), 304: ok('not modified'), 404: error, 429: error } },
      },
      '/hooks/{source}': {
        parameters: [param('source', 'path', 'configured source name')],
        post: {
          summary: 'push a full snapshot of a source (JSON or ICS); the diff goes to the outbox',
          security: [{ sourceBearer: [] }, {}],
          description: 'Bearer token or X-Relay-Timestamp + X-Relay-Signature (HMAC-SHA256 over "<timestamp>.<body>"); X-Delivery-Id makes it idempotent.',
          requestBody: { content: { ...json(), 'text/calendar': { schema: { type: 'string' } } } },
          responses: { 200: ok('stored, unchanged or duplicate', json()), 400: error, 401: error, 404: error, 409: error, 413: error, 415: error },
        },
      },
      '/api/subscriptions': {
        get: {
          summary: 'list import subscriptions (Sonderplan list parameters)',
          security: admin,
          parameters: [param('id', 'query', 'comma-separated ids'), param('fields', 'query', 'comma-separated fields'), param('limit', 'query', 'per page (default 10)', 'integer'), param('page', 'query', 'page from 1', 'integer'), param('order_asc', 'query', 'field to sort ascending'), param('order_desc', 'query', 'field to sort descending')],
          responses: { 200: ok('{ data, meta: { pagination } }', json()), 400: error, 401: error },
        },
        post: { summary: 'create an import subscription', security: admin, requestBody: { required: true, content: json({ $ref: '#/components/schemas/SubscriptionBody' }) }, responses: { 201: ok('{ data }', json()), 400: error, 401: error, 415: error } },
      },
      '/api/subscriptions/{id}': {
        parameters: [subId],
        get: { summary: 'one subscription with its status fields', security: admin, responses: { 200: ok('{ data }', json({ type: 'object', properties: { data: { $ref: '#/components/schemas/Subscription' } } })), 401: error, 404: error } },
        put: {
          summary: 'change the fields given; polls again now',
          description: 'A new room (sync_target, sync_calendar, or sync_target null) starts clean: the providers\' state kept for the old room is reset. The events synced into the old room are left there unless remove_events=true.',
          security: admin, parameters: [removeEvents('PUT that changes the room')], requestBody: { required: true, content: json({ $ref: '#/components/schemas/SubscriptionBody' }) },
          responses: { 200: ok('{ data } and, when the room changed or remove_events was given, removed_events, events_left (and a note when events were left)', json()), 400: error, 401: error, 404: error, 409: removalRefused, 502: removalFailed },
        },
        delete: {
          summary: 'delete the subscription and its stored snapshots',
          description: 'Without remove_events=true the events it synced into a room are left there (events_left: true and a note say so).',
          security: admin, parameters: [removeEvents('DELETE')],
          responses: { 200: ok('{ deleted: true, removed_events, kept_events (with remove_events), events_left, sync_target, sync_calendar, note }', json()), 400: error, 401: error, 404: error, 409: removalRefused, 502: removalFailed },
        },
      },
    },
  };
}
