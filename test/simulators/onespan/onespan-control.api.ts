import type http from 'node:http';
import type { OnespanSimulator } from './onespan.simulator';
import {
  OSS_ENDPOINTS,
  type OssClient,
  type OssEndpoint,
  type OssFaultRule,
  type OssSettings,
} from './onespan-simulator.types';

// The simulator's control handle over HTTP, for when it runs as its own process (`main.ts`). Every route
// needs the header `X-Control-Secret`. JSON in, JSON out; errors are `{"error": "..."}` with 400/404.
//
//   GET    /_control/senders                      -> senders (the owner first)
//   POST   /_control/senders                      {email?, firstName?, lastName?, company?} -> sender
//   POST   /_control/api-keys                     {senderId?} -> {apiKey}
//   POST   /_control/oauth-clients                {clientId, clientSecret, senderId?}   (/oauth2/token)
//   POST   /_control/conga-clients                {clientId, clientSecret, senderId?}   (Conga token)
//   POST   /_control/clients/{clientId}/disable   -> {disabled}
//   POST   /_control/credentials/revoke           {secret} -> {revoked}   (an API key or a token)
//   POST   /_control/tokens/expire                -> {expired}
//   POST   /_control/packages                     OssCreatePackageOptions -> package
//   GET    /_control/packages/{id}                -> package (ids percent-encoded)
//   POST   /_control/packages/{id}/send           -> package (PACKAGE_ACTIVATE)
//   POST   /_control/packages/{id}/finish         {status: COMPLETED|DECLINED|OPTED_OUT|EXPIRED, message?}
//   POST   /_control/packages/{id}/trash          {trashed: boolean} -> package
//   POST   /_control/packages/{id}/archive        -> package
//   POST   /_control/packages/{id}/delete         -> {deleted}
//   POST   /_control/packages/{id}/data           {..string map..} -> package
//   POST   /_control/packages/{id}/events         {name, sessionUser?, documentId?, message?} -> delivery | null
//   GET    /_control/packages/{id}/expected/{documentId|evidence-summary} -> {sha256, size}
//   POST   /_control/faults                       OssFaultRule (no mutateJson) -> {id}
//   DELETE /_control/faults/{id} | /_control/faults
//   GET    /_control/requests?endpoint=&packageId=&pathStyle=&method=    DELETE /_control/requests
//   GET    /_control/callbacks?packageId=         -> deliveries (event, authorization, status, state)
//   GET    /_control/callbacks/failures           -> the failure e-mails
//   GET    /_control/callbacks/wait?packageId=&name=&timeoutMs=  -> the ended delivery, else 408
//   GET    /_control/settings                     -> settings in force
//   POST   /_control/settings                     OssSettings (null restores a default)
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

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new ControlError(400, `${key} must be a string`);
  return value;
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body ?? null);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

export async function handleOnespanControlRequest(
  sim: OnespanSimulator,
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
    reply(res, 200, await route(sim, req, url));
  } catch (error) {
    if (error instanceof ControlError) reply(res, error.status, { error: error.message });
    else reply(res, 400, { error: error instanceof Error ? error.message : String(error) });
  }
}

function packageOrThrow<T>(value: T | undefined): T {
  if (value === undefined) throw new ControlError(404, 'unknown package');
  return value;
}

