// Stock yjs + y-websocket clients against the real ardoise server (DESIGN.md §2).
//
// Run from the repo root:  ARDOISE_BIN=target/debug/ardoise node --test tests/node/
// (`cargo test` does it for you: tests/it/node_clients.rs.)
//
// Synchronisation is always on Yjs events (waitFor / the provider's 'sync' event);
// the timeouts in ../clients.mjs only turn a hang into a readable failure.

import { test, before, after, afterEach } from 'node:test'
import assert from 'node:assert/strict'

import {
  Y,
  startServer,
  connect,
  waitFor,
  destroyAllClients,
  sameStateVector,
  hex
} from '../clients.mjs'

const T = { timeout: 60_000 }

/** Shared by every test of this file except the persistence one, which restarts its own. */
let server

before(async () => {
  server = await startServer()
})

afterEach(() => {
  destroyAllClients()
})

after(async () => {
  destroyAllClients()
  if (server) await server.stop()
})

/** The rich-text document used by several tests, written in the Quill delta convention. */
function writeRichText (ytext) {
  ytext.insert(0, 'Hello', { bold: true })
  ytext.insert(5, ' world', {})
  ytext.format(6, 5, { italic: true, link: 'https://example.org/w' })
  ytext.insert(11, '\n', { header: 1 })
  ytext.insert(12, 'one', {})
  ytext.format(12, 3, { underline: true, strike: true })
  ytext.insert(15, '\n', { list: 'bullet' })
  ytext.format(0, 2, { bold: null })
}

const RICH_DELTA = [
  { insert: 'He' },
  { insert: 'llo', attributes: { bold: true } },
  { insert: ' ' },
  { insert: 'world', attributes: { italic: true, link: 'https://example.org/w' } },
  { insert: '\n', attributes: { header: 1 } },
  { insert: 'one', attributes: { underline: true, strike: true } },
  { insert: '\n', attributes: { list: 'bullet' } }
]

function sameDelta (a, b) {
  try {
    assert.deepEqual(a, b)
    return true
  } catch {
    return false
  }
}

test('two providers on one room: concurrent inserts into Y.Text "content" converge', T, async () => {
  const room = 'converge'
  const a = await connect(server.wsUrl, room, { label: 'A' })
  const b = await connect(server.wsUrl, room, { label: 'B' })
  const ta = a.doc.getText('content')
  const tb = b.doc.getText('content')

  // All of this runs in one tick: neither side can have received the other's edits yet,
  // so every pair of inserts is concurrent (some at the same position).
  const pieces = []
  for (let i = 0; i < 20; i++) {
    const pa = `a${i} `
    const pb = `b${i} `
    ta.insert(i % 2 ? 0 : ta.length, pa)
    tb.insert(i % 3 ? 0 : tb.length, pb)
    pieces.push(pa, pb)
  }
  ta.insert(0, 'same-spot-A|')
  tb.insert(0, 'same-spot-B|')
  pieces.push('same-spot-A|', 'same-spot-B|')
  const total = pieces.reduce((n, p) => n + p.length, 0)

  await waitFor(
    () => ta.length === total && tb.length === total &&
      ta.toString() === tb.toString() && sameStateVector(a.doc, b.doc),
    'A and B to converge on every concurrent insert'
  )
  assert.equal(ta.toString(), tb.toString())
  assert.equal(hex(Y.encodeStateVector(a.doc)), hex(Y.encodeStateVector(b.doc)))
  for (const p of pieces) assert.ok(ta.toString().includes(p), `converged text lacks ${JSON.stringify(p)}`)
  // The state vector names both writers.
  const sv = Y.decodeStateVector(Y.encodeStateVector(a.doc))
  assert.ok(sv.has(a.doc.clientID) && sv.has(b.doc.clientID), 'state vector should list both clients')
})

test('a late joiner gets everything, formatting attributes included', T, async () => {
  const room = 'late-joiner'
  const a = await connect(server.wsUrl, room, { label: 'A' })
  const witness = await connect(server.wsUrl, room, { label: 'witness' })
  const ta = a.doc.getText('content')
  writeRichText(ta)
  assert.deepEqual(ta.toDelta(), RICH_DELTA, 'test self-check: local delta')

  // Once the witness has it, the server has applied it (it broadcasts after applying).
  await waitFor(() => sameDelta(witness.doc.getText('content').toDelta(), RICH_DELTA),
    'the witness to receive the formatted text')
  // The author leaves: from now on the content can only come from the server.
  a.destroy()

  const late = await connect(server.wsUrl, room, { label: 'late' })
  // Checked at the 'sync' event itself: the server's sync step 2 must carry the whole history.
  assert.deepEqual(late.doc.getText('content').toDelta(), RICH_DELTA)
  assert.equal(late.doc.getText('content').toString(), 'Hello world\none\n')
  assert.ok(sameStateVector(late.doc, witness.doc), 'late joiner and witness should have the same state vector')
})

