import type { ICredentialDataDecryptedObject, ICredentialTestRequest, ICredentialType, IHttpRequestOptions, INodeProperties, Icon } from 'n8n-workflow';

/**
 * Authentication for a source feed URL (basic, bearer or a custom header). A community package may
 * not use n8n's built-in generic credentials, so the ICS Trigger and Calendar Event (feed URL)
 * bring their own.
 */
export class CalendarRelayFeedAuthApi implements ICredentialType {
  name = 'calendarRelayFeedAuthApi';

  displayName = 'Calendar Relay: Feed Authentication API';

  icon: Icon = { light: 'file:icons/calendarRelay.svg', dark: 'file:icons/calendarRelay.dark.svg' };

  documentationUrl = 'https://github.com/calendar-relay/n8n-nodes-calendar-relay/blob/main/README.md#use-in-n8n';

  properties: INodeProperties[] = [
    {
      displayName: 'Type',
      name: 'authType',
      type: 'options',
      options: [
        { name: 'Basic Auth', value: 'basic' },
        { name: 'Bearer Token', value: 'bearer' },
        { name: 'Header', value: 'header' },
      ],
      default: 'basic',
    },
    { displayName: 'User', name: 'user', type: 'string', default: '', displayOptions: { show: { authType: ['basic'] } } },
    { displayName: 'Password', name: 'password', type: 'string', typeOptions: { password: true }, default: '', displayOptions: { show: { authType: ['basic'] } } },
    { displayName: 'Token', name: 'token', type: 'string', typeOptions: { password: true }, default: '', displayOptions: { show: { authType: ['bearer'] } } },
    { displayName: 'Header Name', name: 'headerName', type: 'string', default: 'X-API-Key', displayOptions: { show: { authType: ['header'] } } },
    { displayName: 'Header Value', name: 'headerValue', type: 'string', typeOptions: { password: true }, default: '', displayOptions: { show: { authType: ['header'] } } },
    {
      displayName: 'Test URL',
      name: 'testUrl',
      type: 'string',
      default: '',
      placeholder: 'https://example.org/calendar.ics',
      description: 'A feed URL to try these credentials on when testing them',
    },
  ];

  async authenticate(credentials: ICredentialDataDecryptedObject, requestOptions: IHttpRequestOptions): Promise<IHttpRequestOptions> {
    const headers = { ...(requestOptions.headers ?? {}) };
    if (credentials.authType === 'bearer') headers.Authorization = `Bearer ${String(credentials.token ?? '')}`;
    else if (credentials.authType === 'header') headers[String(credentials.headerName || 'X-API-Key')] = String(credentials.headerValue ?? '');
    else headers.Authorization = `Basic ${Buffer.from(`${String(credentials.user ?? '')}:${String(credentials.password ?? '')}`).toString('base64')}`;
    return { ...requestOptions, headers };
  }

  test: ICredentialTestRequest = {
    request: { url: '={{$credentials.testUrl}}' },
  };
}
