/**
 * Bundles the UI (static/src/) into static/dist/:
 * - app.js (ES module), app.css, KaTeX's fonts, and ELK's worker script (layout runs off the main
 *   thread): the page;
 * - viewer.js: the viewer alone (viewer.js's mountViewer) as ONE self-contained ES module, for the
 *   standalone HTML file (and widget.js, the notebook widget's module, with the viewer in it):
 *   its CSS (KaTeX's fonts as data: URLs, woff2 only) is a string in it that mountViewer puts in
 *   the viewer's shadow root, and ELK's worker is started from its inlined source (elk-host-inline.js).
 * Everything comes from node_modules: no CDN.
 *   node static/build.mjs [--watch]   (--watch rebuilds the page's bundle only)
 */
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'static', 'src');
const outdir = join(root, 'static', 'dist');
const watch = process.argv.includes('--watch');

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });
const workerScript = join(root, 'node_modules', 'elkjs', 'lib', 'elk-worker.min.js');
await copyFile(workerScript, join(outdir, 'elk-worker.min.js'));
// The bundled libraries' licences travel with the bundle (the wheel and the image carry static/dist).
await mkdir(join(outdir, 'licenses'), { recursive: true });
for (const [pkg, file] of [['d3', 'LICENSE'], ['elkjs', 'LICENSE.md'], ['katex', 'LICENSE']]) {
  await copyFile(join(root, 'node_modules', pkg, file), join(outdir, 'licenses', `${pkg}-${file}`));
}

const common = {
  bundle: true,
  format: 'esm',
  target: ['es2020'],
  minify: !watch,
  legalComments: 'linked',
  logLevel: 'info',
};

const options = {
  ...common,
  entryPoints: { app: join(src, 'main.js') },
  outdir,
  sourcemap: true,
  loader: { '.woff2': 'file', '.woff': 'file', '.ttf': 'file' },
  assetNames: 'fonts/[name]-[hash]',
};

if (watch) {
  const context = await esbuild.context(options);
  await context.watch();
} else {
  await esbuild.build(options);
  await buildViewer();
}

/** static/dist/viewer.js: the viewer's CSS first (as text), then the module with it inlined. */
async function buildViewer() {
  const { fontCss, shadowCss } = await viewerCss();
  const inline = {
    name: 'viewer-inline',
    setup(build) {
      // The page's CSS imports: their rules are in the strings below.
      build.onLoad({ filter: /\.css$/ }, () => ({ contents: '', loader: 'js' }));
      build.onResolve({ filter: /^\.\/elk-host\.js$/ }, () => ({ path: join(src, 'elk-host-inline.js') }));
      build.onResolve({ filter: /^\.\/viewer-css\.js$/ }, () => ({ path: 'viewer-css', namespace: 'viewer-inline' }));
      build.onResolve({ filter: /^elk-worker-source$/ }, () => ({ path: workerScript }));
      build.onLoad({ filter: /elk-worker\.min\.js$/ }, async () => ({ contents: await readFile(workerScript, 'utf8'), loader: 'text' }));
      build.onLoad({ filter: /.*/, namespace: 'viewer-inline' }, () => ({
        contents: `export const shadowCss = ${JSON.stringify(shadowCss)};\nexport const fontCss = ${JSON.stringify(fontCss)};\n`,
        loader: 'js',
      }));
    },
  };
  await esbuild.build({
    ...common,
    // widget.js: the notebook widget's front end (anywidget's one ES module, chainlens/widget.py),
    // the viewer bundled into it the same way.
    entryPoints: { viewer: join(src, 'viewer.js'), widget: join(src, 'widget.js') },
    outdir,
    legalComments: 'none', // the licences are in dist/licenses, and the file is meant to be inlined
    plugins: [inline],
  });
}

/**
 * The viewer's CSS as two strings: KaTeX's @font-face rules (for the document: browsers do not
 * read @font-face inside a shadow root) and the rest, for the shadow root, with the page's
 * `:root` and `body` rules applied to the viewer's frame (:host, .cl-body).
 */
async function viewerCss() {
  const result = await esbuild.build({
    ...common,
    entryPoints: { viewer: join(src, 'viewer.js') },
    outdir: join(outdir, 'viewer-css'),
    write: false,
    minify: true,
    legalComments: 'none',
    // woff2 only (every browser the viewer runs in reads it): the other formats would triple the file.
    loader: { '.woff2': 'dataurl' },
    plugins: [{
      name: 'woff2-only',
      setup(build) {
        build.onResolve({ filter: /\.(woff|ttf)$/ }, (args) => ({ path: args.path, external: true }));
      },
    }],
  });
  const css = result.outputFiles.find((file) => file.path.endsWith('.css')).text;
  const withoutOthers = css.replace(/,url\([^)]*\.(?:woff|ttf)\)\s*format\([^)]*\)/g, '');
  const fontFaces = withoutOthers.match(/@font-face\{[^}]*\}/g) ?? [];
  const rest = withoutOthers.replace(/@font-face\{[^}]*\}/g, '')
    .replace(/:root\b/g, ':host')
    .replace(/(^|[\s,{}>~+(])(?:html,\s*)?body(?=[\s.[:,{>~+)])/g, '$1.cl-body');
  return { fontCss: fontFaces.join('\n'), shadowCss: rest };
}