test('Y.Map "authors" and Y.Array "chat" (and nested types) replicate', T, async () => {
  const room = 'map-array'
  const a = await connect(server.wsUrl, room, { label: 'A' })
  const b = await connect(server.wsUrl, room, { label: 'B' })
  const aid = String(a.doc.clientID)
  const bid = String(b.doc.clientID)

  a.doc.transact(() => {
    a.doc.getMap('authors').set(aid, { id: 'author-a', name: 'Alice', color: '#112233' })
    a.doc.getMap('authors').set('temporary', { id: 'x', name: 'X', color: '#000000' })
    a.doc.getArray('chat').push([{ author: 'author-a', text: 'hello from A', ts: 1700000000000 }])
  })
  b.doc.transact(() => {
    b.doc.getMap('authors').set(bid, { id: 'author-b', name: 'Bob', color: '#445566' })
    b.doc.getArray('chat').push([{ author: 'author-b', text: 'hello from B', ts: 1700000000001 }])
  })
  // Nested shared types, as the calc schema uses (Y.Map holding Y.Arrays / Y.Maps).
  const sheet = a.doc.getMap('sheet:s1')
  a.doc.transact(() => {
    sheet.set('name', 'Feuille 1')
    const rows = new Y.Array()
    rows.push(['r1', 'r2'])
    sheet.set('rows', rows)
    const cells = new Y.Map()
    cells.set('r1:c1', { v: '42' })
    sheet.set('cells', cells)
  })

  const expectedAuthors = {
    [aid]: { id: 'author-a', name: 'Alice', color: '#112233' },
    [bid]: { id: 'author-b', name: 'Bob', color: '#445566' },
    temporary: { id: 'x', name: 'X', color: '#000000' }
  }
  const expectedSheet = { name: 'Feuille 1', rows: ['r1', 'r2'], cells: { 'r1:c1': { v: '42' } } }
  const converged = () =>
    sameDelta(a.doc.getMap('authors').toJSON(), expectedAuthors) &&
    sameDelta(b.doc.getMap('authors').toJSON(), expectedAuthors) &&
    a.doc.getArray('chat').length === 2 &&
    sameDelta(a.doc.getArray('chat').toJSON(), b.doc.getArray('chat').toJSON()) &&
    sameDelta(b.doc.getMap('sheet:s1').toJSON(), expectedSheet)
  await waitFor(converged, 'authors, chat and sheet:s1 to replicate both ways')
  assert.deepEqual(
    new Set(b.doc.getArray('chat').toJSON().map((m) => m.text)),
    new Set(['hello from A', 'hello from B'])
  )

  // Deletions and edits inside nested types replicate too.
  b.doc.getMap('authors').delete('temporary')
  b.doc.getArray('chat').delete(0, 1)
  b.doc.getMap('sheet:s1').get('rows').insert(1, ['r3'])
  b.doc.getMap('sheet:s1').get('cells').set('r3:c1', { v: '=r1:c1' })
  delete expectedAuthors.temporary
  await waitFor(
    () => sameDelta(a.doc.getMap('authors').toJSON(), expectedAuthors) &&
      a.doc.getArray('chat').length === 1 &&
      sameDelta(a.doc.getArray('chat').toJSON(), b.doc.getArray('chat').toJSON()) &&
      sameDelta(a.doc.getMap('sheet:s1').get('rows').toJSON(), ['r1', 'r3', 'r2']) &&
      a.doc.getMap('sheet:s1').get('cells').get('r3:c1')?.v === '=r1:c1',
    'deletions and nested edits from B to reach A'
  )

  const late = await connect(server.wsUrl, room, { label: 'late' })
  assert.deepEqual(late.doc.getMap('authors').toJSON(), expectedAuthors)
  assert.deepEqual(late.doc.getArray('chat').toJSON(), a.doc.getArray('chat').toJSON())
  assert.deepEqual(late.doc.getMap('sheet:s1').toJSON(), a.doc.getMap('sheet:s1').toJSON())
})

