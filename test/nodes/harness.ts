/**
 * In-process n8n for node tests: n8n-core's WorkflowExecute runs a one- or two-node workflow
 * (a Manual Trigger-like source node feeding items into the node under test), and PollContext
 * runs a trigger's poll() — no n8n server. Credentials come from a
 * small CredentialsHelper that applies our credential types the way n8n does: generic
 * `authenticate` templates, `authenticate` functions, `preAuthentication` into the expirable
 * field, and n8n's own OAuth2 path for types extending oAuth2Api.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// n8n-core reads its user folder at import time: keep it out of the home directory.
process.env.N8N_USER_FOLDER ??= mkdtempSync(join(tmpdir(), 'cr-n8n-'));

import { WorkflowExecute, ExecutionLifecycleHooks, PollContext } from 'n8n-core';
import { Workflow } from 'n8n-workflow';
import type {
  ICredentialDataDecryptedObject, ICredentialType, IDataObject, IHttpRequestHelper, IHttpRequestOptions, INode, INodeExecutionData, INodeType, INodeTypes,
  IRun, IWorkflowExecuteAdditionalData, IConnections, IExecuteFunctions, IPollFunctions, ExecutionError,
} from 'n8n-workflow';
import { IcsTrigger } from '../../nodes/IcsTrigger/IcsTrigger.node';
import { FeedExport } from '../../nodes/FeedExport/FeedExport.node';
import { CalendarEvent } from '../../nodes/CalendarEvent/CalendarEvent.node';
import { RoomSync } from '../../nodes/RoomSync/RoomSync.node';
import { CalendarRelayGoogleOAuth2Api } from '../../credentials/CalendarRelayGoogleOAuth2Api.credentials';
import { CalendarRelayGoogleServiceAccountApi } from '../../credentials/CalendarRelayGoogleServiceAccountApi.credentials';
import { CalendarRelayMicrosoftOAuth2Api } from '../../credentials/CalendarRelayMicrosoftOAuth2Api.credentials';
import { CalendarRelayMicrosoftAppOnlyApi } from '../../credentials/CalendarRelayMicrosoftAppOnlyApi.credentials';
import { CalendarRelayBridgeApi } from '../../credentials/CalendarRelayBridgeApi.credentials';
import { CalendarRelayFeedAuthApi } from '../../credentials/CalendarRelayFeedAuthApi.credentials';
import { CalendarRelayCalDavApi } from '../../credentials/CalendarRelayCalDavApi.credentials';

/** Emits the items it is given (what a Code or Manual Trigger node would feed in). */
class ItemsSource implements INodeType {
  description = {
    displayName: 'Items', name: 'itemsSource', group: ['input'], version: 1, description: 'test input', defaults: { name: 'Items' },
    inputs: [], outputs: ['main'], properties: [{ displayName: 'Items', name: 'items', type: 'json' as const, default: '[]' }],
  } as unknown as INodeType['description'];

  async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
    const raw = this.getNodeParameter('items', 0) as string;
    const items = JSON.parse(raw) as IDataObject[];
    return [items.map((json) => ({ json }))];
  }
}

const NODE_TYPES: Record<string, INodeType> = {
  'test.itemsSource': new ItemsSource(),
  'CUSTOM.icsTrigger': new IcsTrigger(),
  'CUSTOM.feedExport': new FeedExport(),
  'CUSTOM.calendarEvent': new CalendarEvent(),
  'CUSTOM.roomSync': new RoomSync(),
};

const CREDENTIAL_TYPES: Record<string, ICredentialType> = Object.fromEntries([
  new CalendarRelayGoogleOAuth2Api(), new CalendarRelayGoogleServiceAccountApi(), new CalendarRelayMicrosoftOAuth2Api(),
  new CalendarRelayMicrosoftAppOnlyApi(), new CalendarRelayBridgeApi(), new CalendarRelayFeedAuthApi(), new CalendarRelayCalDavApi(),
].map((c) => [c.name, c]));

const nodeTypes: INodeTypes = {
  getByName: (type: string) => NODE_TYPES[type],
  getByNameAndVersion: (type: string) => NODE_TYPES[type],
  getKnownTypes: () => ({}),
} as unknown as INodeTypes;

