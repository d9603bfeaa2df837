/** Credentials for the node tests, pointing at the in-process emulator. */
import { generateKeyPairSync } from 'node:crypto';
import type { Emulator } from '../../emulator';
import { TestCredentials } from './harness';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
export const SERVICE_ACCOUNT = 'relay@project.iam.gserviceaccount.com';

/** Registers the apps/accounts in the (reset) emulator and returns matching n8n credentials. */
export function emulatorCredentials(emu: Emulator): TestCredentials {
  emu.google.registerServiceAccount(SERVICE_ACCOUNT, publicKey.export({ type: 'spki', format: 'pem' }).toString());
  emu.graph.registerApp('client-1', 'secret-1', 'tenant-1');
  const creds = new TestCredentials();
  creds.set('calendarRelayGoogleServiceAccountApi', {
    email: SERVICE_ACCOUNT, privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), impersonate: true, delegatedEmail: 'admin@example.org',
    tokenUrl: `${emu.url}/token`, apiRootUrl: `${emu.url}/`, sessionToken: '',
  });
  creds.set('calendarRelayMicrosoftAppOnlyApi', {
    tenantId: 'tenant-1', clientId: 'client-1', clientSecret: 'secret-1', loginUrl: emu.url, graphBaseUrl: `${emu.url}/v1.0`, sessionToken: '',
  });
  return creds;
}
