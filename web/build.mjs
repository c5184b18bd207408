// Bundles the VAS-MS web player with esbuild (type checking is `tsc --noEmit`, run first
// by `npm run build`). Output, served by the control API at / (control_api/api/web.py):
//   <out>/index.html, demo.css, demo.js      the demo page
//   <out>/lib/vasms-player.js                the client library (ESM, mediasoup-client inside)
//   <out>/lib/MediaSoupPlayerV2.js           the React component (ESM, react external)
// <out> is ../build/web unless VASMS_WEB_OUT says otherwise.
import { cp, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, process.env.VASMS_WEB_OUT ?? '../build/web');
const common = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome111', 'firefox120', 'safari16'],
  sourcemap: true,
  minify: true,
  legalComments: 'linked',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
};

await rm(out, { recursive: true, force: true });
await mkdir(path.join(out, 'lib'), { recursive: true });
await Promise.all([
  esbuild.build({
    ...common,
    entryPoints: [path.join(here, 'src/demo/main.ts')],
    outfile: path.join(out, 'demo.js'),
  }),
  esbuild.build({
    ...common,
    entryPoints: [path.join(here, 'src/index.ts')],
    outfile: path.join(out, 'lib/vasms-player.js'),
  }),
  esbuild.build({
    ...common,
    entryPoints: [path.join(here, 'src/react/MediaSoupPlayerV2.tsx')],
    outfile: path.join(out, 'lib/MediaSoupPlayerV2.js'),
    external: ['react', 'react/jsx-runtime'],
    jsx: 'automatic',
  }),
]);
await cp(path.join(here, 'static'), out, { recursive: true });
console.log(`web: built into ${path.relative(process.cwd(), out) || out}`);
