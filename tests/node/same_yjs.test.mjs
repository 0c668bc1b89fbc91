// The stock clients of both suites (tests/package.json, one pin) run the Yjs the pages ship
// (web/package.json, bundled into dist/): a bump on one side without the other fails here, so
// the suites never test a different yjs or y-websocket than the browsers get.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'

const read = (path) => JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8'))
const SHARED = ['yjs', 'y-websocket', 'y-protocols', 'lib0']

test('tests/ and web/ pin the same yjs, y-websocket, y-protocols and lib0', () => {
  const tests = read('../package-lock.json').packages
  const web = read('../../web/package-lock.json').packages
  for (const name of SHARED) {
    const key = `node_modules/${name}`
    assert.ok(tests[key], `${name} is in tests/package-lock.json`)
    assert.equal(tests[key].version, web[key]?.version,
      `${name}: tests/package-lock.json has ${tests[key].version}, web/package-lock.json has ${web[key]?.version}`)
  }
  const direct = read('../package.json').devDependencies
  const webDirect = read('../../web/package.json').devDependencies
  for (const name of ['yjs', 'y-websocket']) assert.equal(direct[name], webDirect[name], `${name} in both package.json`)
})