/** `{{$credentials.x}}` templates of a generic authenticate block. */
function fill(template: unknown, creds: ICredentialDataDecryptedObject): unknown {
  if (typeof template !== 'string') return template;
  const t = template.startsWith('=') ? template.slice(1) : template;
  return t.replace(/\{\{\s*\$credentials\.(\w+)\s*\}\}/g, (_, k: string) => String(creds[k] ?? ''));
}

export class TestCredentials {
  /** Credential type → its data, as decrypted by n8n. */
  readonly data = new Map<string, ICredentialDataDecryptedObject>();
  /** preAuthentication calls per type (token fetches). */
  readonly preAuthCalls = new Map<string, number>();

  set(type: string, data: ICredentialDataDecryptedObject): void {
    this.data.set(type, { ...data });
  }

  helper() {
    const data = this.data;
    const preAuthCalls = this.preAuthCalls;
    return {
      getParentTypes: (name: string) => CREDENTIAL_TYPES[name]?.extends ?? [],
      isCredentialUsableByNode: () => true,
      async authenticate(creds: ICredentialDataDecryptedObject, typeName: string, options: IHttpRequestOptions): Promise<IHttpRequestOptions> {
        const auth = CREDENTIAL_TYPES[typeName]?.authenticate;
        if (!auth) return options;
        if (typeof auth === 'function') return auth(creds, options);
        const headers = { ...(options.headers ?? {}) };
        for (const [k, v] of Object.entries(auth.properties.headers ?? {})) headers[k] = fill(v, creds) as string;
        return { ...options, headers };
      },
      async preAuthentication(helpers: IHttpRequestHelper, creds: ICredentialDataDecryptedObject, typeName: string, _node: INode, expired: boolean) {
        const type = CREDENTIAL_TYPES[typeName];
        if (!type?.preAuthentication) return undefined;
        if (creds.sessionToken && !expired) return undefined;
        preAuthCalls.set(typeName, (preAuthCalls.get(typeName) ?? 0) + 1);
        const out = await type.preAuthentication.call(helpers, creds);
        const stored = data.get(typeName);
        if (stored) Object.assign(stored, out);
        return { ...creds, ...out } as ICredentialDataDecryptedObject;
      },
      runPreAuthentication: async () => undefined,
      getCredentials: async () => { throw new Error('not used'); },
      async getDecrypted(_a: unknown, _n: unknown, type: string) {
        const d = data.get(type);
        if (!d) throw new Error(`test: no credentials of type ${type}`);
        return { ...d };
      },
      updateCredentials: async () => undefined,
      async updateCredentialsOauthTokenData(_n: unknown, type: string, update: ICredentialDataDecryptedObject) {
        data.set(type, { ...data.get(type), ...update });
      },
      getCredentialsProperties: (type: string) => CREDENTIAL_TYPES[type]?.properties ?? [],
    };
  }
}

function additionalData(creds: TestCredentials, workflowData: { id: string; name: string; nodes: INode[]; connections: IConnections }): IWorkflowExecuteAdditionalData {
  const hooks = new ExecutionLifecycleHooks('manual', 'test-exec', { ...workflowData, active: false, isArchived: false, createdAt: new Date(), updatedAt: new Date(), activeVersionId: null } as never);
  return {
    hooks,
    credentialsHelper: creds.helper(),
    restApiUrl: 'http://127.0.0.1:5678/rest',
    instanceBaseUrl: 'http://127.0.0.1:5678/',
    formWaitingBaseUrl: 'http://127.0.0.1:5678/form-waiting',
    webhookBaseUrl: 'http://127.0.0.1:5678/webhook',
    webhookWaitingBaseUrl: 'http://127.0.0.1:5678/webhook-waiting',
    webhookTestBaseUrl: 'http://127.0.0.1:5678/webhook-test',
    currentNodeParameters: undefined,
    executionTimeoutTimestamp: undefined,
    userId: 'test-user',
    variables: {},
    executeWorkflow: async () => { throw new Error('not used'); },
    getRunExecutionData: async () => undefined,
    logAiEvent: () => undefined,
    startRunnerTask: async () => { throw new Error('not used'); },
  } as unknown as IWorkflowExecuteAdditionalData;
}

