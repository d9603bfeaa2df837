/**
 * Google: is a stamped event the one this sync wrote, or a person's copy of it? Google copies
 * extended properties with an event ("Duplicate", copy to another calendar), so the stamp alone
 * is no proof. What a copy cannot carry is the id: we create every event with the id derived
 * from syncId + key (ids.ts googleEventId, generations 0..MAX_ID_GENERATION), and an override is
 * an instance of such a series (`recurringEventId`). Anything else that carries our stamp is a copy.
 */
import { parseKey } from '../../core/sync-key';
import type { OwnershipStamp } from '../port';
import { googleEventId, isDeterministicId, MAX_ID_GENERATION } from './ids';

/** True when `id` is an id this sync gives `sourceKey` (any generation). */
export function isOurGoogleId(syncId: string, sourceKey: string, id: string): boolean {
  if (!isDeterministicId(id)) return false;
  for (let gen = 0; gen <= MAX_ID_GENERATION; gen++) if (googleEventId(syncId, sourceKey, gen) === id) return true;
  return false;
}

/** Why a stamped event is not ours (a copy), or undefined when it is the event this sync wrote. */
export function googleCopyReason(g: { id?: string; recurringEventId?: string }, stamp: OwnershipStamp): string | undefined {
  const id = g.id ?? '';
  if (g.recurringEventId) {
    // An instance: ours when its series is (an override's stamp names `<master> r:…`; an instance that inherited the master's stamp names the master).
    const k = parseKey(stamp.sourceKey);
    const master = k.kind === 'override' ? k.masterKey : k.key;
    return isOurGoogleId(stamp.syncId, master, g.recurringEventId) ? undefined : `occurrence of series ${g.recurringEventId}, which this sync did not create`;
  }
  return isOurGoogleId(stamp.syncId, stamp.sourceKey, id) ? undefined : `id ${id} is not the id this sync gives its key`;
}
