import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createReadStream } from 'node:fs';
import { createBrotliDecompress } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { extract } from 'tar-fs';

/** Where a system Chromium usually lives (Debian, Ubuntu, other distributions). */
const SYSTEM_CHROMIUMS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

interface ChromiumBinary {
  path: string;
  /** Extra environment for the browser process (the libraries a bare machine lacks). */
  env?: Record<string, string>;
}

let found: Promise<ChromiumBinary> | undefined;

/**
 * The Chromium to drive: `CHROMIUM_PATH` (a path, or `bundled`), else the system's, else the one shipped inside the
 * `@sparticuz/chromium` npm package (unpacked once into the temp directory, with the few shared
 * libraries it needs that a machine with only Node.js may lack), so `npm ci && npm test` needs no
 * browser installed.
 */
export function chromiumBinary(): Promise<ChromiumBinary> {
  found ??= locate();
  return found;
}

async function locate(): Promise<ChromiumBinary> {
  const configured = process.env.CHROMIUM_PATH;
  // `bundled` skips the system's, as on a machine that has none.
  if (configured === 'bundled') return packagedChromium();
  if (configured) return { path: configured };
  const system = SYSTEM_CHROMIUMS.find((p) => existsSync(p));
  if (system) return { path: system };
  return packagedChromium();
}

async function packagedChromium(): Promise<ChromiumBinary> {
  const { default: packaged } = (await import('@sparticuz/chromium')) as {
    default: { executablePath(input?: string): Promise<string> };
  };
  const path = await packaged.executablePath();
  // The package's own library bundle (NSS, NSPR, expat) is unpacked only on Amazon Linux; a bare
  // Debian or Ubuntu lacks the same libraries, so unpack it here too.
  const bin = join(dirname(require.resolve('@sparticuz/chromium')), '..', '..', 'bin');
  const libs = join(tmpdir(), 'al2023', 'lib');
  if (!existsSync(join(libs, 'libnss3.so'))) {
    await mkdir(join(tmpdir(), 'al2023'), { recursive: true });
    await pipeline(
      createReadStream(join(bin, 'al2023.tar.br')),
      createBrotliDecompress(),
      extract(join(tmpdir(), 'al2023')),
    );
  }
  const inherited = process.env.LD_LIBRARY_PATH;
  return { path, env: { LD_LIBRARY_PATH: inherited ? `${inherited}:${libs}` : libs } };
}

/** A headless Chromium that talks only to what the test opens (no updates, sync or QUIC). */
export async function launchBrowser(): Promise<Browser> {
  const binary = await chromiumBinary();
  return chromium.launch({
    executablePath: binary.path,
    env: binary.env ? { ...process.env, ...binary.env } : undefined,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
/** What a page complained about: uncaught errors and Content-Security-Policy violations. */
export interface PageProblems {
  errors: string[];
  cspViolations: string[];
}

/** Collects the page's uncaught errors and CSP violation reports from the console. */
export function watchPage(page: Page): PageProblems {
  const problems: PageProblems = { errors: [], cspViolations: [] };
  page.on('pageerror', (error) => problems.errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content[- ]Security[- ]Policy|Trusted Type/i.test(message.text())) {
      problems.cspViolations.push(message.text());
    }
  });
  return problems;
}
