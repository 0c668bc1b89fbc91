// Build the browser client into dist/ (committed; the server embeds it):
//   dist/pad.js        the pad page (src/pad/main.js), one minified IIFE bundle (CodeMirror, Yjs, ...)
//   dist/admin.js      the admin page's script (src/admin/main.js)
//   dist/calc.js       the calc page (src/calc/main.js), one minified IIFE bundle (Yjs, IronCalc glue)
//   dist/ironcalc.wasm IronCalc's engine (@ironcalc/wasm, copied as published)
//   dist/app.css       styles of every page (src/common/app.css: home, errors, pad, calc)
//   dist/favicon.svg   the icon (pages link it, so browsers do not ask for /favicon.ico)
//   dist/*.gz          gzip level 9 siblings, served as-is to clients that accept gzip
//   dist/THIRD_PARTY_LICENSES.txt   licences of the bundled npm packages
//   dist/manifest.json every file with its size and SHA-256 (the server's ?v= and ETags)
// The output is byte-for-byte reproducible: CI rebuilds it and diffs against the committed copy
// (check-dist.sh).

import * as esbuild from 'esbuild'
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync, constants } from 'node:zlib'

const root = dirname(fileURLToPath(import.meta.url))
const dist = join(root, 'dist')

rmSync(dist, { recursive: true, force: true })
mkdirSync(dist, { recursive: true })

const common = {
  bundle: true,
  minify: true,
  sourcemap: false,
  legalComments: 'none', // collected into THIRD_PARTY_LICENSES.txt instead
  logLevel: 'warning',
  absWorkingDir: root,
  metafile: true,
  write: true
}

// A page's bundle: its area's entry, src/<name>/main.js, written under the page's name.
const bundle = (name) => esbuild.build({
  ...common,
  entryPoints: [`src/${name}/main.js`],
  outfile: `dist/${name}.js`,
  format: 'iife',
  target: ['es2022'],
  charset: 'ascii',
  define: { 'process.env.NODE_ENV': '"production"' },
  // wasm-bindgen's default `new URL('…wasm', import.meta.url)` is never used: the page passes
  // the engine's versioned URL (data-wasm).
  logOverride: { 'empty-import-meta': 'silent' }
})
const js = await bundle('pad')
const calcJs = await bundle('calc')

// The admin page's script: no npm package, so nothing to add to the licences.
await esbuild.build({
  ...common,
  entryPoints: ['src/admin/main.js'],
  outfile: 'dist/admin.js',
  format: 'iife',
  target: ['es2022'],
  charset: 'ascii'
})

await esbuild.build({
  ...common,
  entryPoints: ['src/common/app.css'],
  outfile: 'dist/app.css',
  target: ['chrome100', 'firefox100', 'safari15'],
  charset: 'ascii'
})

// Static files copied as they are
for (const f of ['favicon.svg']) writeFileSync(join(dist, f), readFileSync(join(root, 'src', 'common', f)))
writeFileSync(join(dist, 'ironcalc.wasm'), readFileSync(join(root, 'node_modules/@ironcalc/wasm/wasm_bg.wasm')))

// Licences of every npm package that ended up in the bundle, sorted by name.
const packages = new Map()
for (const input of [...Object.keys(js.metafile.inputs), ...Object.keys(calcJs.metafile.inputs)]) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)
  if (m) packages.set(m[1], join(root, 'node_modules', m[1]))
}
const licenceParts = [
  'Third-party software bundled in pad.js, calc.js and ironcalc.wasm (npm packages, pinned in web/package-lock.json).\n'
]
for (const name of [...packages.keys()].sort()) {
  const dir = packages.get(name)
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  const file = readdirSync(dir).sort().find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f))
  const text = file ? readFileSync(join(dir, file), 'utf8').trim() : `License: ${pkg.license ?? 'unknown'}`
  licenceParts.push(`${'='.repeat(78)}\n${name} ${pkg.version} (${pkg.license ?? 'unknown'})\n${'='.repeat(78)}\n${text}\n`)
}
writeFileSync(join(dist, 'THIRD_PARTY_LICENSES.txt'), licenceParts.join('\n'))

// gzip siblings (node's gzip header has no name and mtime 0: deterministic)
for (const f of ['pad.js', 'admin.js', 'calc.js', 'ironcalc.wasm', 'app.css']) {
  const buf = readFileSync(join(dist, f))
  writeFileSync(join(dist, f + '.gz'), gzipSync(buf, { level: constants.Z_BEST_COMPRESSION }))
}

const manifest = {}
for (const f of readdirSync(dist).sort()) {
  if (f === 'manifest.json' || f.endsWith('.gz')) continue
  const buf = readFileSync(join(dist, f))
  const sha256 = createHash('sha256').update(buf).digest('hex')
  const entry = { size: buf.length, sha256, hash: sha256.slice(0, 16) }
  if (existsSync(join(dist, f + '.gz'))) {
    const gz = readFileSync(join(dist, f + '.gz'))
    entry.gzip = { file: f + '.gz', size: gz.length, sha256: createHash('sha256').update(gz).digest('hex') }
  }
  manifest[f] = entry
}
writeFileSync(join(dist, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n')

for (const [f, e] of Object.entries(manifest)) {
  console.log(`dist/${f.padEnd(26)} ${String(e.size).padStart(8)} B${e.gzip ? `  (gzip ${e.gzip.size} B)` : ''}  ${e.hash}`)
}
