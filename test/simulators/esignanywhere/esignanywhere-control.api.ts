import type http from 'node:http';
import type { EsignAnywhereSimulator } from './esignanywhere.simulator';
import {
  SIM_ENDPOINTS,
  SIM_STATUS_UPDATE_ACTIONS,
  type CreateDraftOptions,
  type CreateEnvelopeOptions,
  type SimCallbackAction,
  type SimEndpoint,
  type SimFaultRule,
  type SimOAuthClient,
  type SimOAuthDecision,
  type SimSettings,
  type SimStatusUpdateAction,
} from './esignanywhere-simulator.types';

// The simulator's control handle over HTTP, for when it runs as its own process (`main.ts`). Every route
// needs the header `X-Control-Secret`. JSON in, JSON out; errors are `{"error": "..."}` with 400/404.
//
//   POST   /_control/users                        {email?, givenName?, surname?, organizationId?} -> {user, token}
//   POST   /_control/users/{userId}/tokens        -> {token}
//   POST   /_control/users/{userId}/revoke-tokens -> {revoked}
//   POST   /_control/tokens/revoke                {token} -> {revoked}
//   POST   /_control/envelopes                    CreateEnvelopeOptions (quirks, statusLagMs, ...) -> envelope
//   GET    /_control/envelopes/{id}               -> envelope
//   GET    /_control/envelopes/{id}/files         -> [{fileId, kind, fileName, size}]
//   POST   /_control/envelopes/{id}/finish        {status: Completed|Rejected|Canceled, statusLagMs?} -> envelope
//   POST   /_control/envelopes/{id}/expire        {statusLagMs?} -> envelope
//   POST   /_control/envelopes/{id}/delete        -> {deleted}
//   POST   /_control/envelopes/{id}/quirks        SimEnvelopeQuirks (replaces them) -> envelope
//   POST   /_control/envelopes/{id}/status-update {action: workstepDelegated|...} -> delivery | null
//   POST   /_control/drafts                       CreateDraftOptions -> draft
//   GET    /_control/drafts/{id}/before-send-url?template=... -> {url}
//   GET    /_control/files/{fileId}/expected      -> {fileId, kind, fileName, contentType, size, sha256}
//   POST   /_control/faults                       SimFaultRule (no mutateJson, no observe) -> {id}
//                                                   e.g. {envelopeId, fault: {kind: "apiError", errorId: "ERR0010"}}
//   DELETE /_control/faults/{id} | /_control/faults
//   GET    /_control/requests?endpoint=&envelopeId=&userId=&method=   DELETE /_control/requests
//   GET    /_control/callbacks?envelopeId=        -> deliveries, each with action, channel, url, attempts
//   POST   /_control/callbacks/template           {template: string | null}   (CallbackUrl: envelopeFinished)
//   POST   /_control/callbacks/status-update-template {template: string | null}
//                                                   (StatusUpdateCallbackUrl: envelopeExpired, workstep actions)
//   GET    /_control/callbacks/wait?envelopeId=&action=&timeoutMs=   -> the delivery once a 200 came, else
//                                                   408; without action: envelopeFinished or envelopeExpired
//   GET    /_control/settings                     -> SimSettings in force, defaults filled in
//   POST   /_control/settings                     SimSettings (keys given change; null restores the default)
//   POST   /_control/oauth/clients                SimOAuthClient
//   POST   /_control/oauth/decision               SimOAuthDecision | null
//   POST   /_control/reset

class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 1024 * 1024) throw new ControlError(413, 'body too large');
    chunks.push(chunk);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ControlError(400, 'body is not JSON');
  }
}

function object(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ControlError(400, 'expected a JSON object');
  return value as Record<string, unknown>;
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body ?? null);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

