// The calc page's File menu and creator deletion in real Chromium against the real server, under
// a --base-path: downloads of the sheet on screen and of the workbook, from the edit and the
// read-only pages; "Replace from a file…" with its confirmation, the server's refusal shown in
// the dialog, and the new content arriving live on another person's page; the browser that
// created a calc from the home page deletes it, and another browser sees it gone.
//
// Run from the repo root:  ARDOISE_BIN=target/debug/ardoise node --test tests/browser/calc_menu.test.mjs

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'

import {
  browserSuite, padName, screenshot, openCalc, openCalcs, waitCalcReady, typeCell, waitCellText, WAIT_MS, assertClean
} from './helpers.mjs'

const T = { timeout: 120_000 }
const BASE = '/tableurs'

const suite = browserSuite({ args: ['--base-path', BASE, '--max-import-bytes', '200'] }, { lang: 'en' })
const person = suite.person

/** Click a menu entry and return the downloaded file's text. */
async function download (page, selector) {
  const [file] = await Promise.all([page.waitForEvent('download', { timeout: WAIT_MS }), page.click(selector)])
  const path = await file.path()
  return readFileSync(path, 'utf8')
}

/** Open the File menu (if closed). */
async function openMenu (page) {
  if (!(await page.$('.calc-file-menu[open]'))) await page.click('.calc-file-menu > summary')
  await page.waitForSelector('.calc-file-menu[open] .menu-body', { timeout: WAIT_MS })
}

test('File menu: the sheet on screen as CSV, the workbook, replacing from a file for everyone', T, async () => {
  const name = padName('menu')
  const url = `${suite.server.url}${BASE}/c/${name}?lang=en`
  // Chromium logs the refused upload's 413 as a console error: expected here, once.
  const alice = await person({ name: 'Alice', color: '#e6194b', allow: [/status of 413 \(Payload Too Large\).*\/import\?/] })
  const bob = await person({ name: 'Bob', color: '#3cb44b' })
  const [a, b] = await openCalcs(url, alice, bob)

  await typeCell(a, 0, 0, 'first sheet')
  await typeCell(a, 1, 0, '2')
  await typeCell(a, 2, 0, '=A2*21')
  await waitCellText(a, 2, 0, '42')
  // A second sheet, on screen: the CSV entry names it and downloads it, not the first.
  await a.click('.sheet-add')
  await a.waitForFunction(() => document.querySelectorAll('.sheet-tab:not(.sheet-add)').length === 2, null, { timeout: WAIT_MS })
  await typeCell(a, 0, 0, 'second sheet')
  await waitCellText(a, 0, 0, 'second sheet')

  await openMenu(a)
  assert.equal(await a.textContent('.export-csv'), 'CSV of the sheet “Sheet2” (.csv)')
  const hrefs = await a.$$eval('.calc-file-menu a.menu-item', (els) => els.map((el) => el.getAttribute('href')))
  assert.deepEqual(hrefs, ['csv?sheet=2', 'ods', 'xlsx', 'html'].map((f) => `${BASE}/c/${name}/export/${f}`))
  await screenshot(a, 'calc-menu')
  const csv = await download(a, '.export-csv')
  assert.equal(csv, 'second sheet\r\n')
  assert.equal(await a.$('.calc-file-menu[open]'), null, 'choosing an entry closes the menu')
  await openMenu(a)
  const html = await download(a, '.export-html')
  assert.match(html, /first sheet/)
  assert.match(html, /second sheet/)

  // Replace: the dialog says it is for everyone; a refused file leaves the dialog open with the
  // server's reason, and nothing changes.
  await a.click('.sheet-tab >> nth=0')
  await openMenu(a)
  await a.click('.replace-item')
  await a.waitForSelector('dialog.replace-dialog[open]', { timeout: WAIT_MS })
  assert.match(await a.textContent('dialog.replace-dialog'), /replaced by the file’s, for everyone who has it open/)
  await a.setInputFiles('#replace-file', { name: 'big.csv', mimeType: 'text/csv', buffer: Buffer.from('too,big\n'.repeat(40)) })
  await a.click('dialog.replace-dialog .btn-danger')
  await a.waitForFunction(() => /not imported: .*import limit/.test(document.querySelector('.replace-note').textContent), null, { timeout: WAIT_MS })
  await screenshot(a, 'calc-replace-refused')
  assert.ok(await a.$('dialog.replace-dialog[open]'), 'the dialog stays open to show why')
  await waitCellText(b, 0, 0, 'first sheet')

  await a.setInputFiles('#replace-file', { name: 'new.csv', mimeType: 'text/csv', buffer: Buffer.from('Item,Qty\nPens,3\nInk,4\n') })
  await a.click('dialog.replace-dialog .btn-danger')
  await a.waitForSelector('dialog.replace-dialog[open]', { state: 'detached', timeout: WAIT_MS }).catch(() => {})
  await a.waitForFunction(() => !document.querySelector('dialog.replace-dialog[open]'), null, { timeout: WAIT_MS })
  // Bob did nothing: the room brought him the new content, computed.
  await waitCellText(b, 0, 0, 'Item')
  await waitCellText(b, 2, 1, '4')
  await waitCellText(a, 1, 0, 'Pens')
  assert.equal(await b.evaluate(() => document.querySelectorAll('.sheet-tab:not(.sheet-add)').length), 1)

  // The read-only page: the same downloads through its own links, and no Replace.
  const readOnlyPath = await a.evaluate(() => document.getElementById('app').dataset.readonlyPath)
  const carol = await person({ name: 'Carol', color: '#4363d8' })
  await openCalc(carol, suite.server.url + readOnlyPath)
  const c = carol.page
  await waitCellText(c, 0, 0, 'Item')
  await openMenu(c)
  assert.equal(await c.$('.replace-item'), null, 'no Replace on the read-only page')
  const roHrefs = await c.$$eval('.calc-file-menu a.menu-item', (els) => els.map((el) => el.getAttribute('href')))
  assert.deepEqual(roHrefs, ['csv?sheet=1', 'ods', 'xlsx', 'html'].map((f) => `${readOnlyPath}/export/${f}`))
  assert.equal(await download(c, '.export-csv'), 'Item,Qty\r\nPens,3\r\nInk,4\r\n')
  await assertClean(alice, bob, carol)
})

