// The browser client's folders are areas (web/README.md, "Sources"): a page's folder (pad/, calc/,
// admin/) imports its own files and common/; common/ imports only common/. Like the server's
// `layers` unit test (src/lib.rs), this reads the sources, so an import across areas fails the
// suite, not a review. It also fails on a relative import that names no file.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'src')
const AREAS = ['admin', 'calc', 'common', 'pad']
/** What each area may import besides itself. */
const MAY_IMPORT = { admin: ['common'], calc: ['common'], common: [], pad: ['common'] }
/** Static, side-effect, dynamic and JSDoc type imports of a relative path. */
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g

function sources (dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : [])
}

const areaOf = (file) => relative(SRC, file).split(sep)[0]

test('web/src holds only the areas, each page with its main.js', () => {
  const top = readdirSync(SRC).sort()
  assert.deepEqual(top, AREAS, 'web/src/ holds one folder per area and nothing else')
  for (const page of ['pad', 'calc', 'admin']) {
    assert.ok(existsSync(join(SRC, page, 'main.js')), `web/src/${page}/main.js is the ${page} page's entry`)
  }
})

test('a page imports only itself and common/, common/ only itself, and every import names a file', () => {
  const wrong = []
  for (const file of sources(SRC)) {
    const from = areaOf(file)
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = resolve(dirname(file), spec)
      const where = `web/src/${relative(SRC, file)} imports ${spec}`
      if (!existsSync(target)) {
        wrong.push(`${where}, which does not exist`)
        continue
      }
      // Outside web/src: the server's shared data (calc/locale.js reads src/doc/calc/fr.json).
      if (relative(SRC, target).startsWith('..')) continue
      const to = areaOf(target)
      if (to !== from && !MAY_IMPORT[from].includes(to)) wrong.push(`${where} (${from}/ may import ${[from, ...MAY_IMPORT[from]].join('/, ')}/ only)`)
    }
  }
  assert.deepEqual(wrong, [])
})