export interface NodeRunResult {
  /** Output items of the node under test (first output). */
  items: INodeExecutionData[];
  /** All outputs. */
  outputs: INodeExecutionData[][];
  error?: ExecutionError;
  run: IRun;
}

function credentialRefs(types: string[]): Record<string, { id: string; name: string }> {
  return Object.fromEntries(types.map((t) => [t, { id: `cred-${t}`, name: t }]));
}

/**
 * Runs [Items] → [node under test] through WorkflowExecute and returns the node's output. `type`
 * is the node's name (e.g. 'roomSync'); `credentials` the credential types it should reference.
 */
export async function runNode(opts: {
  type: string;
  parameters: IDataObject;
  input?: IDataObject[];
  credentials?: string[];
  creds: TestCredentials;
  continueOnFail?: boolean;
  /** The workflow's static data, kept by the caller between runs (as n8n keeps it for an active workflow). */
  staticData?: IDataObject;
}): Promise<NodeRunResult> {
  const source: INode = { id: 'n0', name: 'Items', type: 'test.itemsSource', typeVersion: 1, position: [0, 0], parameters: { items: JSON.stringify(opts.input ?? [{}]) } };
  const node: INode = {
    id: 'n1', name: 'Under Test', type: `CUSTOM.${opts.type}`, typeVersion: 1, position: [200, 0], parameters: opts.parameters as INode['parameters'],
    credentials: credentialRefs(opts.credentials ?? []),
    ...(opts.continueOnFail ? { onError: 'continueRegularOutput' as const } : {}),
  };
  const connections: IConnections = { Items: { main: [[{ node: 'Under Test', type: 'main', index: 0 }]] } };
  const workflowData = { id: 'wf-test', name: 'test', nodes: [source, node], connections };
  const workflow = new Workflow({ id: 'wf-test', name: 'test', nodes: [source, node], connections, active: false, nodeTypes, staticData: opts.staticData ?? {}, settings: {} });
  const run = await new WorkflowExecute(additionalData(opts.creds, workflowData), 'manual').run({ workflow, startNode: source });
  if (opts.staticData) Object.assign(opts.staticData, workflow.staticData);
  const taskData = run.data.resultData.runData['Under Test']?.[0];
  const outputs = (taskData?.data?.main ?? []).map((o) => o ?? []);
  return { items: outputs[0] ?? [], outputs, error: taskData?.error ?? run.data.resultData.error, run };
}

/** A trigger workflow whose static data survives between polls (as n8n keeps it). */
export class PollingWorkflow {
  readonly staticData: IDataObject = {};
  private readonly node: INode;
  constructor(private readonly creds: TestCredentials, parameters: IDataObject, credentials: string[] = []) {
    this.node = { id: 't1', name: 'ICS Trigger', type: 'CUSTOM.icsTrigger', typeVersion: 1, position: [0, 0], parameters: parameters as INode['parameters'], credentials: credentialRefs(credentials) };
  }

  /** One poll in 'trigger' (active workflow) or 'manual' mode. */
  async poll(mode: 'trigger' | 'manual' = 'trigger'): Promise<INodeExecutionData[] | null> {
    const workflow = new Workflow({ id: 'wf-poll', name: 'poll', nodes: [this.node], connections: {}, active: true, nodeTypes, staticData: this.staticData, settings: {} });
    const data = additionalData(this.creds, { id: 'wf-poll', name: 'poll', nodes: [this.node], connections: {} });
    const ctx = new PollContext(workflow, this.node, data, mode, mode === 'manual' ? 'manual' : 'activate');
    const out = await (NODE_TYPES['CUSTOM.icsTrigger'].poll as (this: IPollFunctions) => Promise<INodeExecutionData[][] | null>).call(ctx);
    // n8n keeps the static data of the workflow object between polls.
    Object.assign(this.staticData, workflow.staticData);
    return out ? out[0] : null;
  }
}

