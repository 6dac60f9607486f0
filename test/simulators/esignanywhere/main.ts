// Runs the eSignAnyWhere simulator as its own process:
//   npm run sim:esignanywhere -- --port 8089 --callback-url 'http://127.0.0.1:3000/callbacks/esaw?envelope=##EnvelopeId##&action=##Action##'
// Prints the API base URL, the control URL and secret, and a seeded user with an API token; the last line
// is `SIMULATOR_READY {json}` for programs that start it.
import { parseArgs } from 'node:util';
import { EsignAnywhereSimulator, type EsignAnywhereSimulatorOptions } from './esignanywhere.simulator';

const usage = `options:
  --port <n>                    listen port (default 8089; 0 picks a free one)
  --host <addr>                 listen address (default 127.0.0.1)
  --control-secret <s>          secret for the /_control API (default: random, printed)
  --callback-url <template>     CallbackUrl (envelopeFinished only) with ##EnvelopeId## and ##Action##
  --status-update-callback-url <template>
                                StatusUpdateCallbackUrl (envelopeExpired, workstep actions), same placeholders
  --status-lag-ms <n>           report Active this long after an envelope finishes (default 0)
  --unauthorized-body <empty|message>  body of a 401 for an unknown or revoked token (default empty)
  --callback-interval-ms <n>    unit of the growing retry interval (default 300000 = 5 min)
  --callback-timeout-ms <n>     callback timeout (default 5000)
  --callback-basic-user <u>     basic auth user for callbacks (with --callback-basic-password)
  --callback-basic-password <p>
  --before-send-url <template>  before-send redirect template (##EnvelopeId##, ##SenderUserId##, ##OrganizationId##)
  --oauth-client-id <id>        register an OAuth application (with secret and redirect URIs)
  --oauth-client-secret <s>
  --oauth-redirect-uri <uri>    repeatable; exact-match allowlist
  --oauth-auto <approve|deny>   answer the authorize page automatically (as the seeded user)
  --foreign-status <403|404>    answer for another user's envelope (default 404)
  --seed-email <email>          e-mail of the seeded user (default sender@example.test)
  --help`;

function positiveInt(value: string | undefined, name: string): number | undefined {
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
      'status-update-callback-url': { type: 'string' },
      'status-lag-ms': { type: 'string' },
      'unauthorized-body': { type: 'string' },
      'callback-interval-ms': { type: 'string' },
      'callback-timeout-ms': { type: 'string' },
      'callback-basic-user': { type: 'string' },
      'callback-basic-password': { type: 'string' },
      'before-send-url': { type: 'string' },
      'oauth-client-id': { type: 'string' },
      'oauth-client-secret': { type: 'string' },
      'oauth-redirect-uri': { type: 'string', multiple: true },
      'oauth-auto': { type: 'string' },
      'foreign-status': { type: 'string' },
      'seed-email': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    return;
  }

  const options: EsignAnywhereSimulatorOptions = {};
  if (values['control-secret']) options.controlSecret = values['control-secret'];
  if (values['callback-url']) options.callbackUrlTemplate = values['callback-url'];
  if (values['status-update-callback-url'])
    options.statusUpdateCallbackUrlTemplate = values['status-update-callback-url'];
  const lag = positiveInt(values['status-lag-ms'], '--status-lag-ms');
  if (lag !== undefined) options.statusLagMs = lag;
  const unauthorizedBody = values['unauthorized-body'];
  if (unauthorizedBody !== undefined) {
    if (unauthorizedBody !== 'empty' && unauthorizedBody !== 'message')
      throw new Error('--unauthorized-body is empty or message');
    options.unauthorizedBody = unauthorizedBody;
  }
  const interval = positiveInt(values['callback-interval-ms'], '--callback-interval-ms');
  if (interval !== undefined) options.callbackIntervalUnitMs = interval;
  const timeout = positiveInt(values['callback-timeout-ms'], '--callback-timeout-ms');
  if (timeout !== undefined) options.callbackTimeoutMs = timeout;
  if (values['callback-basic-user'] || values['callback-basic-password']) {
    if (!values['callback-basic-user'] || !values['callback-basic-password']) {
      throw new Error('--callback-basic-user and --callback-basic-password go together');
    }
    options.callbackBasicAuth = {
      user: values['callback-basic-user'],
      password: values['callback-basic-password'],
    };
  }
  if (values['before-send-url']) options.beforeSendRedirectUrlTemplate = values['before-send-url'];
  if (values['oauth-client-id']) {
    if (!values['oauth-client-secret'] || !values['oauth-redirect-uri']?.length) {
      throw new Error('--oauth-client-id needs --oauth-client-secret and at least one --oauth-redirect-uri');
    }
    options.oauthClients = [
      {
        clientId: values['oauth-client-id'],
        clientSecret: values['oauth-client-secret'],
        redirectUris: values['oauth-redirect-uri'],
      },
    ];
  }
  const foreign = values['foreign-status'];
  if (foreign !== undefined) {
    if (foreign !== '403' && foreign !== '404') throw new Error('--foreign-status is 403 or 404');
    options.foreignObjectStatus = foreign === '403' ? 403 : 404;
  }

  const simulator = new EsignAnywhereSimulator(options);
  const port = positiveInt(values.port, '--port') ?? 8089;
  const baseUrl = await simulator.start({ port, host: values.host ?? '127.0.0.1' });
  const seeded = simulator.createUser({
    email: values['seed-email'] ?? 'sender@example.test',
    givenName: 'Sam',
    surname: 'Sender',
  });
  const auto = values['oauth-auto'];
  if (auto !== undefined) {
    if (auto !== 'approve' && auto !== 'deny') throw new Error('--oauth-auto is approve or deny');
    simulator.setOAuthDecision({ decision: auto, userId: seeded.user.id });
  }

  console.log(`eSignAnyWhere simulator
  API base URL (ESAW_BASE_URL): ${baseUrl}
  OAuth authorize URL:          ${simulator.authorizeUrl}
  OAuth token URL:              ${simulator.tokenUrl}
  control URL:                  ${simulator.controlUrl}  (header X-Control-Secret: ${simulator.controlSecret})
  seeded user:                  ${seeded.user.email} (${seeded.user.id})
  seeded user's API token:      ${seeded.token}`);
  console.log(
    `SIMULATOR_READY ${JSON.stringify({
      baseUrl,
      controlUrl: simulator.controlUrl,
      controlSecret: simulator.controlSecret,
      user: seeded.user,
      token: seeded.token,
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