async function route(sim: OnespanSimulator, req: http.IncomingMessage, url: URL): Promise<unknown> {
  const method = req.method ?? 'GET';
  const parts = url.pathname.replace(/\/+$/, '').split('/').slice(2).map(decodeURIComponent);
  const [resource, id, action, extra] = parts;
  const is = (m: string, length: number): boolean => method === m && parts.length === length;

  switch (resource) {
    case 'senders':
      if (is('GET', 1)) return sim.listSenders();
      if (is('POST', 1)) return sim.createSender(object(await readJson(req)));
      break;
    case 'api-keys':
      if (is('POST', 1))
        return { apiKey: sim.createApiKey(optionalString(object(await readJson(req)), 'senderId')) };
      break;
    case 'oauth-clients':
      if (is('POST', 1)) {
        sim.registerOAuthClient(object(await readJson(req)) as unknown as OssClient);
        return {};
      }
      break;
    case 'conga-clients':
      if (is('POST', 1)) {
        sim.registerCongaClient(object(await readJson(req)) as unknown as OssClient);
        return {};
      }
      break;
    case 'clients':
      if (is('POST', 3) && action === 'disable') return { disabled: sim.disableClient(id) };
      break;
    case 'credentials':
      if (is('POST', 2) && id === 'revoke') {
        const value = optionalString(object(await readJson(req)), 'secret');
        if (!value) throw new ControlError(400, 'secret is required');
        return { revoked: sim.revokeCredential(value) };
      }
      break;
    case 'tokens':
      if (is('POST', 2) && id === 'expire') return { expired: sim.expireTokens() };
      break;
    case 'packages': {
      if (is('POST', 1)) return sim.createPackage(object(await readJson(req)));
      if (is('GET', 2)) return packageOrThrow(sim.getPackage(id));
      if (is('GET', 4) && action === 'expected') return sim.expectedFile(id, extra);
      if (method !== 'POST' || parts.length !== 3) break;
      const body = object(await readJson(req));
      switch (action) {
        case 'send':
          return sim.sendPackage(id);
        case 'finish': {
          const status = body.status;
          if (
            status !== 'COMPLETED' &&
            status !== 'DECLINED' &&
            status !== 'OPTED_OUT' &&
            status !== 'EXPIRED'
          )
            throw new ControlError(400, 'status is COMPLETED, DECLINED, OPTED_OUT or EXPIRED');
          const message = optionalString(body, 'message');
          return sim.finishPackage(id, status, message === undefined ? {} : { message });
        }
        case 'trash':
          if (typeof body.trashed !== 'boolean') throw new ControlError(400, 'trashed must be a boolean');
          return sim.setTrashed(id, body.trashed);
        case 'archive':
          return sim.archivePackage(id);
        case 'delete':
          return { deleted: sim.deletePackage(id) };
        case 'data':
          return sim.setPackageData(id, body as Record<string, string>);
        case 'events': {
          const name = optionalString(body, 'name');
          if (!name) throw new ControlError(400, 'name is required');
          const sessionUser = optionalString(body, 'sessionUser');
          return sim.fireEvent(id, name, {
            ...(sessionUser !== undefined && { sessionUser }),
            documentId: optionalString(body, 'documentId') ?? null,
            message: optionalString(body, 'message') ?? null,
          });
        }
        default:
          break;
      }
      break;
    }
    case 'faults':
      if (is('POST', 1)) {
        const rule = object(await readJson(req)) as unknown as OssFaultRule;
        if (!rule.fault || typeof rule.fault !== 'object') throw new ControlError(400, 'fault is required');
        if (rule.fault.kind === 'mutateJson') throw new ControlError(400, 'mutateJson is in-process only');
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
        if (endpoint !== undefined && !(OSS_ENDPOINTS as readonly string[]).includes(endpoint))
          throw new ControlError(400, 'unknown endpoint');
        const pathStyle = url.searchParams.get('pathStyle') ?? undefined;
        if (pathStyle !== undefined && pathStyle !== 'onespan' && pathStyle !== 'conga')
          throw new ControlError(400, 'pathStyle is onespan or conga');
        const packageId = url.searchParams.get('packageId') ?? undefined;
        const filterMethod = url.searchParams.get('method') ?? undefined;
        return sim.requests({
          ...(endpoint !== undefined && { endpoint: endpoint as OssEndpoint }),
          ...(pathStyle !== undefined && { pathStyle: pathStyle }),
          ...(packageId !== undefined && { packageId }),
          ...(filterMethod !== undefined && { method: filterMethod }),
        });
      }
      if (is('DELETE', 1)) {
        sim.clearRequests();
        return {};
      }
      break;
    case 'callbacks':
      if (is('GET', 1)) return sim.callbackDeliveries(url.searchParams.get('packageId') ?? undefined);
      if (is('GET', 2) && id === 'failures') return sim.callbackFailureNotices();
      if (is('GET', 2) && id === 'wait') {
        const packageId = url.searchParams.get('packageId');
        const name = url.searchParams.get('name') ?? 'PACKAGE_COMPLETE';
        const timeoutMs = Number(url.searchParams.get('timeoutMs') ?? 10_000);
        if (!packageId) throw new ControlError(400, 'packageId is required');
        if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 120_000)
          throw new ControlError(400, 'timeoutMs is 1 to 120000');
        try {
          return await sim.waitForCallback(packageId, name, timeoutMs);
        } catch (error) {
          throw new ControlError(408, error instanceof Error ? error.message : String(error));
        }
      }
      break;
    case 'settings':
      if (is('GET', 1)) return sim.currentSettings();
      if (is('POST', 1)) {
        const body = object(await readJson(req));
        // JSON has no undefined: null restores a setting's default.
        const settings = Object.fromEntries(
          Object.entries(body).map(([key, value]) => [key, value === null ? undefined : value]),
        ) as OssSettings;
        return sim.configure(settings);
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
