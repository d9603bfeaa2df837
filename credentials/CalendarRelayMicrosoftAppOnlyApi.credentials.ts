import type {
  IAuthenticateGeneric, ICredentialDataDecryptedObject, ICredentialTestRequest, ICredentialType, IDataObject, IHttpRequestHelper, INodeProperties, Icon,
} from 'n8n-workflow';

/**
 * Microsoft 365, app-only (client-credentials grant) — the usual way to write into room
 * mailboxes. The token is fetched in preAuthentication and kept in the hidden, expirable
 * `sessionToken` (n8n refreshes it after a 401); the Calendar Relay nodes run the same flow
 * themselves (providers/graph/auth.ts).
 */
export class CalendarRelayMicrosoftAppOnlyApi implements ICredentialType {
  name = 'calendarRelayMicrosoftAppOnlyApi';

  displayName = 'Calendar Relay: Microsoft App-Only API';

  icon: Icon = { light: 'file:icons/microsoft.svg', dark: 'file:icons/microsoft.dark.svg' };

  documentationUrl = 'https://github.com/calendar-relay/n8n-nodes-calendar-relay/blob/main/docs/providers-graph.md';

  properties: INodeProperties[] = [
    { displayName: 'Tenant ID', name: 'tenantId', type: 'string', default: '', required: true, description: 'Directory (tenant) ID or domain' },
    { displayName: 'Client ID', name: 'clientId', type: 'string', default: '', required: true },
    { displayName: 'Client Secret', name: 'clientSecret', type: 'string', typeOptions: { password: true }, default: '', required: true },
    {
      displayName: 'Login URL',
      name: 'loginUrl',
      type: 'string',
      default: 'https://login.microsoftonline.com',
      description: 'Change for a national cloud (e.g. https://login.microsoftonline.us) or a test server',
    },
    {
      displayName: 'Graph Base URL',
      name: 'graphBaseUrl',
      type: 'string',
      default: 'https://graph.microsoft.com/v1.0',
      description: 'Change for a national cloud (e.g. https://graph.microsoft.us/v1.0) or a test server',
    },
    { displayName: 'Session Token', name: 'sessionToken', type: 'hidden', typeOptions: { expirable: true, password: true }, default: '' },
  ];

  async preAuthentication(this: IHttpRequestHelper, credentials: ICredentialDataDecryptedObject): Promise<IDataObject> {
    const login = String(credentials.loginUrl || 'https://login.microsoftonline.com').replace(/\/$/, '');
    const graph = new URL(String(credentials.graphBaseUrl || 'https://graph.microsoft.com/v1.0'));
    // Client credentials need the resource's /.default scope; a national cloud has its own resource.
    const scope = graph.hostname === '127.0.0.1' || graph.hostname === 'localhost' ? 'https://graph.microsoft.com/.default' : `${graph.origin}/.default`;
    const res = (await this.helpers.httpRequest({
      method: 'POST',
      url: `${login}/${encodeURIComponent(String(credentials.tenantId))}/oauth2/v2.0/token`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: String(credentials.clientId), client_secret: String(credentials.clientSecret), scope }).toString(),
      json: true,
    })) as { access_token?: string };
    return { sessionToken: res.access_token };
  }

  authenticate: IAuthenticateGeneric = {
    type: 'generic',
    properties: { headers: { Authorization: '=Bearer {{$credentials.sessionToken}}' } },
  };

  test: ICredentialTestRequest = {
    request: { baseURL: '={{$credentials.graphBaseUrl.replace(/\\/$/, "")}}', url: '/places/microsoft.graph.room', qs: { $top: 1 } },
  };
}