test('the browser that created a calc deletes it; another browser sees it gone', T, async () => {
  const name = padName('budget')
  const alice = await person({ name: 'Alice', color: '#e6194b' })
  const bob = await person({ name: 'Bob', color: '#3cb44b' })
  await alice.page.goto(`${suite.server.url}${BASE}/?lang=en`)
  await alice.page.fill('#new-name', name)
  await alice.page.click(`form[action^="${BASE}/new?"] button[value="calc"]`)
  await alice.page.waitForURL(new RegExp(`${BASE}/c/${name}`), { timeout: WAIT_MS })
  await waitCalcReady(alice.page)
  const a = alice.page
  assert.equal(new URL(a.url()).hash, '', 'the secret left the address bar')
  assert.match(await a.textContent('.calc-main #expiry'), /If nobody edits it, this calc will be erased on/)
  await typeCell(a, 0, 0, 'draft')
  await openCalc(bob, `${suite.server.url}${BASE}/c/${name}?lang=en`)
  await waitCellText(bob.page, 0, 0, 'draft')
  assert.equal(await bob.page.$('.delete-btn'), null, 'only the creating browser is offered Delete')

  // Cancel keeps everything.
  await a.click('.delete-btn')
  await a.waitForSelector('dialog[open] .btn-danger', { timeout: WAIT_MS })
  assert.match(await a.textContent('dialog[open]'), /Delete this calc\?/)
  await a.click('dialog[open] >> text=Cancel')
  assert.equal(await a.$('dialog[open]'), null)

  await a.click('.delete-btn')
  await a.click('dialog[open] .btn-danger')
  for (const p of [a, bob.page]) {
    await p.waitForSelector('.gone', { timeout: WAIT_MS })
    await p.waitForFunction(() => document.querySelector('.status')?.dataset.state === 'gone', null, { timeout: WAIT_MS })
    assert.match(await p.textContent('.gone'), /This calc was deleted by the person who created it/)
  }
  // What is left on screen is read-only: no toolbar, no formula bar input, no typing in cells.
  const b = bob.page
  assert.equal(await b.$eval('.calc-toolbar', (el) => el.hidden), true)
  assert.equal(await b.$eval('#formula-bar', (el) => el.readOnly), true)
  assert.equal(await b.$('#expiry'), null, 'no erasure date for what is already erased')
  await b.keyboard.type('x')
  assert.equal(await b.$eval('.grid-editor', (el) => el.hidden), true, 'typing opens no editor')
  assert.equal(await a.evaluate((n) => localStorage.getItem('ardoise.creator.' + n), name), null)
  assert.equal(await a.$('.delete-btn:not([hidden])'), null)
  const res = await fetch(`${suite.server.url}${BASE}/c/${name}/export/csv`)
  assert.equal(res.status, 404, 'nothing reconnected to write the calc back')
  await assertClean(alice, bob)
})
