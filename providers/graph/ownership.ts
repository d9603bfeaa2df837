/**
 * Microsoft 365: is a stamped event the one this sync wrote, or a person's copy of it? Outlook
 * copies extended properties with an event, and Graph ids are chosen by the server, so the stamp
 * cannot name its event. Instead the provider records, per mailbox and syncId, which event it
 * created for each key (a 16-hex hash of the key → 16-hex hashes of the event ids, about 40 bytes
 * per event) in its KeyValueStore, and reads it back on listing: a stamped event that is not a
 * recorded one for its key is a copy (TargetEvent.copy) and is never changed or deleted. Two
 * workers that raced can both have created an event for a key: both are recorded, so the next
 * run removes the duplicate. The record is read and written per listing and per write request
 * (merged, not overwritten), so workers sharing the store do not lose each other's entries.
 *
 * When there is no record for a key (state lost, a store shared by nobody, events written by an
 * older version), the oldest event carrying the key (createdDateTime, then id) is taken as ours
 * and recorded; younger ones are reported as copies. So without state a crash-made duplicate is
 * kept and shown rather than deleted, and a copy whose original a person deleted is adopted.
 * Workers syncing the same mailboxes should share the store (the bridge's database, one state file).
 *
 * The same record is the creation ledger behind Graph's transactionId (mapper.ts transactionIdFor):
 * per key it also keeps `last`, the (hashed) id of the event this sync last created or adopted,
 * which stays when that event is gone (deleted by a person or by us). A create's transactionId is
 * derived from `last` as it stood when the mailbox was listed (priorIdFor): every worker that saw
 * the same target state sends the same one, and a re-create after a deletion sends a new one.
 * There is one record per mailbox and syncId, `graph-created:<mailbox>:<syncId>` =
 * `{ v: 2, ids: {hash(key): [hash(id)…]}, last: {hash(key): hash(id)} }` (v1, without `last`, is read).
 */
import { createHash } from 'node:crypto';
import type { KeyValueStore } from '../state';
import type { OwnershipStamp, TargetEvent, WriteResult } from '../port';

const PREFIX = 'graph-created:';

interface CreatedRecord {
  v: 2;
  /** hash(key) → hashes of the ids of the events this sync created for it ([] once they were deleted) */
  ids: Record<string, string[]>;
  /** hash(key) → hash of the id this sync last created or adopted for it, kept after it is gone (transactionIds) */
  last: Record<string, string>;
}

const h = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex').slice(0, 16);

function parseRecord(raw: string | undefined): CreatedRecord {
  try {
    const parsed = raw ? (JSON.parse(raw) as { v?: number; ids?: Record<string, string[]>; last?: Record<string, string> }) : undefined;
    if ((parsed?.v === 1 || parsed?.v === 2) && parsed.ids && typeof parsed.ids === 'object') {
      const last: Record<string, string> = parsed.v === 2 && parsed.last && typeof parsed.last === 'object' ? parsed.last : {};
      // v1 (ownership only): the newest recorded id of a key stands in for `last`.
      if (parsed.v === 1) for (const [kh, list] of Object.entries(parsed.ids)) if (Array.isArray(list) && list.length) last[kh] = list[list.length - 1];
      return { v: 2, ids: parsed.ids, last };
    }
  } catch {
    /* unreadable: start over (the fallback adopts) */
  }
  return { v: 2, ids: {}, last: {} };
}

