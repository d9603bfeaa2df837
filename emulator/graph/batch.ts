/**
 * JSON batching: `POST /v1.0/$batch` with up to 20 requests. Whole-batch checks (size, unique
 * ids, known dependsOn targets, Content-Type on bodies) fail the batch with 400; each item then
 * runs through the full emulator pipeline (`ctx.dispatch`), so faults, limits and the log apply
 * per item — a throttled item comes back as its own 429 with its own Retry-After. At most 4 items
 * run at once (Outlook's per-mailbox parallelism inside a batch); an item whose dependency failed
 * gets 424 without running. Responses can come back in any order (see BatchOrder).
 */
import type { EmuContext, EmuRequest, EmuResponse } from '../types';
import { GraphHttpError } from './errors';
import type { Json } from './store';
import { seededRandom } from '../prng';

export const MAX_BATCH = 20;
export const BATCH_PARALLELISM = 4;

/** How the responses array is ordered: as the items completed (default), as sent, reversed,
 * shuffled (seeded), or by a custom function of the completion order. */
export type BatchOrder = 'completion' | 'request' | 'reverse' | { shuffleSeed: number } | ((ids: string[]) => string[]);

interface BatchItem {
  id: string;
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  dependsOn?: string[];
}

const bad = (m: string) => new GraphHttpError(400, 'BadRequest', m);

function parseItems(req: EmuRequest): BatchItem[] {
  let payload: { requests?: unknown };
  try {
    payload = JSON.parse(req.body.toString('utf8'));
  } catch {
    throw bad('Invalid batch payload format: the body is not JSON.');
  }
  const items = payload?.requests;
  if (!Array.isArray(items) || items.length === 0) throw bad('Invalid batch payload format: "requests" must be a non-empty array.');
  if (items.length > MAX_BATCH) throw bad(`Number of batch requests (${items.length}) exceeds the limit of ${MAX_BATCH}.`);
  const ids = new Set<string>();
  items.forEach((it: BatchItem, i) => {
    if (!it || typeof it.id !== 'string' || !it.id) throw bad(`requests[${i}].id is required and must be a string.`);
    if (ids.has(it.id)) throw bad(`Batch request ids must be unique; '${it.id}' is used more than once.`);
    ids.add(it.id);
    if (typeof it.method !== 'string' || typeof it.url !== 'string') throw bad(`Request id : ${it.id} needs a method and a url.`);
    if (/^https?:/i.test(it.url)) throw bad(`Request id : ${it.id}: the url must be relative to the version, e.g. "/users/{id}/events".`);
    const hasContentType = Object.keys(it.headers ?? {}).some((k) => k.toLowerCase() === 'content-type');
    if (it.body !== undefined && it.body !== null && !hasContentType) {
      throw bad(`Write request id : ${it.id} does not contain Content-Type header or body.`);
    }
  });
  for (const it of items as BatchItem[]) {
    for (const dep of it.dependsOn ?? []) {
      if (!ids.has(dep)) throw bad(`Request id : ${it.id} depends on '${dep}', which is not in the batch.`);
      if (dep === it.id) throw bad(`Request id : ${it.id} depends on itself.`);
    }
  }
  return items as BatchItem[];
}

const CANONICAL: Record<string, string> = {
  'content-type': 'Content-Type', 'retry-after': 'Retry-After', location: 'Location', etag: 'ETag', 'preference-applied': 'Preference-Applied',
};

function itemResponse(id: string, res: EmuResponse): Json {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers ?? {})) {
    const c = CANONICAL[k.toLowerCase()];
    if (c) headers[c] = v;
  }
  let body = res.body;
  if (Buffer.isBuffer(body)) body = body.toString('utf8');
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      /* keep text */
    }
  }
  if (body !== undefined && body !== null && !headers['Content-Type']) headers['Content-Type'] = 'application/json';
  const out: Json = { id, status: res.status, headers };
  if (body !== undefined && body !== null && res.status !== 204) out.body = body;
  return out;
}

function innerRequest(outer: EmuRequest, it: BatchItem): EmuRequest {
  const rel = it.url.replace(/^\//, '');
  const q = rel.indexOf('?');
  const path = '/v1.0/' + (q < 0 ? rel : rel.slice(0, q));
  const query = new URLSearchParams(q < 0 ? '' : rel.slice(q + 1));
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(it.headers ?? {})) headers[k.toLowerCase()] = String(v);
  // Items run with the batch's own credentials.
  if (outer.headers['authorization']) headers['authorization'] = outer.headers['authorization'];
  let body = Buffer.alloc(0);
  if (it.body !== undefined && it.body !== null) body = Buffer.from(typeof it.body === 'string' ? it.body : JSON.stringify(it.body), 'utf8');
  return { method: it.method.toUpperCase(), path, query, headers, body, inBatch: true };
}

function seededShuffle<T>(xs: T[], seed: number): T[] {
  const rnd = seededRandom(seed);
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export async function handleBatch(req: EmuRequest, ctx: EmuContext, order: BatchOrder): Promise<EmuResponse> {
  const items = parseItems(req);
  ctx.recordBatch(items.length);
  const results = new Map<string, Json>();
  const completion: string[] = [];
  const pending = [...items];
  const running = new Set<Promise<void>>();
  const succeeded = (id: string) => {
    const s = results.get(id)?.status as number | undefined;
    return s !== undefined && s >= 200 && s < 300;
  };
  const finish = (id: string, r: Json) => {
    results.set(id, r);
    completion.push(id);
  };
  while (pending.length > 0 || running.size > 0) {
    let progressed = false;
    for (let i = 0; i < pending.length && running.size < BATCH_PARALLELISM; i++) {
      const it = pending[i];
      const deps = it.dependsOn ?? [];
      if (!deps.every((d) => results.has(d))) continue;
      pending.splice(i--, 1);
      progressed = true;
      if (!deps.every(succeeded)) {
        finish(it.id, {
          id: it.id, status: 424, headers: { 'Content-Type': 'application/json' },
          body: { error: { code: 'FailedDependency', message: `The request depends on ${deps.join(', ')}, which failed.` } },
        });
        continue;
      }
      const p: Promise<void> = ctx.dispatch(innerRequest(req, it))
        .catch((): EmuResponse => ({ status: 503, body: { error: { code: 'ServiceUnavailable', message: 'The connection for this request was reset.' } } }))
        .then((res) => finish(it.id, itemResponse(it.id, res)))
        .finally(() => running.delete(p));
      running.add(p);
    }
    if (running.size > 0) await Promise.race(running);
    else if (!progressed && pending.length > 0) {
      // Only a dependency cycle can leave items that never become ready.
      for (const it of pending.splice(0)) finish(it.id, { id: it.id, status: 424, headers: {}, body: { error: { code: 'FailedDependency', message: 'Circular dependsOn.' } } });
    }
  }
  let ids: string[];
  if (order === 'completion') ids = completion;
  else if (order === 'request') ids = items.map((i) => i.id);
  else if (order === 'reverse') ids = items.map((i) => i.id).reverse();
  else if (typeof order === 'function') ids = order([...completion]);
  else ids = seededShuffle(items.map((i) => i.id), order.shuffleSeed);
  return { status: 200, headers: { 'content-type': 'application/json' }, body: { responses: ids.map((id) => results.get(id)!) } };
}
