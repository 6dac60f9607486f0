// Runs the OneSpan Sign / Conga Sign simulator as its own process, after a build:
//   node dist/test/simulators/onespan/main.js --port 8090 --callback-url http://127.0.0.1:3000/callbacks/onespan --callback-key s3cret
// Prints the API base URLs, the token URLs, the control URL and secret, the owner's API key and the
// seeded OAuth and Conga clients; the last line is `SIMULATOR_READY {json}` for programs that start it.
import { parseArgs } from 'node:util';
import { OnespanSimulator, type OnespanSimulatorOptions } from './onespan.simulator';

const usage = `options:
  --port <n>                    listen port (default 8090; 0 picks a free one)
  --host <addr>                 listen address (default 127.0.0.1)
  --control-secret <s>          secret for the /_control API (default: random, printed)
  --callback-url <url>          where ESLProcessEvent callbacks are POSTed (none by default)
  --callback-key <key>          OneSpan callback key, sent raw as "Authorization: Basic <key>"
  --callback-basic-user <u>     Conga Basic registration (with --callback-basic-password)
  --callback-basic-password <p>
  --callback-bearer <token>     Conga Bearer registration
  --callback-timeout-ms <n>     callback timeout (default 20000); callbacks are never retried
  --auth-method <any|apiKey|oauth2>  the account's API authentication method (default any)
  --audit <enabled|notFound|forbidden>
  --oauth-token-ttl-ms <n>      lifetime of /oauth2/token tokens (default 300000)
  --conga-token-ttl-ms <n>      lifetime of Conga tokens (default 3600000)
  --help`;

function nonNegativeInt(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'control-secret': { type: 'string' },
      'callback-url': { type: 'string' },
      'callback-key': { type: 'string' },
      'callback-basic-user': { type: 'string' },
      'callback-basic-password': { type: 'string' },
      'callback-bearer': { type: 'string' },
      'callback-timeout-ms': { type: 'string' },
      'auth-method': { type: 'string' },
      audit: { type: 'string' },
      'oauth-token-ttl-ms': { type: 'string' },
      'conga-token-ttl-ms': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const options: OnespanSimulatorOptions = {};
  if (values['control-secret']) options.controlSecret = values['control-secret'];
  if (values['callback-url']) options.callbackUrl = values['callback-url'];
  const user = values['callback-basic-user'];
  const password = values['callback-basic-password'];
  if (values['callback-key']) options.callbackAuth = { type: 'key', key: values['callback-key'] };
  else if (user !== undefined || password !== undefined) {
    if (user === undefined || password === undefined)
      throw new Error('--callback-basic-user and --callback-basic-password go together');
    options.callbackAuth = { type: 'basic', username: user, password };
  } else if (values['callback-bearer'])
    options.callbackAuth = { type: 'bearer', token: values['callback-bearer'] };
  const timeout = nonNegativeInt(values['callback-timeout-ms'], '--callback-timeout-ms');
  if (timeout !== undefined) options.callbackTimeoutMs = timeout;
  const method = values['auth-method'];
  if (method !== undefined) {
    if (method !== 'any' && method !== 'apiKey' && method !== 'oauth2')
      throw new Error('--auth-method is any, apiKey or oauth2');
    options.authMethod = method;
  }
  const audit = values.audit;
  if (audit !== undefined) {
    if (audit !== 'enabled' && audit !== 'notFound' && audit !== 'forbidden')
      throw new Error('--audit is enabled, notFound or forbidden');
    options.audit = audit;
  }
  const oauthTtl = nonNegativeInt(values['oauth-token-ttl-ms'], '--oauth-token-ttl-ms');
  if (oauthTtl !== undefined) options.oauthTokenTtlMs = oauthTtl;
  const congaTtl = nonNegativeInt(values['conga-token-ttl-ms'], '--conga-token-ttl-ms');
  if (congaTtl !== undefined) options.congaTokenTtlMs = congaTtl;

  const simulator = new OnespanSimulator(options);
  const port = nonNegativeInt(values.port, '--port') ?? 8090;
  const baseUrl = await simulator.start({ port, host: values.host ?? '127.0.0.1' });
  const apiKey = simulator.createApiKey();
  const oauthClient = { clientId: 'onespan-client', clientSecret: 'onespan-secret' };
  const congaClient = { clientId: 'conga-client', clientSecret: 'conga-secret' };
  simulator.registerOAuthClient(oauthClient);
  simulator.registerCongaClient(congaClient);

  console.log(`OneSpan Sign / Conga Sign simulator
  OneSpan API base URL:  ${baseUrl}
  Conga gateway base:    ${simulator.congaBaseUrl}  (packages at /cs-packages)
  OAuth 2.0 token URL:   ${simulator.oauthTokenUrl}  (client ${oauthClient.clientId} / ${oauthClient.clientSecret})
  Conga token URL:       ${simulator.congaTokenUrl}  (client ${congaClient.clientId} / ${congaClient.clientSecret}, scope=sign)
  control URL:           ${simulator.controlUrl}  (header X-Control-Secret: ${simulator.controlSecret})
  account owner:         ${simulator.owner.email} (${simulator.owner.id})
  owner's API key:       ${apiKey}`);
  console.log(
    `SIMULATOR_READY ${JSON.stringify({
      baseUrl,
      congaBaseUrl: simulator.congaBaseUrl,
      oauthTokenUrl: simulator.oauthTokenUrl,
      congaTokenUrl: simulator.congaTokenUrl,
      controlUrl: simulator.controlUrl,
      controlSecret: simulator.controlSecret,
      owner: simulator.owner,
      apiKey,
      oauthClient,
      congaClient,
    })}`,
  );

  const shutdown = (): void => {
    simulator.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  console.error(usage);
  process.exit(2);
});
