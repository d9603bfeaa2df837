/**
 * Microsoft Graph v1.0 emulator module (calendar events, calendarView, delta, places, $batch,
 * Microsoft identity token endpoint). Work in progress: see emulator/graph/README.md.
 */
import type { ApiModule, EmuRequest, EmuResponse, FaultDecision, RequestScope } from '../types';

export interface GraphAdmin {
  createMailbox(upn: string, opts?: { room?: boolean; displayName?: string }): void;
}

export function createGraphModule(): ApiModule & { admin: GraphAdmin } {
  return {
    name: 'graph',
    admin: { createMailbox() {} },
    claim(_req: EmuRequest): RequestScope | undefined {
      return undefined;
    },
    async handle(): Promise<EmuResponse> {
      return { status: 501 };
    },
    faultResponse(_d: FaultDecision): EmuResponse {
      return { status: 503 };
    },
    reset() {},
  };
}
