import type {
  IAuthenticateGeneric, ICredentialDataDecryptedObject, ICredentialTestRequest, ICredentialType, IDataObject, IHttpRequestHelper, INodeProperties, Icon,
} from 'n8n-workflow';
import { signServiceAccountJwt, CALENDAR_SCOPE, DIRECTORY_RESOURCE_SCOPE } from '../providers/google/auth';

/**
 * Google service account (JWT bearer grant), optionally impersonating a user through domain-wide
 * delegation — the usual way to write into room calendars. The access token is fetched in
 * preAuthentication and kept in the hidden, expirable `sessionToken`, so n8n refreshes it after a
 * 401; the Calendar Relay nodes run the same flow themselves (providers/google/auth.ts).
 */
export class CalendarRelayGoogleServiceAccountApi implements ICredentialType {
  name = 'calendarRelayGoogleServiceAccountApi';

  displayName = 'Calendar Relay: Google Service Account API';

  icon: Icon = { light: 'file:icons/google.svg', dark: 'file:icons/google.dark.svg' };

  documentationUrl = 'https://github.com/calendar-relay/n8n-nodes-calendar-relay/blob/main/docs/providers-google.md';

  properties: INodeProperties[] = [
    {
      displayName: 'Service Account Email',
      name: 'email',
      type: 'string',
      placeholder: 'relay@my-project.iam.gserviceaccount.com',
      default: '',
      required: true,
    },
    {
      displayName: 'Private Key',
      name: 'privateKey',
      type: 'string',
      typeOptions: { password: true },
      default: '',
      required: true,
      description: 'The "private_key" of the key file (PEM, starting with -----BEGIN PRIVATE KEY-----)',
    },
    {
      displayName: 'Impersonate a User',
      name: 'impersonate',
      type: 'boolean',
      default: false,
      description: 'Whether to act as a user of the domain (domain-wide delegation), e.g. an admin who can write room calendars',
    },
    {
      displayName: 'Email of the User to Impersonate',
      name: 'delegatedEmail',
      type: 'string',
      default: '',
      displayOptions: { show: { impersonate: [true] } },
    },
    {
      displayName: 'Token URL',
      name: 'tokenUrl',
      type: 'string',
      default: 'https://oauth2.googleapis.com/token',
      description: 'Change only for a test server',
    },
    {
      displayName: 'API Root URL',
      name: 'apiRootUrl',
      type: 'string',
      default: 'https://www.googleapis.com/',
      description: 'Root of the Calendar and Directory APIs; change only for a test server such as the Calendar Relay emulator',
    },
    { displayName: 'Session Token', name: 'sessionToken', type: 'hidden', typeOptions: { expirable: true, password: true }, default: '' },
  ];

  async preAuthentication(this: IHttpRequestHelper, credentials: ICredentialDataDecryptedObject): Promise<IDataObject> {
    const tokenUrl = String(credentials.tokenUrl || 'https://oauth2.googleapis.com/token');
    const assertion = signServiceAccountJwt({
      clientEmail: String(credentials.email),
      privateKey: String(credentials.privateKey).replace(/\\n/g, '\n'),
      subject: credentials.impersonate && credentials.delegatedEmail ? String(credentials.delegatedEmail) : undefined,
      scopes: [CALENDAR_SCOPE, DIRECTORY_RESOURCE_SCOPE],
      tokenUrl,
    }, Date.now());
    const res = (await this.helpers.httpRequest({
      method: 'POST',
      url: tokenUrl,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString(),
      json: true,
    })) as { access_token?: string };
    return { sessionToken: res.access_token };
  }

  authenticate: IAuthenticateGeneric = {
    type: 'generic',
    properties: { headers: { Authorization: '=Bearer {{$credentials.sessionToken}}' } },
  };

  test: ICredentialTestRequest = {
    request: { baseURL: '={{$credentials.apiRootUrl.replace(/\\/$/, "")}}', url: '/calendar/v3/users/me/calendarList', qs: { maxResults: 1 } },
  };
}
