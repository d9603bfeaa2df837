import type { ICredentialTestRequest, ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

/**
 * Google, delegated: the signed-in user's calendars (and, for an admin, the Directory's room
 * resources). n8n runs the OAuth2 authorization-code flow and refreshes the token.
 */
export class CalendarRelayGoogleOAuth2Api implements ICredentialType {
  name = 'calendarRelayGoogleOAuth2Api';

  extends = ['oAuth2Api'];

  displayName = 'Calendar Relay: Google OAuth2 API';

  icon: Icon = { light: 'file:icons/google.svg', dark: 'file:icons/google.dark.svg' };

  documentationUrl = 'https://github.com/calendar-relay/n8n-nodes-calendar-relay/blob/main/docs/providers-google.md';

  properties: INodeProperties[] = [
    { displayName: 'Grant Type', name: 'grantType', type: 'hidden', default: 'authorizationCode' },
    {
      displayName: 'Authorization URL',
      name: 'authUrl',
      type: 'string',
      default: 'https://accounts.google.com/o/oauth2/v2/auth',
      description: 'Change only for a test server',
    },
    {
      displayName: 'Access Token URL',
      name: 'accessTokenUrl',
      type: 'string',
      default: 'https://oauth2.googleapis.com/token',
      description: 'Change only for a test server',
    },
    { displayName: 'Auth URI Query Parameters', name: 'authQueryParameters', type: 'hidden', default: 'access_type=offline&prompt=consent' },
    {
      displayName: 'Scope',
      name: 'scope',
      type: 'hidden',
      default: 'https://www.googleapis.com/auth/calendar https://www.googleapis.com/auth/admin.directory.resource.calendar.readonly',
    },
    { displayName: 'Authentication', name: 'authentication', type: 'hidden', default: 'body' },
    {
      displayName: 'API Root URL',
      name: 'apiRootUrl',
      type: 'string',
      default: 'https://www.googleapis.com/',
      description: 'Root of the Calendar and Directory APIs; change only for a test server such as the Calendar Relay emulator',
    },
  ];

  test: ICredentialTestRequest = {
    request: { baseURL: '={{$credentials.apiRootUrl.replace(/\\/$/, "")}}', url: '/calendar/v3/users/me/calendarList', qs: { maxResults: 1 } },
  };
}
