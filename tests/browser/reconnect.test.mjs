// Connection state in the browser: the server goes away, the page says so (and that edits are
// not saved yet), keeps the edits, reconnects by itself with backoff when the server is back on
// the same address, and the edits reach the server.
//
// Run from the repo root:  ARDOISE_BIN=target/debug/ardoise node --test tests/browser/*.test.mjs

import { test, after } from 'node:test'
import assert from 'node:assert/strict'

import {
  startServer, launchBrowser, newPerson, openPad, typeAtEnd, waitText, screenshot, makeClient,
  synced, waitFor, padName, serverLogs
} from './helpers.mjs'

const T = { timeout: 120_000 }
let browser
const servers = []

after(async () => {
  if (browser) await browser.close()
  for (const s of servers) await s.stop().catch(() => {})
})

test('offline edits are kept, shown as unsaved, and saved after an automatic reconnect', T, async () => {
  const first = await startServer()
  servers.push(first)
  browser = await launchBrowser()
  const name = padName('coupure')
  // while the server is down the browser logs its failed connection attempts: expected here
  const p = await newPerson(browser, {
    name: 'Hélène',
    color: '#bfae00',
    allow: [/WebSocket connection to .* failed/, /ERR_CONNECTION_REFUSED/, /Failed to load resource/]
  })
  await openPad(p, `${first.url}/p/${name}`)
  const page = p.page
  await typeAtEnd(page, 'avant la coupure.')

  await first.stop()
  servers.length = 0
  await page.waitForFunction(() => document.querySelector('.status').dataset.state !== 'connected', null, { timeout: 15_000 })
  await typeAtEnd(page, ' Pendant la coupure.')
  await page.waitForFunction(() => document.querySelector('.status').dataset.state === 'unsaved', null, { timeout: 15_000 })
  const status = await page.textContent('.status')
  assert.match(status, /non enregistr|unsaved/i, `status while offline: ${status}`)
  await screenshot(page, 'pad-offline')

  const second = await startServer({ dataDir: first.dataDir, listen: `${first.host}:${first.port}` })
  servers.push(second)
  await page.waitForFunction(() => document.querySelector('.status').dataset.state === 'connected', null, { timeout: 60_000 })
    .catch((e) => { throw new Error(`the page did not reconnect: ${e.message}\n${serverLogs()}`) })

  const client = makeClient(second.wsUrl, name, { label: 'stock client' })
  try {
    await synced(client)
    const ytext = client.doc.getText('content')
    await waitFor(() => ytext.toString().includes('avant la coupure. Pendant la coupure.'), 'the offline edit on the server')
  } finally {
    client.destroy()
  }
  await waitText(page, 'Pendant la coupure.')
  const problems = await p.problems()
  assert.deepEqual(problems, [], problems.join('\n'))
  await p.context.close()
})

test('a 1013 close (server busy) is honoured: a long pause, shown, and "retry now" works', T, async () => {
  const server = await startServer()
  servers.push(server)
  browser ??= await launchBrowser()
  const p = await newPerson(browser, { name: 'Ines', color: '#42d4f4' })
  let busy = true
  let attempts = 0
  // Playwright stands between the page and the server's WebSocket: the first connections are
  // refused with 1013 "try again later", the later ones go through to the real server.
  await p.page.routeWebSocket(/\/ws\//, (ws) => {
    attempts++
    if (busy) ws.close({ code: 1013, reason: 'busy' })
    else ws.connectToServer()
  })
  await p.page.goto(`${server.url}/p/${padName('occupe')}`)
  await p.page.waitForFunction(() => /occupé|busy/i.test(document.querySelector('.status').textContent), null, { timeout: 15_000 })
  const text = await p.page.textContent('.status')
  const secs = Number(/(\d+)\s*s/.exec(text)?.[1])
  assert.ok(secs >= 14, `after 1013 the next try is at least ~15 s away, not the stock 2.5 s: ${text}`)
  assert.equal(attempts, 1, 'no other attempt meanwhile')
  busy = false
  await p.page.click('.status button')
  await p.page.waitForFunction(() => document.querySelector('.status').dataset.state === 'connected', null, { timeout: 15_000 })
  const problems = await p.problems()
  assert.deepEqual(problems, [], problems.join('\n'))
  await p.context.close()
})
