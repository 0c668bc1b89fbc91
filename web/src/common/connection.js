// The WebSocket provider with a reconnect policy that does not hammer the server: exponential
// backoff with jitter, a long pause on 1013 (server busy / reader too slow), the Retry-After of a
// 503 when the upgrade was refused, an immediate retry when the browser comes back online.
// Reports one of: connecting, connected, waiting (retry scheduled), offline, or gone: the server
// erased the document (close 4410: expired, or deleted by its creator) and reconnecting would only
// recreate it from this tab's copy, so it stops for good.

import { WebsocketProvider } from 'y-websocket'
import * as decoding from 'lib0/decoding'

const BASE_MS = 1000
const MAX_MS = 60_000
const BUSY_MIN_MS = 15_000
const BUSY_MAX_MS = 60_000
const RETRY_AFTER_MAX_S = 600
/** Close code of a document that no longer exists (modelled on HTTP 410). */
export const GONE = 4410
// The operator's notice to every open pad (an ardoise message type, see src/sync/protocol.rs): a
// varString, empty when the notice is withdrawn. Stock clients ignore this type.
const MSG_NOTICE = 100

/**
 * @param {import('yjs').Doc} ydoc
 * @param {string} room
 * @param {{ onState: (s: {state: string, retryAt: number, busy: boolean, unsaved: boolean, everSynced: boolean}) => void, onNotice?: (text: string) => void, readOnly: boolean, base: string, kind?: string }} opts
 *   `base` is the server's base path (`--base-path`, e.g. '/pad'; '' at the root); `kind` ('pad' or
 *   'calc') is what a join creates if the document is gone (an untyped one erased meanwhile)
 */
export function connect (ydoc, room, opts) {
  const wsBase = (location.protocol === 'https:' ? 'wss' : 'ws') + '://' + location.host + (opts.base || '') + '/ws'
  let attempts = 0
  let timer = 0
  let opened = false
  let everSynced = false
  let unsaved = false
  let gone = false
  const s = { state: 'connecting', retryAt: 0, busy: false, reason: '' }

  const provider = new WebsocketProvider(wsBase, room, ydoc, {
    disableBc: true,
    params: opts.kind === 'calc' ? { kind: 'calc' } : {},
    // every close from the server comes back to us (see 'closed' below): we pace reconnects
    shouldReconnect: () => false
  })

  provider.messageHandlers[MSG_NOTICE] = (_encoder, decoder) => {
    if (opts.onNotice) opts.onNotice(decoding.readVarString(decoder))
  }

  const report = () => {
    opts.onState({ ...s, unsaved: unsaved && !opts.readOnly, everSynced })
  }

  const schedule = (ms, busy) => {
    clearTimeout(timer)
    if (gone) return
    s.state = navigator.onLine === false ? 'offline' : 'waiting'
    s.retryAt = Date.now() + ms
    s.busy = busy
    report()
    timer = setTimeout(() => retryNow(), ms)
  }

  const retryNow = () => {
    clearTimeout(timer)
    if (gone) return
    s.state = 'connecting'
    s.busy = false
    report()
    provider.connect()
  }

  const backoff = () => {
    const cap = Math.min(MAX_MS, BASE_MS * 2 ** Math.min(attempts, 10))
    attempts++
    return Math.round(cap / 2 + Math.random() * cap / 2)
  }

  /** After a connection that never opened: was it a 503 with Retry-After? */
  const probeRetryAfter = async () => {
    try {
      const res = await fetch(location.pathname, { method: 'HEAD', cache: 'no-store', credentials: 'same-origin' })
      if (res.status === 503) {
        const ra = Number(res.headers.get('Retry-After'))
        if (Number.isFinite(ra) && ra > 0) return Math.min(ra, RETRY_AFTER_MAX_S) * 1000
        return BUSY_MIN_MS
      }
    } catch {}
    return 0
  }

  provider.on('status', ({ status }) => {
    if (status === 'connected') opened = true
    if (status === 'connecting') {
      opened = false
      s.state = 'connecting'
      report()
    }
  })
  provider.on('sync', (synced) => {
    if (synced) {
      attempts = 0
      everSynced = true
      unsaved = false
      s.state = 'connected'
      report()
    }
  })
  provider.on('closed', async ({ code, reason }) => {
    const wasOpen = opened
    opened = false
    if (code === GONE) {
      gone = true
      unsaved = false
      clearTimeout(timer)
      s.state = 'gone'
      s.reason = reason || ''
      report()
    } else if (code === 1013) {
      // the server asked us to come back later: a long randomized pause
      attempts++
      schedule(BUSY_MIN_MS + Math.random() * (BUSY_MAX_MS - BUSY_MIN_MS), true)
    } else if (code === 1001) {
      // server going away (restart): come back soon, spread over a few seconds
      schedule(1000 + Math.random() * 4000, false)
    } else if (!wasOpen) {
      const ra = await probeRetryAfter()
      if (ra) {
        attempts++
        schedule(ra * (1 + Math.random() * 0.2), true)
      } else schedule(backoff(), false)
    } else {
      schedule(backoff(), false)
    }
  })
  // Edits made while not synced have not reached the server yet.
  ydoc.on('update', (_update, origin) => {
    if (origin !== provider && !provider.synced && !unsaved && !gone) {
      unsaved = true
      report()
    }
  })
  window.addEventListener('online', () => {
    if (!provider.wsconnected && !provider.wsconnecting) retryNow()
  })
  window.addEventListener('offline', () => {
    if (s.state === 'waiting') {
      s.state = 'offline'
      report()
    }
  })
  window.addEventListener('beforeunload', (e) => {
    if (unsaved && !opts.readOnly) {
      e.preventDefault()
      e.returnValue = ''
    }
  })
  report()
  return { provider, retryNow, isUnsaved: () => unsaved, everSynced: () => everSynced }
}
