// Helpers for the Node test suite: start the real ardoise binary, connect stock
// y-websocket clients to it, and wait on Yjs events (never on fixed sleeps).
//
// This file must not match node --test's file patterns (*.test.mjs, test-*.mjs,
// test.mjs, ...) so that `node --test tests/node/` only runs the suites.

import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'

export { Y, WebsocketProvider, WebSocket }

// Every provider registers a process 'exit' listener; a test may hold a dozen.
process.setMaxListeners(100)

/** Last lines kept from each server's stderr, shown when something fails. */
const LOG_LINES = 200
/** Guard for the server to print its first line; a failure guard, not a timing assertion. */
const START_TIMEOUT_MS = 30_000
/** Guard for the server to exit after SIGTERM. */
const STOP_TIMEOUT_MS = 15_000

const allServers = []
const liveServers = new Set()
const dataDirs = new Set()
const clients = new Set()

process.on('exit', () => {
  for (const s of liveServers) {
    try { s.child.kill('SIGKILL') } catch {}
  }
  if (!process.env.ARDOISE_KEEP_DATA) {
    for (const dir of dataDirs) {
      try { rmSync(dir, { recursive: true, force: true }) } catch {}
    }
  }
})

function serverBin () {
  const bin = process.env.ARDOISE_BIN
  if (!bin) {
    throw new Error(
      'ARDOISE_BIN is not set: point it at the server binary, e.g.\n' +
      '  ARDOISE_BIN=target/debug/ardoise node --test tests/node/\n' +
      '(cargo test runs this suite with it set, see tests/it/node_clients.rs)'
    )
  }
  return bin
}

/** A fresh, empty data directory (removed when the test process exits unless ARDOISE_KEEP_DATA is set). */
export function freshDataDir () {
  const dir = mkdtempSync(join(tmpdir(), 'ardoise-node-'))
  dataDirs.add(dir)
  return dir
}

/** Tail of the stderr of every server started by this process, for failure messages. */
export function serverLogs () {
  const parts = []
  for (const s of allServers) {
    parts.push(`--- ardoise ${s.url ?? '(starting)'} data=${s.dataDir} ` +
      `${s.exited ? `exited ${s.exitDescription}` : 'running'} ---\n` +
      (s.log.length ? s.log.join('\n') : '(no output)'))
  }
  return parts.join('\n')
}

/**
 * Start the server on 127.0.0.1:0 with a fresh data dir (or `opts.dataDir`, to restart
 * on the same data). Resolves once the first stdout line `listening on http://IP:PORT`
 * has been read.
 *
 * ARDOISE_TEST_LOG=1 streams the server's stderr live; otherwise it is kept and shown
 * in failure messages (waitFor timeouts, sync timeouts, bad exits).
 *
 * @param {string[]} extraArgs
 * @param {{dataDir?: string}} opts
 * @returns {Promise<{url: string, wsUrl: string, host: string, port: number, dataDir: string, logs: () => string, stop: () => Promise<void>}>}
 */
export function startServer (extraArgs = [], opts = {}) {
  const bin = serverBin()
  const dataDir = opts.dataDir ?? freshDataDir()
  // Shedding forced open: the suite loads the machine, and these tests are not about refusals.
  const shed = extraArgs.includes('--shedding-mode') ? [] : ['--shedding-mode', 'open']
  const args = ['--listen', '127.0.0.1:0', '--data', dataDir, ...shed, ...extraArgs]
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const state = {
    child,
    dataDir,
    url: null,
    log: [],
    exited: false,
    exitDescription: '',
    exitPromise: null
  }
  allServers.push(state)
  liveServers.add(state)
  const record = (line) => {
    state.log.push(line)
    if (state.log.length > LOG_LINES) state.log.shift()
    if (process.env.ARDOISE_TEST_LOG) process.stderr.write(`[ardoise] ${line}\n`)
  }
  createInterface({ input: child.stderr }).on('line', record)

  state.exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      state.exited = true
      state.exitDescription = signal ? `by signal ${signal}` : `with code ${code}`
      liveServers.delete(state)
      resolve({ code, signal })
    })
  })

  const describe = () => `${bin} ${args.join(' ')}`

  return new Promise((resolve, reject) => {
    let first = true
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`server did not print its first line within ${START_TIMEOUT_MS} ms: ${describe()}\n${serverLogs()}`))
    }, START_TIMEOUT_MS)
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(new Error(`cannot start ${describe()}: ${err.message}`))
    })
    state.exitPromise.then(() => {
      if (first) {
        clearTimeout(timer)
        first = false
        reject(new Error(`server exited ${state.exitDescription} before printing 'listening on ...': ${describe()}\n${serverLogs()}`))
      }
    })
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!first) {
        record(`(stdout) ${line}`)
        return
      }
      first = false
      clearTimeout(timer)
      const m = /^listening on http:\/\/(\d{1,3}(?:\.\d{1,3}){3}):(\d+)$/.exec(line)
      if (!m || Number(m[2]) === 0) {
        child.kill('SIGKILL')
        reject(new Error(`server's first stdout line should be exactly 'listening on http://IP:PORT' with the real port, got ${JSON.stringify(line)}\n${serverLogs()}`))
        return
      }
      const host = m[1]
      const port = Number(m[2])
      state.url = `http://${host}:${port}`
      resolve({
        url: state.url,
        wsUrl: `ws://${host}:${port}/ws`,
        host,
        port,
        dataDir,
        logs: () => state.log.join('\n'),
        /** SIGTERM, then wait for exit; the server must exit 0 after persisting. */
        stop: async () => {
          if (!state.exited) child.kill('SIGTERM')
          let timer
          const guard = new Promise((resolve) => { timer = setTimeout(resolve, STOP_TIMEOUT_MS, null) })
          const res = await Promise.race([state.exitPromise, guard])
          clearTimeout(timer)
          if (res === null) {
            child.kill('SIGKILL')
            await state.exitPromise
            throw new Error(`server did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM (killed)\n${serverLogs()}`)
          }
          if (res.code !== 0) {
            throw new Error(`server should exit 0 on SIGTERM, exited ${state.exitDescription}\n${serverLogs()}`)
          }
        }
      })
    })
  })
}

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
export function waitFor (predicate, what, timeoutMs = 10_000, opts = {}) {
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
export async function synced (client, timeoutMs = 10_000) {
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
