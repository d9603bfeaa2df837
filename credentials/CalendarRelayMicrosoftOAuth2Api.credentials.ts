import type { ICredentialTestRequest, ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

/** Microsoft 365, delegated: the signed-in user's calendars and the rooms they may see. */
export class CalendarRelayMicrosoftOAuth2Api implements ICredentialType {
  name = 'calendarRelayMicrosoftOAuth2Api';

  extends = ['oAuth2Api'];

  displayName = 'Calendar Relay: Microsoft OAuth2 API';

  icon: Icon = { light: 'file:icons/microsoft.svg', dark: 'file:icons/microsoft.dark.svg' };

  documentationUrl = 'https://github.com/calendar-relay/n8n-nodes-calendar-relay/blob/main/docs/providers-graph.md';

  properties: INodeProperties[] = [
    { displayName: 'Grant Type', name: 'grantType', type: 'hidden', default: 'authorizationCode' },
    {
      displayName: 'Tenant',
      name: 'tenantId',
      type: 'string',
      default: 'common',
      description: 'Directory (tenant) ID or domain; "common" for any work account',
    },
    {
      displayName: 'Login URL',
      name: 'loginUrl',
      type: 'string',
      default: 'https://login.microsoftonline.com',
      description: 'Change for a national cloud (e.g. https://login.microsoftonline.us) or a test server',
    },
    {
      displayName: 'Authorization URL',
      name: 'authUrl',
      type: 'hidden',
      default: '={{$self["loginUrl"].replace(/\\/$/, "")}}/{{$self["tenantId"]}}/oauth2/v2.0/authorize',
    },
    {
      displayName: 'Access Token URL',
      name: 'accessTokenUrl',
      type: 'hidden',
      default: '={{$self["loginUrl"].replace(/\\/$/, "")}}/{{$self["tenantId"]}}/oauth2/v2.0/token',
    },
    { displayName: 'Auth URI Query Parameters', name: 'authQueryParameters', type: 'hidden', default: 'response_mode=query' },
    { displayName: 'Scope', name: 'scope', type: 'hidden', default: 'openid offline_access Calendars.ReadWrite Place.Read.All User.Read' },
    { displayName: 'Authentication', name: 'authentication', type: 'hidden', default: 'body' },
    {
      displayName: 'Graph Base URL',
      name: 'graphBaseUrl',
      type: 'string',
      default: 'https://graph.microsoft.com/v1.0',
      description: 'Change for a national cloud (e.g. https://graph.microsoft.us/v1.0) or a test server',
    },
  ];

  test: ICredentialTestRequest = {
    request: { baseURL: '={{$credentials.graphBaseUrl.replace(/\\/$/, "")}}', url: '/me/calendars', qs: { $top: 1 } },
  };
}