export async function handleControlRequest(
  sim: EsignAnywhereSimulator,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
): Promise<void> {
  const secret = req.headers['x-control-secret'];
  if (!sim.checkControlSecret(typeof secret === 'string' ? secret : undefined)) {
    reply(res, 401, { error: 'missing or wrong X-Control-Secret' });
    return;
  }
  try {
    const result = await route(sim, req, url);
    reply(res, 200, result);
  } catch (error) {
    if (error instanceof ControlError) reply(res, error.status, { error: error.message });
    else reply(res, 400, { error: error instanceof Error ? error.message : String(error) });
  }
}

function lagOf(body: Record<string, unknown>): { statusLagMs?: number } {
  const lag = body.statusLagMs;
  if (lag === undefined || lag === null) return {};
  if (typeof lag !== 'number') throw new ControlError(400, 'statusLagMs must be a number');
  return { statusLagMs: lag };
}

async function route(sim: EsignAnywhereSimulator, req: http.IncomingMessage, url: URL): Promise<unknown> {
  const method = req.method ?? 'GET';
  const parts = url.pathname.replace(/\/+$/, '').split('/').slice(2).map(decodeURIComponent);
  const [resource, id, action] = parts;
  const is = (m: string, length: number): boolean => method === m && parts.length === length;

  switch (resource) {
    case 'users':
      if (is('POST', 1)) return sim.createUser(object(await readJson(req)));
      if (is('POST', 3) && action === 'tokens') return { token: sim.issueToken(id) };
      if (is('POST', 3) && action === 'revoke-tokens') return { revoked: sim.revokeAllTokens(id) };
      break;
    case 'tokens':
      if (is('POST', 2) && id === 'revoke') {
        const token = object(await readJson(req)).token;
        if (typeof token !== 'string') throw new ControlError(400, 'token is required');
        return { revoked: sim.revokeToken(token) };
      }
      break;
    case 'envelopes':
      if (is('POST', 1))
        return sim.createEnvelope(object(await readJson(req)) as unknown as CreateEnvelopeOptions);
      if (is('GET', 2)) {
        const envelope = sim.getEnvelope(id);
        if (!envelope) throw new ControlError(404, 'unknown envelope');
        return envelope;
      }
      if (is('GET', 3) && action === 'files') return sim.envelopeFiles(id);
      if (is('POST', 3) && action === 'finish') {
        const body = object(await readJson(req));
        const status = body.status;
        if (status !== 'Completed' && status !== 'Rejected' && status !== 'Canceled') {
          throw new ControlError(400, 'status must be Completed, Rejected or Canceled');
        }
        return sim.finishEnvelope(id, status, lagOf(body));
      }
      if (is('POST', 3) && action === 'expire')
        return sim.expireEnvelope(id, lagOf(object(await readJson(req))));
      if (is('POST', 3) && action === 'delete') return { deleted: sim.deleteEnvelope(id) };
      if (is('POST', 3) && action === 'quirks') {
        return sim.setEnvelopeQuirks(id, object(await readJson(req)));
      }
      if (is('POST', 3) && action === 'status-update') {
        const update = object(await readJson(req)).action;
        if (
          typeof update !== 'string' ||
          !(SIM_STATUS_UPDATE_ACTIONS as readonly string[]).includes(update)
        ) {
          throw new ControlError(400, `action is one of ${SIM_STATUS_UPDATE_ACTIONS.join(', ')}`);
        }
        return sim.fireStatusUpdate(id, update as SimStatusUpdateAction);
      }
      break;
    case 'drafts':
      if (is('POST', 1)) return sim.createDraft(object(await readJson(req)) as unknown as CreateDraftOptions);
      if (is('GET', 3) && action === 'before-send-url') {
        return { url: sim.beforeSendRedirectUrl(id, url.searchParams.get('template') ?? undefined) };
      }
      break;
    case 'files':
      if (is('GET', 3) && action === 'expected') return sim.expectedFile(id);
      break;
    case 'faults':
      if (is('POST', 1)) {
        const rule = object(await readJson(req)) as unknown as SimFaultRule;
        if (!rule.fault || typeof rule.fault !== 'object') throw new ControlError(400, 'fault is required');
        if (rule.fault.kind === 'mutateJson')
          throw new ControlError(400, 'mutateJson is in-process only; use replaceJson');
        if (rule.fault.kind === 'observe') throw new ControlError(400, 'observe is in-process only');
        return { id: sim.addFault(rule) };
      }
      if (is('DELETE', 2)) return { removed: sim.removeFault(Number(id)) };
      if (is('DELETE', 1)) {
        sim.clearFaults();
        return {};
      }
      break;
    case 'requests':
      if (is('GET', 1)) {
        const endpoint = url.searchParams.get('endpoint') ?? undefined;
        if (endpoint !== undefined && !(SIM_ENDPOINTS as readonly string[]).includes(endpoint)) {
          throw new ControlError(400, 'unknown endpoint');
        }
        return sim.requests({
          ...(endpoint !== undefined && { endpoint: endpoint as SimEndpoint }),
          ...(url.searchParams.has('envelopeId') && {
            envelopeId: url.searchParams.get('envelopeId') as string,
          }),
          ...(url.searchParams.has('userId') && { userId: url.searchParams.get('userId') as string }),
          ...(url.searchParams.has('method') && { method: url.searchParams.get('method') as string }),
        });
      }
      if (is('DELETE', 1)) {
        sim.clearRequests();
        return {};
      }
      break;
    case 'callbacks':
      if (is('GET', 1)) return sim.callbackDeliveries(url.searchParams.get('envelopeId') ?? undefined);
      if (is('GET', 2) && id === 'wait') {
        const envelopeId = url.searchParams.get('envelopeId');
        const action = url.searchParams.get('action');
        const timeoutMs = Number(url.searchParams.get('timeoutMs') ?? 10_000);
        if (!envelopeId) throw new ControlError(400, 'envelopeId is required');
        if (
          action !== null &&
          action !== 'envelopeFinished' &&
          !(SIM_STATUS_UPDATE_ACTIONS as readonly string[]).includes(action)
        ) {
          throw new ControlError(400, 'action is envelopeFinished or a status-change action');
        }
        if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 120_000) {
          throw new ControlError(400, 'timeoutMs is 1 to 120000');
        }
        try {
          return await sim.waitForCallbackDelivery(envelopeId, {
            ...(action !== null && { action: action as SimCallbackAction }),
            timeoutMs,
          });
        } catch (error) {
          throw new ControlError(408, error instanceof Error ? error.message : String(error));
        }
      }
      if (is('POST', 2) && id === 'template') {
        const template = object(await readJson(req)).template;
        if (template !== null && typeof template !== 'string')
          throw new ControlError(400, 'template must be a string or null');
        sim.setCallbackUrlTemplate(template ?? undefined);
        return {};
      }
      if (is('POST', 2) && id === 'status-update-template') {
        const template = object(await readJson(req)).template;
        if (template !== null && typeof template !== 'string')
          throw new ControlError(400, 'template must be a string or null');
        sim.setStatusUpdateCallbackUrlTemplate(template ?? undefined);
        return {};
      }
      break;
    case 'settings':
      if (is('GET', 1)) return sim.currentSettings();
      if (is('POST', 1)) {
        const body = object(await readJson(req));
        // JSON has no undefined: null restores a setting's default.
        const settings = Object.fromEntries(
          Object.entries(body).map(([key, value]) => [key, value === null ? undefined : value]),
        ) as SimSettings;
        return sim.configure(settings);
      }
      break;
    case 'oauth':
      if (is('POST', 2) && id === 'clients') {
        sim.registerOAuthClient(object(await readJson(req)) as unknown as SimOAuthClient);
        return {};
      }
      if (is('POST', 2) && id === 'decision') {
        const body = await readJson(req);
        sim.setOAuthDecision(body === null ? null : (object(body) as unknown as SimOAuthDecision));
        return {};
      }
      break;
    case 'reset':
      if (is('POST', 1)) {
        sim.reset();
        return {};
      }
      break;
    default:
      break;
  }
  throw new ControlError(404, `no control route ${method} ${url.pathname}`);
}