test('awareness: states appear, change, and are removed when a provider is destroyed', T, async () => {
  const room = 'awareness'
  const a = await connect(server.wsUrl, room, { label: 'A' })
  const b = await connect(server.wsUrl, room, { label: 'B' })
  const aid = a.doc.clientID
  const bid = b.doc.clientID

  a.awareness.setLocalStateField('user', { name: 'A', color: '#112233' })
  await waitFor(() => sameDelta(b.awareness.getStates().get(aid)?.user, { name: 'A', color: '#112233' }),
    "A's awareness state to appear at B")

  a.awareness.setLocalStateField('user', { name: 'A renamed', color: '#abcdef' })
  a.awareness.setLocalStateField('cursor', { anchor: 3, head: 5 })
  await waitFor(() => {
    const s = b.awareness.getStates().get(aid)
    return sameDelta(s?.user, { name: 'A renamed', color: '#abcdef' }) && sameDelta(s?.cursor, { anchor: 3, head: 5 })
  }, "A's changed awareness state to reach B")

  b.awareness.setLocalStateField('user', { name: 'B', color: '#445566' })
  await waitFor(() => sameDelta(a.awareness.getStates().get(bid)?.user, { name: 'B', color: '#445566' }),
    "B's awareness state to appear at A")

  // Clean leave: y-websocket sends A's state as null, then closes the socket.
  a.destroy()
  await waitFor(() => !b.awareness.getStates().has(aid), "A's clientID to be removed from B's awareness")
  assert.ok(b.awareness.getStates().has(bid), "B's own state stays")

  // A newcomer gets the current states from the server on connect, without A's.
  const c = await connect(server.wsUrl, room, { label: 'C' })
  await waitFor(() => sameDelta(c.awareness.getStates().get(bid)?.user, { name: 'B', color: '#445566' }),
    "the server's current awareness states (B's) to reach newcomer C")
  assert.ok(!c.awareness.getStates().has(aid), 'C must not see the departed A')
})

test('awareness: an abrupt close (no close frame) removes the states that connection introduced', T, async () => {
  const room = 'awareness-abrupt'
  const a = await connect(server.wsUrl, room, { label: 'A' })
  const b = await connect(server.wsUrl, room, { label: 'B' })
  const aid = a.doc.clientID

  a.awareness.setLocalStateField('user', { name: 'A', color: '#112233' })
  await waitFor(() => sameDelta(b.awareness.getStates().get(aid)?.user, { name: 'A', color: '#112233' }),
    "A's awareness state to appear at B")

  // Kill the TCP connection under A without a close frame and without A announcing `null`.
  // Only the server can tell B that A is gone. (B's own 30 s awareness timeout is longer
  // than waitFor's 10 s guard, so it cannot be what removes the state here.)
  a.provider.shouldConnect = false
  const ws = a.provider.ws
  assert.ok(ws && typeof ws.terminate === 'function', 'provider.ws should be a ws WebSocket')
  ws.terminate()

  await waitFor(() => !b.awareness.getStates().has(aid),
    "the server to remove A's awareness state at B after A's socket died", 10_000)
  assert.ok(b.awareness.getStates().has(b.doc.clientID), "B's own state stays")
  // The room is still fine for B.
  b.doc.getText('content').insert(0, 'still here')
  const c = await connect(server.wsUrl, room, { label: 'C' })
  await waitFor(() => c.doc.getText('content').toString() === 'still here', "B's later edit to reach newcomer C")
})

test('offline edits merge on reconnect', T, async () => {
  const room = 'offline'
  const a = await connect(server.wsUrl, room, { label: 'A' })
  const b = await connect(server.wsUrl, room, { label: 'B' })
  const ta = a.doc.getText('content')
  const tb = b.doc.getText('content')
  ta.insert(0, 'base\n')
  await waitFor(() => tb.toString() === 'base\n', 'the base text to reach B')

  a.provider.disconnect()
  assert.equal(a.provider.wsconnected, false)

  ta.insert(0, 'A-offline ')
  a.doc.getMap('authors').set(String(a.doc.clientID), { id: 'a', name: 'A', color: '#111111' })
  tb.insert(tb.length, 'B-online\n')
  b.doc.getMap('authors').set(String(b.doc.clientID), { id: 'b', name: 'B', color: '#222222' })
  // B's edit goes through the server; A, offline, cannot have it.
  assert.equal(ta.toString(), 'A-offline base\n')

  a.provider.connect()
  await waitFor(() => a.provider.synced, 'A to resync after connect()')
  await waitFor(
    () => ta.toString() === tb.toString() && sameStateVector(a.doc, b.doc) &&
      ta.toString().includes('A-offline') && ta.toString().includes('B-online'),
    'A and B to converge with both offline and online edits'
  )
  assert.equal(ta.toString(), 'A-offline base\nB-online\n')
  assert.equal(a.doc.getMap('authors').size, 2)
  assert.deepEqual(a.doc.getMap('authors').toJSON(), b.doc.getMap('authors').toJSON())
})

