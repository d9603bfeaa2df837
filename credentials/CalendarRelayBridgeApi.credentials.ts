import type { IAuthenticateGeneric, ICredentialTestRequest, ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

/** The Calendar Relay bridge server: its base URL and the admin token for publishing feeds. */
export class CalendarRelayBridgeApi implements ICredentialType {
  name = 'calendarRelayBridgeApi';

  displayName = 'Calendar Relay: Bridge API';

  icon: Icon = { light: 'file:icons/calendarRelay.svg', dark: 'file:icons/calendarRelay.dark.svg' };

  documentationUrl = 'https://github.com/calendar-relay/n8n-nodes-calendar-relay/blob/main/docs/bridge.md';

  properties: INodeProperties[] = [
    { displayName: 'Base URL', name: 'baseUrl', type: 'string', default: '', placeholder: 'https://calendar-bridge.example.org', required: true },
    { displayName: 'Admin Token', name: 'token', type: 'string', typeOptions: { password: true }, default: '', required: true },
  ];

  authenticate: IAuthenticateGeneric = {
    type: 'generic',
    properties: { headers: { Authorization: '=Bearer {{$credentials.token}}' } },
  };

  test: ICredentialTestRequest = {
    request: { baseURL: '={{$credentials.baseUrl.replace(/\\/$/, "")}}', url: '/api/feeds' },
  };
}
