/** Google Calendar v3 emulator module (work in progress: filled in by the next commits). */
import type { ApiModule, EmuResponse, RequestScope } from '../types';

export interface GoogleAdmin {
  createCalendar(id: string): void;
}

export function createGoogleModule(): ApiModule & { admin: GoogleAdmin } {
  return {
    name: 'google',
    admin: { createCalendar() {} },
    claim(): RequestScope | undefined {
      return undefined;
    },
    async handle(): Promise<EmuResponse> {
      return { status: 501 };
    },
    faultResponse(): EmuResponse {
      return { status: 503 };
    },
    reset() {},
  };
}
