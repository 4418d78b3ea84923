/**
 * Bundles the UI (static/src/) into static/dist/: app.js (ES module), app.css, KaTeX's fonts, and ELK's
 * worker script (layout runs off the main thread). Everything comes from node_modules: no CDN.
 *   node static/build.mjs [--watch]
 */
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'static', 'dist');
const watch = process.argv.includes('--watch');

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });
await copyFile(join(root, 'node_modules', 'elkjs', 'lib', 'elk-worker.min.js'), join(outdir, 'elk-worker.min.js'));
// The bundled libraries' licences travel with the bundle (the wheel and the image carry static/dist).
await mkdir(join(outdir, 'licenses'), { recursive: true });
for (const [pkg, file] of [['d3', 'LICENSE'], ['elkjs', 'LICENSE.md'], ['katex', 'LICENSE']]) {
  await copyFile(join(root, 'node_modules', pkg, file), join(outdir, 'licenses', `${pkg}-${file}`));
}

const options = {
  entryPoints: { app: join(root, 'static', 'src', 'main.js') },
  outdir,
  bundle: true,
  format: 'esm',
  target: ['es2020'],
  minify: !watch,
  sourcemap: true,
  legalComments: 'linked',
  loader: { '.woff2': 'file', '.woff': 'file', '.ttf': 'file' },
  assetNames: 'fonts/[name]-[hash]',
  logLevel: 'info',
};

if (watch) {
  const context = await esbuild.context(options);
  await context.watch();
} else {
  await esbuild.build(options);
}