function byAge(a: TargetEvent, b: TargetEvent): number {
  const ca = a.event.created ?? '';
  const cb = b.event.created ?? '';
  return ca < cb ? -1 : ca > cb ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export class CreatedIdRecord {
  /** The syncId of events seen in listings (a delete op carries no stamp). */
  private readonly syncOfId = new Map<string, string>();
  /** Per mailbox and syncId: `last` as it stood at the latest listing (what transactionIds derive from). */
  private readonly lastAtListing = new Map<string, Record<string, string>>();

  constructor(private readonly store: KeyValueStore) {}

  private recordKey(mailbox: string, syncId: string): string {
    return `${PREFIX}${mailbox.toLowerCase()}:${syncId}`;
  }

  /**
   * Reads, changes and (when `change` says so) writes back one record. With a synchronous store
   * nothing runs between the read and the write, so concurrent writers in a process never lose entries.
   */
  private async update(mailbox: string, syncId: string, change: (rec: CreatedRecord) => boolean): Promise<void> {
    const k = this.recordKey(mailbox, syncId);
    let raw = this.store.get(k);
    if (raw instanceof Promise) raw = await raw;
    const rec = parseRecord(raw);
    if (!change(rec)) return;
    const done = this.store.set(k, JSON.stringify(rec));
    if (done instanceof Promise) await done;
  }

  /** Marks the stamped events of `syncId` that are not recorded (or, without a record, the oldest) for their key as copies. */
  async markCopies(mailbox: string, syncId: string, targets: TargetEvent[]): Promise<TargetEvent[]> {
    const byKey = new Map<string, TargetEvent[]>();
    for (const t of targets) {
      if (t.stamp?.syncId !== syncId) continue;
      this.syncOfId.set(t.id, syncId);
      const list = byKey.get(t.stamp.sourceKey) ?? [];
      list.push(t);
      byKey.set(t.stamp.sourceKey, list);
    }
    await this.update(mailbox, syncId, (rec) => {
      let adopted = false;
      for (const [key, list] of byKey) {
        const kh = h(key);
        if (rec.ids[kh] === undefined) {
          // No record: the oldest event with the key is ours (a copy is younger than its original).
          rec.ids[kh] = [h([...list].sort(byAge)[0].id)];
          adopted = true;
        }
        const ours = new Set(rec.ids[kh]);
        for (const t of list) if (!ours.has(h(t.id))) t.copy = 'not an event this sync created for its key (recorded in the provider state)';
        // The ledger names one of ours that the target holds (the newest recorded one).
        const held = rec.ids[kh].filter((x) => list.some((t) => h(t.id) === x));
        if (held.length && !held.includes(rec.last[kh])) {
          rec.last[kh] = held[held.length - 1];
          adopted = true;
        }
      }
      // Creates planned from this listing derive their transactionIds from the ledger as it stands now.
      this.lastAtListing.set(this.recordKey(mailbox, syncId), { ...rec.last });
      return adopted;
    });
    return targets;
  }

  /**
   * The prior id a create's transactionId is derived from (mapper.ts transactionIdFor): the hashed
   * id of the event this sync last created or adopted for the key, as recorded at the latest
   * listing of the mailbox; undefined for a key never written. Without a listing first (Event node,
   * tests) the record as of the first write stands in, so a re-sent create keeps its transactionId.
   */
  async priorIdFor(mailbox: string, stamp: OwnershipStamp): Promise<string | undefined> {
    const k = this.recordKey(mailbox, stamp.syncId);
    let seen = this.lastAtListing.get(k);
    if (!seen) {
      let raw = this.store.get(k);
      if (raw instanceof Promise) raw = await raw;
      seen = { ...parseRecord(raw).last };
      this.lastAtListing.set(k, seen);
    }
    return seen[h(stamp.sourceKey)];
  }

  /** Records created events (also as the key's `last`), forgets deleted ones (their `last` stays). */
  async noteWrites(mailbox: string, results: WriteResult[]): Promise<void> {
    const bySync = new Map<string, WriteResult[]>();
    for (const r of results) {
      if (!r?.ok) continue;
      const syncId = r.op.op === 'create' ? r.op.stamp.syncId : r.op.op === 'delete' ? this.syncOfId.get(r.op.targetId) : undefined;
      if (!syncId || (r.op.op === 'create' && !r.targetId)) continue;
      bySync.set(syncId, [...(bySync.get(syncId) ?? []), r]);
    }
    for (const [syncId, list] of bySync) {
      await this.update(mailbox, syncId, (rec) => {
        let changed = false;
        for (const r of list) {
          const kh = h(r.op.key);
          const have = rec.ids[kh] ?? [];
          if (r.op.op === 'create') {
            const id = h(r.targetId!);
            if (!have.includes(id)) {
              rec.ids[kh] = [...have, id];
              changed = true;
            }
            if (rec.last[kh] !== id) {
              rec.last[kh] = id;
              changed = true;
            }
          } else if (r.op.op === 'delete') {
            const id = h(r.op.targetId);
            if (have.includes(id)) {
              // An empty list stays: "none of ours left", so a copy left behind is not adopted.
              rec.ids[kh] = have.filter((x) => x !== id);
              changed = true;
            }
          }
        }
        return changed;
      });
    }
  }
}
