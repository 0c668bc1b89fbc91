// Stock Yjs clients for the Node and browser suites: the real ardoise binary (./server.mjs), a
// Y.Doc with the stock y-websocket provider (the packages any Yjs app uses, pinned once in
// tests/package.json), and waiting on Yjs events (never on fixed sleeps).
//
// This file must not match node --test's file patterns (*.test.mjs, test-*.mjs, test.mjs, ...).

import { freshDataDir, serverLogs, startServer } from './server.mjs'

import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'

export { Y, WebsocketProvider, WebSocket, freshDataDir, serverLogs, startServer }

/** How long a wait may last before it fails: a guard against hanging, not a timing assertion. */
export const WAIT_MS = 15_000

// Every provider registers a process 'exit' listener; a test may hold a dozen.
process.setMaxListeners(100)

const clients = new Set()

/**
 * Wait until `predicate()` is true, re-checking it on every Yjs event of every live client
 * made by `connect`/`makeClient` (doc 'update', awareness 'change', provider 'status',
 * 'sync', 'connection-close') plus any extra `sources` given. The timeout only guards
 * against hanging: it is a failure, not a timing assertion.
 *
 * @param {() => boolean} predicate
 * @param {string} what   what we are waiting for, for the failure message
 * @param {number} timeoutMs
 * @param {{sources?: Array<Y.Doc | WebsocketProvider | object>, describe?: () => string}} opts
 */
export function waitFor (predicate, what, timeoutMs = WAIT_MS, opts = {}) {
  return new Promise((resolve, reject) => {
    const subs = []
    let done = false
    const finish = (err) => {
      if (done) return
      done = true
      clearTimeout(timer)
      for (const [obj, ev, fn] of subs) obj.off(ev, fn)
      if (err) reject(err)
      else resolve()
    }
    const check = () => {
      if (done) return
      let ok
      try {
        ok = predicate()
      } catch (err) {
        finish(err)
        return
      }
      if (ok) finish()
    }
    const on = (obj, ev) => {
      obj.on(ev, check)
      subs.push([obj, ev, check])
    }
    const watch = (src) => {
      if (src instanceof Y.Doc) {
        on(src, 'update')
      } else if (src instanceof WebsocketProvider) {
        on(src.doc, 'update')
        on(src.awareness, 'change')
        on(src, 'status')
        on(src, 'sync')
        on(src, 'connection-close')
      } else if (src && typeof src.on === 'function') {
        // an Awareness
        on(src, 'change')
      }
    }
    for (const c of clients) watch(c.provider)
    for (const s of opts.sources ?? []) watch(s)
    const timer = setTimeout(() => {
      let detail = ''
      try { detail = opts.describe ? `\n${opts.describe()}` : '' } catch (e) { detail = `\n(describe failed: ${e})` }
      finish(new Error(
        `timed out after ${timeoutMs} ms waiting for: ${what}${detail}\n` +
        `clients:\n${[...clients].map(describeClient).join('\n') || '(none)'}\n` +
        `${serverLogs()}`
      ))
    }, timeoutMs)
    check()
  })
}

function describeClient (c) {
  const p = c.provider
  const closes = c.closes.length
    ? ' closes=' + c.closes.map((e) => e ? `${e.code}${e.reason ? ` "${e.reason}"` : ''}` : 'local').join(',')
    : ''
  return `  ${c.label} room=${p.roomname} clientID=${c.doc.clientID} ` +
    `connected=${p.wsconnected} synced=${p.synced}${closes} ` +
    `awareness=[${[...p.awareness.getStates().keys()].join(',')}]`
}

/**
 * Create a Y.Doc and a stock WebsocketProvider for `room` (not yet awaited).
 * @param {string} wsUrl   e.g. ws://127.0.0.1:1234/ws ; the provider appends /<room>
 * @param {string} room
 * @param {{label?: string, connect?: boolean, doc?: Y.Doc}} opts
 */
export function makeClient (wsUrl, room, opts = {}) {
  const doc = opts.doc ?? new Y.Doc()
  const provider = new WebsocketProvider(wsUrl, room, doc, {
    WebSocketPolyfill: WebSocket,
    disableBc: true,
    connect: opts.connect ?? true
  })
  const client = {
    label: opts.label ?? `client${clients.size}`,
    doc,
    provider,
    awareness: provider.awareness,
    closes: [],
    errors: [],
    destroyed: false,
    /** Clean leave: the provider sends awareness `null` for itself, then closes the socket. */
    destroy () {
      if (client.destroyed) return
      client.destroyed = true
      provider.destroy()
      doc.destroy() // also destroys the awareness and its timers
      clients.delete(client)
    }
  }
  provider.on('connection-close', (ev) => {
    client.closes.push(ev ? { code: ev.code, reason: ev.reason } : null)
  })
  provider.on('connection-error', (ev) => {
    client.errors.push(ev?.message ?? String(ev))
  })
  clients.add(client)
  return client
}

/** Wait until `client`'s provider has received the server's sync step 2. */
export async function synced (client, timeoutMs = WAIT_MS) {
  await waitFor(() => client.provider.synced, `${client.label} to sync with room ${client.provider.roomname}`, timeoutMs)
  return client
}

/** makeClient + wait for the 'sync' event with `true`. */
export async function connect (wsUrl, room, opts = {}) {
  return synced(makeClient(wsUrl, room, opts))
}

/** Destroy every client still alive (for after/afterEach hooks). */
export function destroyAllClients () {
  for (const c of [...clients]) c.destroy()
}

/** Hex of a Uint8Array, for readable assertion messages. */
export function hex (bytes) {
  return Buffer.from(bytes).toString('hex')
}

/** True when both docs have byte-identical state vectors. */
export function sameStateVector (a, b) {
  return Buffer.from(Y.encodeStateVector(a)).equals(Buffer.from(Y.encodeStateVector(b)))
}
