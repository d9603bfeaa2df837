/**
 * toNodeError: the one mapping from the project's typed errors to n8n's (ARCHITECTURE.md rule 6).
 * HTTP-level failures (ProviderError with a status, FeedReadError with a status, TransportError)
 * become NodeApiError; everything the user can fix in the node's parameters or input
 * (guards, bad event JSON, routing) becomes NodeOperationError. The item index is always passed.
 */
import { NodeApiError, NodeOperationError } from 'n8n-workflow';
import type { INode, JsonObject } from 'n8n-workflow';
import { ProviderError, TransportError } from '../../providers/port';
import { FeedReadError } from '../../providers/feed/url';

/** Hints per error name: what to change in the node. */
const HINTS: Record<string, string> = {
  SourceEmptyError: 'The source delivered no events (or failed) while the target still has synced events. If the source really is empty now, enable "Allow Empty Source" under Guards.',
  DeleteLimitError: 'This run would delete more events than the guard allows. Check the source; if the deletes are intended, raise the limits or enable "Force" under Guards.',
  FeedReadError: 'Check the feed URL, its authentication and the request budget.',
  PlanInputError: 'Check the input items: each must be an event (see the Calendar Relay event model) or match the field mapping.',
  RoutingConfigError: 'Check the room mapping.',
};

export function toNodeError(node: INode, err: unknown, itemIndex?: number): NodeApiError | NodeOperationError {
  if (err instanceof NodeApiError || err instanceof NodeOperationError) return err;
  const e = err instanceof Error ? err : new Error(String(err));
  const description = HINTS[e.name];
  const status = e instanceof ProviderError ? e.status : e instanceof FeedReadError ? e.status : undefined;
  if (status !== undefined || e instanceof TransportError || (e instanceof ProviderError && e.scope === 'auth')) {
    const body: JsonObject = { message: e.message, ...(status !== undefined ? { httpCode: String(status) } : {}) };
    return new NodeApiError(node, body, {
      itemIndex,
      message: e.message,
      ...(status !== undefined ? { httpCode: String(status) } : {}),
      ...(description ? { description } : {}),
    });
  }
  return new NodeOperationError(node, e, { itemIndex, ...(description ? { description } : {}) });
}

/** The error's message for an output item (continueOnFail). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
