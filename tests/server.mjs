// The real ardoise binary for the Node test suites (tests/node, tests/browser): start it on
// 127.0.0.1:0 with a fresh data dir, read the address from its first stdout line, keep the tail
// of its log for failure messages, and stop it with SIGTERM. Node built-ins only; ./clients.mjs
// re-exports it with the stock Yjs clients.
//
// This file must not match node --test's file patterns (*.test.mjs, ...).

import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

/** Last lines kept from each server's stderr, shown when something fails. */
const LOG_LINES = 200
/** Guard for the server to print its first line; a failure guard, not a timing assertion. */
const START_TIMEOUT_MS = 30_000
/** Guard for the server to exit after SIGTERM. */
const STOP_TIMEOUT_MS = 15_000

const allServers = []
const liveServers = new Set()
const dataDirs = new Set()

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
      '  ARDOISE_BIN=target/debug/ardoise node --test tests/node/*.test.mjs\n' +
      '(cargo test runs the suites with it set, see tests/it/node_suite.rs)'
    )
  }
  return bin
}

/** A fresh, empty data directory (removed when the test process exits unless ARDOISE_KEEP_DATA is set). */
export function freshDataDir () {
  const dir = mkdtempSync(join(tmpdir(), 'ardoise-test-'))
  dataDirs.add(dir)
  return dir
}

/** Tail of the stderr of every server started by this process, for failure messages. */
export function serverLogs () {
  return allServers.map((s) =>
    `--- ardoise ${s.url ?? '(starting)'} data=${s.dataDir} ` +
    `${s.exited ? `exited ${s.exitDescription}` : 'running'} ---\n` +
    (s.log.length ? s.log.join('\n') : '(no output)')).join('\n')
}

/**
 * Start the server (default `--listen 127.0.0.1:0`, a fresh data dir or `opts.dataDir` to restart
 * on the same data). Resolves once the first stdout line `listening on http://IP:PORT` has been
 * read. ARDOISE_TEST_LOG=1 streams the server's stderr live.
 *
 * @param {{dataDir?: string, listen?: string, args?: string[]}} opts
 * @returns {Promise<{url: string, wsUrl: string, host: string, port: number, dataDir: string, logs: () => string, stop: () => Promise<void>}>}
 */
export function startServer (opts = {}) {
  const bin = serverBin()
  const dataDir = opts.dataDir ?? freshDataDir()
  // Shedding forced open: the suite loads the machine, and these tests are not about refusals.
  const extra = opts.args ?? []
  const shed = extra.includes('--shedding-mode') ? [] : ['--shedding-mode', 'open']
  const args = ['--listen', opts.listen ?? '127.0.0.1:0', '--data', dataDir, ...shed, ...extra]
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const state = { child, dataDir, url: null, log: [], exited: false, exitDescription: '', exitPromise: null }
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
        async stop () {
          if (!state.exited) child.kill('SIGTERM')
          let t
          const guard = new Promise((resolve) => { t = setTimeout(resolve, STOP_TIMEOUT_MS, null) })
          const res = await Promise.race([state.exitPromise, guard])
          clearTimeout(t)
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
