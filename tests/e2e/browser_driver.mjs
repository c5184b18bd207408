// Headless Debian Chromium driven by playwright-core (from web/node_modules), for the
// Python e2e tests (tests/e2e/browser.py). One JSON command per stdin line:
//   {"id": 1, "cmd": "goto", "url": "..."}
// one JSON answer per stdout line: {"id": 1, "ok": true, "value": ...} or
// {"id": 1, "ok": false, "error": "..."}. Commands: goto, eval, wait_for, fill, click,
// screenshot, events, close. Never downloads a browser: CHROMIUM (default
// /usr/bin/chromium) is launched with the flags this machine needs.
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.resolve(here, '../../web/package.json'));
const { chromium } = require('playwright-core');

const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const userDataDir = await mkdtemp(path.join(os.tmpdir(), 'vasms-e2e-chromium-'));
const args = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  // A player in a background tab must keep decoding.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--autoplay-policy=no-user-gesture-required',
  // Extra flags of one test (a JSON list), e.g. for a page served on a test's own address.
  ...JSON.parse(process.env.VASMS_E2E_CHROMIUM_ARGS || '[]'),
];

const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  args,
  viewport: { width: 1280, height: 800 },
});
const page = context.pages()[0] ?? (await context.newPage());

// What the page did, for assertions from the client side.
const events = { console: [], websockets: [], requests: [], pageErrors: [] };
page.on('console', (m) => events.console.push(`${m.type()}: ${m.text()}`));
page.on('pageerror', (e) => events.pageErrors.push(String(e)));
page.on('websocket', (ws) => events.websockets.push(ws.url().replace(/token=[^&]+/, 'token=…')));
page.on('request', (r) => events.requests.push(`${r.method()} ${new URL(r.url()).pathname}`));

async function run(msg) {
  switch (msg.cmd) {
    case 'goto':
      await page.goto(msg.url, { waitUntil: 'load' });
      return null;
    case 'eval':
      // An expression (may be a promise) evaluated in the page.
      return await page.evaluate(`(async () => (${msg.expr}))()`);
    case 'wait_for':
      await page.waitForFunction(msg.expr, null, { timeout: msg.timeout_ms ?? 30000, polling: 50 });
      return await page.evaluate(`(async () => (${msg.expr}))()`);
    case 'fill':
      await page.fill(msg.selector, msg.value);
      return null;
    case 'click':
      await page.click(msg.selector, { timeout: msg.timeout_ms ?? 10000 });
      return null;
    case 'screenshot':
      await page
        .locator(msg.selector)
        .first()
        .screenshot({ path: msg.path, style: msg.style ?? '' });
      return msg.path;
    case 'events':
      return events;
    case 'version':
      return context.browser()?.version() ?? null;
    case 'close':
      return null;
    default:
      throw new Error(`unknown command ${msg.cmd}`);
  }
}

const send = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
send({ id: 0, ok: true, value: 'ready' });
const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const msg = JSON.parse(line);
  try {
    send({ id: msg.id, ok: true, value: (await run(msg)) ?? null });
  } catch (error) {
    send({ id: msg.id, ok: false, error: String(error?.stack ?? error) });
  }
  if (msg.cmd === 'close') break;
}
await context.close().catch(() => undefined);
await rm(userDataDir, { recursive: true, force: true });
process.exit(0);
