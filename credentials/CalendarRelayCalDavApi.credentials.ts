import type { ICredentialDataDecryptedObject, ICredentialTestRequest, ICredentialType, IHttpRequestOptions, INodeProperties, Icon } from 'n8n-workflow';

/**
 * A CalDAV server (Nextcloud, iCloud, Fastmail, Radicale, …): its base URL for discovery and basic
 * auth (the app passwords these services hand out) or a bearer token. The Room Sync and Calendar
 * Event nodes build their CalDAV provider from it (docs/providers-caldav.md). Credentials are only
 * ever sent to the base URL's origin: the nodes check the origin before authenticating a request.
 */
export class CalendarRelayCalDavApi implements ICredentialType {
  name = 'calendarRelayCalDavApi';

  displayName = 'Calendar Relay: CalDAV API';

  icon: Icon = { light: 'file:icons/caldav.svg', dark: 'file:icons/caldav.dark.svg' };

  documentationUrl = 'https://github.com/calendar-relay/n8n-nodes-calendar-relay/blob/main/docs/providers-caldav.md';

  properties: INodeProperties[] = [
    {
      displayName: 'Base URL',
      name: 'baseUrl',
      type: 'string',
      default: '',
      placeholder: 'https://cloud.example.org/remote.php/dav',
      description: 'Server, principal or calendar URL. Nextcloud: https://HOST/remote.php/dav; iCloud: https://caldav.icloud.com; Fastmail: https://caldav.fastmail.com/dav/.',
      required: true,
    },
    {
      displayName: 'Authentication',
      name: 'authType',
      type: 'options',
      options: [
        { name: 'Basic Auth (User + App Password)', value: 'basic' },
        { name: 'Bearer Token', value: 'bearer' },
      ],
      default: 'basic',
    },
    { displayName: 'User', name: 'username', type: 'string', default: '', displayOptions: { show: { authType: ['basic'] } } },
    {
      displayName: 'Password',
      name: 'password',
      type: 'string',
      typeOptions: { password: true },
      default: '',
      description: 'An app password where the service offers them (Nextcloud, iCloud and Fastmail require one)',
      displayOptions: { show: { authType: ['basic'] } },
    },
    { displayName: 'Token', name: 'token', type: 'string', typeOptions: { password: true }, default: '', displayOptions: { show: { authType: ['bearer'] } } },
  ];

  async authenticate(credentials: ICredentialDataDecryptedObject, requestOptions: IHttpRequestOptions): Promise<IHttpRequestOptions> {
    const headers = { ...(requestOptions.headers ?? {}) };
    if (credentials.authType === 'bearer') headers.Authorization = `Bearer ${String(credentials.token ?? '')}`;
    else headers.Authorization = `Basic ${Buffer.from(`${String(credentials.username ?? '')}:${String(credentials.password ?? '')}`, 'utf8').toString('base64')}`;
    return { ...requestOptions, headers };
  }

  // A PROPFIND of the base URL answers 207 only when the credentials are accepted.
  test: ICredentialTestRequest = {
    request: {
      method: 'PROPFIND' as IHttpRequestOptions['method'],
      url: '={{$credentials.baseUrl}}',
      headers: { Depth: '0', 'Content-Type': 'application/xml; charset=utf-8' },
      body: '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:current-user-principal/></D:prop></D:propfind>',
    },
  };
}
