// Failover time of several ardoise nodes behind a load balancer (BENCHMARKS.md, issue 22), with
// the stock y-websocket client: `--pads` pads each get a writer and a reader through `--url`;
// the writer types until the reader has seen every line; then the node holding the most pads
// (from PostgreSQL's `leases` table) is killed with SIGKILL, every writer types one more line at
// once (kept by its client while it is cut off), and the time from the kill until each reader
// sees that line is the failover time of its pad. At the end a fresh client of each pad checks
// that every line is there. Prints one JSON object.
//
//   node loadtest/failover.mjs --url ws://127.0.0.1:8000/ws --db postgres://... \
//        --nodes a=PID,b=PID,c=PID [--pads 30] [--lines 5] [--limit-secs 60]
//
// The stock clients come from tests/node_modules (tests/setup.sh installs them); `psql` from
// Debian's postgresql-client.

import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { parseArgs } from 'node:util'

import { Y, WebsocketProvider, WebSocket } from '../tests/clients.mjs'

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string' },
    db: { type: 'string' },
    nodes: { type: 'string' },
    pads: { type: 'string', default: '30' },
    lines: { type: 'string', default: '5' },
    'limit-secs': { type: 'string', default: '60' }
  }
})
if (!opt.url || !opt.db || !opt.nodes) {
  console.error('failover.mjs: --url, --db and --nodes are required (see the comment at the top)')
  process.exit(2)
}
const PADS = Number(opt.pads)
const LINES = Number(opt.lines)
const LIMIT_MS = Number(opt['limit-secs']) * 1000
const NODES = new Map(opt.nodes.split(',').map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)]))

/** Debian's newest versioned psql, else the one on PATH. */
function psql () {
  const base = '/usr/lib/postgresql'
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : []
  for (const v of versions) if (existsSync(`${base}/${v}/bin/psql`)) return `${base}/${v}/bin/psql`
  return 'psql'
}

/** Live leases: pad name → owner node id. */
function owners () {
  const out = execFileSync(psql(), [opt.db, '-At', '-F', '\t', '-c',
    'SELECT name, owner FROM leases WHERE expires > now()'], { encoding: 'utf8' })
  return new Map(out.trim().split('\n').filter(Boolean).map((l) => l.split('\t')))
}

/** Resolves once `predicate()` holds, checked on every change of `doc`; rejects after `ms`. */
function until (doc, predicate, what, ms = LIMIT_MS) {
  return new Promise((resolve, reject) => {
    if (predicate()) return resolve()
    const timer = setTimeout(() => { doc.off('update', check); reject(new Error(`timed out: ${what}`)) }, ms)
    function check () {
      if (predicate()) { clearTimeout(timer); doc.off('update', check); resolve() }
    }
    doc.on('update', check)
  })
}

function client (room) {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(opt.url, room, doc, { WebSocketPolyfill: WebSocket, disableBc: true })
  const synced = new Promise((resolve) => provider.once('sync', resolve))
  return { doc, provider, text: doc.getText('content'), synced }
}

const stamp = Date.now().toString(36)
const pads = []
for (let i = 0; i < PADS; i++) {
  const room = `failover-${stamp}-${i}`
  const writer = client(room)
  const reader = client(room)
  await Promise.all([writer.synced, reader.synced])
  pads.push({ room, writer, reader })
}
// Lines typed before the kill, each seen by the reader: acknowledged by the server.
for (let n = 0; n < LINES; n++) {
  await Promise.all(pads.map(async ({ writer, reader }, i) => {
    const line = `pad ${i} line ${n}\n`
    writer.text.insert(writer.text.length, line)
    await until(reader.doc, () => reader.text.toString().includes(line), `line ${n} of pad ${i}`)
  }))
}

const leased = owners()
const perNode = new Map()
for (const { room } of pads) {
  const owner = leased.get(room)
  perNode.set(owner, (perNode.get(owner) || 0) + 1)
}
const [victim] = [...perNode.entries()].filter(([id]) => NODES.has(id)).sort((a, b) => b[1] - a[1])[0]
const victimPads = pads.filter(({ room }) => leased.get(room) === victim)

const killedAt = performance.now()
process.kill(NODES.get(victim), 'SIGKILL')
const times = await Promise.all(pads.map(async ({ writer, reader }, i) => {
  const line = `pad ${i} after the kill\n`
  writer.text.insert(writer.text.length, line)
  try {
    await until(reader.doc, () => reader.text.toString().includes(line), `pad ${i} after the kill`)
    return performance.now() - killedAt
  } catch {
    return null
  }
}))

// A fresh client of every pad: every line there?
let lost = 0
for (const [i, { room }] of pads.entries()) {
  const fresh = client(room)
  await fresh.synced
  const text = fresh.text.toString()
  for (let n = 0; n < LINES; n++) if (!text.includes(`pad ${i} line ${n}\n`)) lost++
  if (!text.includes(`pad ${i} after the kill\n`)) lost++
  fresh.provider.destroy()
}
for (const { writer, reader } of pads) {
  writer.provider.destroy()
  reader.provider.destroy()
}

const onVictim = victimPads.map(({ room }) => times[pads.findIndex((p) => p.room === room)])
const served = onVictim.filter((t) => t !== null).sort((a, b) => a - b)
const others = times.filter((_, i) => leased.get(pads[i].room) !== victim && times[i] !== null)
const pick = (xs, q) => xs.length ? Math.round(xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]) : null
console.log(JSON.stringify({
  pads: PADS,
  lines_before_kill: LINES,
  killed: victim,
  pads_on_killed_node: victimPads.length,
  failover_ms: { min: pick(served, 0), median: pick(served, 0.5), max: served.length ? Math.round(served[served.length - 1]) : null },
  not_served_within_limit: onVictim.length - served.length,
  other_pads_max_ms: others.length ? Math.round(Math.max(...others)) : null,
  lines_lost: lost
}))
process.exit(0)
