// Retention in the browser (issue 8): the pad says when it will be erased; the browser that
// created a pad can delete it after confirming, and no other browser is offered to; a page whose
// pad is erased (deleted, or expired) says so and stops reconnecting.
//
// Run from the repo root:  ARDOISE_BIN=target/debug/ardoise node --test tests/browser/*.test.mjs

import { test, after } from 'node:test'
import assert from 'node:assert/strict'

import {
  startServer, launchBrowser, newPerson, openPad, waitConnected, typeAtEnd, screenshot, padName,
  WAIT_MS, assertClean
} from './helpers.mjs'

const T = { timeout: 120_000 }
let browser
const servers = []
const people = []

after(async () => {
  for (const p of people) await p.context.close().catch(() => {})
  if (browser) await browser.close()
  for (const s of servers) await s.stop().catch(() => {})
})

async function person (who) {
  if (!browser) browser = await launchBrowser()
  const p = await newPerson(browser, { lang: 'en', ...who })
  people.push(p)
  return p
}

/** Waits until the page shows the erased-pad banner; returns its text. */
async function goneText (page) {
  await page.waitForSelector('.gone', { timeout: WAIT_MS })
  await page.waitForFunction(() => document.querySelector('.status')?.dataset.state === 'gone', null, { timeout: WAIT_MS })
  return page.textContent('.gone')
}

test('the creator deletes the pad after confirming; the other browser is told and stops', T, async () => {
  const server = await startServer()
  servers.push(server)
  const name = padName('brouillon')
  const alice = await person({ name: 'Alice', color: '#e6194b' })
  const bob = await person({ name: 'Bob', color: '#3cb44b' })

  await alice.page.goto(`${server.url}/?lang=en`)
  await alice.page.fill('#new-name', name)
  await alice.page.click('form[action^="/new?"] button[type="submit"]')
  await waitConnected(alice.page)
  assert.equal(new URL(alice.page.url()).hash, '', 'the secret left the address bar')
  await typeAtEnd(alice.page, 'A draft nobody needs.')
  const note = await alice.page.textContent('#expiry')
  assert.match(note, /If nobody edits it, this pad will be erased on .* \(60 days after the last edit\)/)

  await openPad(bob, `${server.url}/p/${name}`)
  assert.equal(await bob.page.$('.delete-btn'), null, 'only the creating browser is offered Delete')

  // Cancel keeps everything.
  await alice.page.click('.delete-btn')
  await alice.page.waitForSelector('dialog[open] .btn-danger')
  await screenshot(alice.page, 'pad-delete-confirm')
  await alice.page.click('dialog[open] >> text=Cancel')
  await alice.page.waitForSelector('dialog[open]', { state: 'detached', timeout: WAIT_MS }).catch(() => {})
  assert.equal(await alice.page.$('dialog[open]'), null)
  assert.equal(await bob.page.$('.gone'), null)

  await alice.page.click('.delete-btn')
  await alice.page.click('dialog[open] .btn-danger')
  assert.match(await goneText(alice.page), /deleted by the person who created it/)
  assert.match(await goneText(bob.page), /deleted by the person who created it/)
  await screenshot(bob.page, 'pad-deleted')
  assert.equal(await bob.page.getAttribute('.cm-content', 'contenteditable'), 'false', 'no more editing')
  assert.equal(await alice.page.evaluate((n) => localStorage.getItem('ardoise.creator.' + n), name), null)

  // Nothing reconnected to write the pad back.
  const res = await fetch(`${server.url}/p/${name}/export/txt`)
  assert.equal(res.status, 404)
  await assertClean(alice, bob)
})

test('an open page of an expired pad says so', T, async () => {
  const server = await startServer({ args: ['--retention-choices', '3s', '--retention-default', '3s', '--retention-sweep-secs', '1'] })
  servers.push(server)
  const carol = await person({ name: 'Carol', color: '#4363d8', lang: 'fr' })
  await openPad(carol, `${server.url}/p/${padName('ephemere')}`)
  await typeAtEnd(carol.page, 'Bientôt effacé.')
  assert.match(await goneText(carol.page), /durée de conservation est écoulée/)
  await assertClean(carol)
})
