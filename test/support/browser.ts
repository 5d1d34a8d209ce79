/**
 * Headless Chromium for browser tests: Debian's `chromium` (what .ci/run installs) or GOVERNOR_CHROMIUM,
 * driven by playwright-core (its own browser download is not used). Without Chromium a test fails under
 * CI (`CI`, or GOVERNOR_REQUIRE_CHROMIUM=1 as .ci/run sets it) and is skipped with a banner elsewhere.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export function findChromium(): string | undefined {
  return [
    process.env.GOVERNOR_CHROMIUM,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
  ]
    .filter((path): path is string => Boolean(path))
    .find((path) => existsSync(path));
}

/** The Chromium path, or undefined after saying loudly why the browser test is skipped (throws under CI). */
export function chromiumOrSkip(what: string): string | undefined {
  const path = findChromium();
  if (path) return path;
  const message = 'Chromium not found (apt-get install -y chromium, or set GOVERNOR_CHROMIUM)';
  if (process.env.CI || process.env.GOVERNOR_REQUIRE_CHROMIUM === '1') throw new Error(`${message}: ${what}`);
  console.warn(`${'!'.repeat(100)}\n! ${message}: SKIPPING ${what}\n${'!'.repeat(100)}`);
  return undefined;
}

export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
