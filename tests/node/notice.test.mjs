// The operator's notice (issue 7) is a message type stock clients do not know: a stock yjs +
// y-websocket client receives it, drops it ("Unable to compute message") and keeps syncing.
//
// Run from the repo root:  ARDOISE_BIN=target/debug/ardoise node --test tests/node/

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'

import { startServer, connect, waitFor, destroyAllClients } from '../clients.mjs'

const T = { timeout: 60_000 }
const TOKEN = 'node-suite-admin-token'
let server

before(async () => {
  server = await startServer({ args: ['--admin-token', TOKEN] })
})

after(async () => {
  destroyAllClients()
  if (server) await server.stop()
})

test('stock clients ignore the notice and keep syncing', T, async () => {
  const res = await fetch(`${server.url}/admin/api/notice`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ message: 'Maintenance tonight' })
  })
  assert.equal(res.status, 200)

  const dropped = []
  const consoleError = console.error
  console.error = (...args) => { dropped.push(args.join(' ')) }
  try {
    const a = await connect(server.wsUrl, 'noticed', { label: 'A' })
    const b = await connect(server.wsUrl, 'noticed', { label: 'B' })
    // Each client got the notice on joining and dropped it.
    await waitFor(() => dropped.length >= 2, 'both clients to drop the notice')
    assert.ok(dropped.every((m) => m.includes('Unable to compute message')), dropped.join('\n'))
    a.doc.getText('content').insert(0, 'from A ')
    b.doc.getText('content').insert(0, 'from B ')
    const same = () => a.doc.getText('content').toString() === b.doc.getText('content').toString() &&
      a.doc.getText('content').length === 14
    await waitFor(same, 'both edits on both clients')
    assert.equal(a.provider.wsconnected && b.provider.wsconnected, true)
  } finally {
    console.error = consoleError
  }
})
