// The app under a sub-path (`--base-path /pad`, as behind nginx `location /pad/`): the home form,
// the editor's WebSocket, the share links and QR codes, the exports and the read-only view all
// stay under /pad, with no console error or CSP violation.
//
// Run from the repo root:  ARDOISE_BIN=target/debug/ardoise node --test tests/browser/*.test.mjs

import { test } from 'node:test'
import assert from 'node:assert/strict'

import {
  browserSuite, openPad, waitConnected, waitText, typeAtEnd, padName, WAIT_MS, assertClean
} from './helpers.mjs'

const T = { timeout: 120_000 }

const suite = browserSuite({ args: ['--base-path', '/pad'] })
const person = suite.person

test('under /pad: create from the home page, co-edit, share, export, read only', T, async () => {
  const alice = await person({ name: 'Alice', color: '#e6194b', lang: 'en' })
  const bob = await person({ name: 'Bob', color: '#3cb44b', lang: 'en' })
  const pad = padName('sub')

  // The home form creates the pad and lands on its page under /pad.
  const home = await alice.page.goto(`${suite.server.url}/pad/`)
  assert.equal(home.status(), 200)
  await alice.page.fill('#new-name', pad)
  await Promise.all([alice.page.waitForURL(`**/pad/p/${pad}**`), alice.page.click('form[action^="/pad/new?"] button')])
  await waitConnected(alice.page)
  const wsUrls = []
  bob.page.on('websocket', (ws) => wsUrls.push(new URL(ws.url()).pathname))
  await openPad(bob, `${suite.server.url}/pad/p/${pad}`)
  assert.deepEqual(wsUrls, [`/pad/ws/${pad}`])

  await typeAtEnd(alice.page, 'sous-chemin')
  await waitText(bob.page, 'sous-chemin')

  // Share links and QR codes.
  const a = alice.page
  await a.click('.share-btn')
  const dlg = await a.waitForSelector('dialog[open]', { timeout: WAIT_MS })
  const links = await dlg.$$eval('.link-input', (els) => els.map((e) => e.value))
  assert.equal(links[0], `${suite.server.url}/pad/p/${pad}`)
  assert.match(links[1], new RegExp(`^${suite.server.url}/pad/r/`))
  await dlg.$$eval('.link-row button[aria-expanded]', (bs) => bs.forEach((b) => b.click()))
  await a.waitForFunction(() => [...document.querySelectorAll('dialog img.qr')].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: WAIT_MS })
  const srcs = await dlg.$$eval('img.qr', (imgs) => imgs.map((i) => new URL(i.src).pathname))
  assert.equal(srcs[0], `/pad/p/${pad}/qr.svg`)
  assert.match(srcs[1], /^\/pad\/r\/[^/]+\/qr\.svg$/)
  await a.keyboard.press('Escape')

  // Export links point under /pad and download the text.
  const hrefs = await a.$$eval('a.menu-item[download]', (els) => els.map((e) => e.getAttribute('href')))
  assert.ok(hrefs.length >= 5, `export links: ${hrefs}`)
  for (const href of hrefs) assert.ok(href.startsWith(`/pad/p/${pad}/export/`), href)
  const txt = await fetch(`${suite.server.url}/pad/p/${pad}/export/txt`)
  assert.equal(txt.status, 200)
  assert.ok((await txt.text()).includes('sous-chemin'))

  // The read-only view syncs live under /pad too.
  const viewer = await person({ lang: 'en' })
  await openPad(viewer, links[1])
  await waitText(viewer.page, 'sous-chemin')
  await typeAtEnd(bob.page, ' encore')
  await waitText(viewer.page, 'sous-chemin encore')

  await assertClean(alice, bob, viewer)
})