test('persistence: content survives all clients leaving and a server restart', T, async () => {
  const room = 'persist'
  let s = await startServer()
  const dataDir = s.dataDir
  try {
    const a = await connect(s.wsUrl, room, { label: 'A' })
    const witness = await connect(s.wsUrl, room, { label: 'witness' })
    writeRichText(a.doc.getText('content'))
    a.doc.getMap('authors').set(String(a.doc.clientID), { id: 'author-a', name: 'Alice', color: '#112233' })
    a.doc.getArray('chat').push([{ author: 'author-a', text: 'before restart', ts: 1 }])
    await waitFor(() => sameStateVector(a.doc, witness.doc), 'the witness (hence the server) to have all of A\'s edits')
    const expectedSv = hex(Y.encodeStateVector(a.doc))
    const expectedAuthors = a.doc.getMap('authors').toJSON()
    a.destroy()
    witness.destroy()

    await s.stop()
    s = await startServer({ dataDir })

    const b = await connect(s.wsUrl, room, { label: 'B after restart 1' })
    assert.deepEqual(b.doc.getText('content').toDelta(), RICH_DELTA)
    assert.deepEqual(b.doc.getMap('authors').toJSON(), expectedAuthors)
    assert.deepEqual(b.doc.getArray('chat').toJSON(), [{ author: 'author-a', text: 'before restart', ts: 1 }])
    assert.equal(hex(Y.encodeStateVector(b.doc)), expectedSv)

    // A second generation: edits made after a reload survive another restart too.
    const witness2 = await connect(s.wsUrl, room, { label: 'witness 2' })
    b.doc.getArray('chat').push([{ author: 'author-b', text: 'after restart', ts: 2 }])
    b.doc.getText('content').insert(0, 'Top\n', {})
    await waitFor(() => sameStateVector(b.doc, witness2.doc), 'the second witness to have all of B\'s edits')
    const expectedDelta2 = b.doc.getText('content').toDelta()
    const expectedChat2 = b.doc.getArray('chat').toJSON()
    b.destroy()
    witness2.destroy()

    await s.stop()
    s = await startServer({ dataDir })
    const c = await connect(s.wsUrl, room, { label: 'C after restart 2' })
    assert.deepEqual(c.doc.getText('content').toDelta(), expectedDelta2)
    assert.deepEqual(c.doc.getArray('chat').toJSON(), expectedChat2)
    assert.deepEqual(c.doc.getMap('authors').toJSON(), expectedAuthors)
  } finally {
    destroyAllClients()
    await s.stop()
  }
})

test('rooms whose names differ only by case or suffix are isolated', T, async () => {
  const rooms = ['Room', 'room', 'room2']
  const writers = {}
  const readers = {}
  for (const r of rooms) {
    writers[r] = await connect(server.wsUrl, r, { label: `writer ${r}` })
    readers[r] = await connect(server.wsUrl, r, { label: `reader ${r}` })
  }
  for (const r of rooms) {
    writers[r].doc.getText('content').insert(0, `only in ${r}`)
    writers[r].doc.getMap('authors').set(`key-${r}`, r)
  }
  await waitFor(
    () => rooms.every((r) => readers[r].doc.getText('content').toString() === `only in ${r}` &&
      readers[r].doc.getMap('authors').get(`key-${r}`) === r),
    'each reader to receive its own room\'s edit'
  )
  // Every room's edit has been applied by the server now: fresh joiners must see
  // exactly their own room's content, nothing from the look-alike names.
  for (const r of rooms) {
    const late = await connect(server.wsUrl, r, { label: `late ${r}` })
    assert.equal(late.doc.getText('content').toString(), `only in ${r}`, `room ${r}`)
    assert.deepEqual(late.doc.getMap('authors').toJSON(), { [`key-${r}`]: r }, `room ${r}`)
    assert.equal(readers[r].doc.getText('content').toString(), `only in ${r}`, `reader of room ${r}`)
    assert.deepEqual(readers[r].doc.getMap('authors').toJSON(), { [`key-${r}`]: r }, `reader of room ${r}`)
  }
})
