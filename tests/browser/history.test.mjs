// The History panel in real Chromium against the real server (issue 20): a pad typed in two
// bursts, the older version previewed with the slider and restored behind a confirmation, a
// second browser converging on the restored text; the read-only link browsing history without a
// restore button; a calc's older cells previewed; the panel by keyboard; screenshots of the open
// panel at 1280×800 and 375×740, in French and English.
//
// Run from the repo root:  ARDOISE_BIN=target/debug/ardoise node --test tests/browser/history.test.mjs
// Screenshots go to target/screenshots/.

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import assert from 'node:assert/strict'

import {
  browserSuite, openPad, openCalc, waitText, typeAtEnd, typeCell, waitCellText, screenshot, padName, editorText,
  sameHue, WAIT_MS, assertClean, PHONE
} from './helpers.mjs'

const T = { timeout: 180_000 }
const ALICE = { name: 'Alice', color: '#e6194b', id: 'a11ce0000000000000000000000000a1' }
const BOB = { name: 'Bob', color: '#3cb44b', id: 'b0b0000000000000000000000000b0b0' }
const CAROL = { name: 'Carol', color: '#4363d8', id: 'ca401000000000000000000000000ca4' }

const FIRST = 'Le texte de la maîtresse.'
const VANDAL = ' TOUT CASSÉ PAR UN ÉLÈVE'

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

/**
 * axe-core's serious and critical WCAG 2.0/2.1 A and AA findings in what this file adds (the
 * History button, panel and confirmation: the rest of the page is a11y.test.mjs's).
 */
async function axeFindings (page, where) {
  await page.evaluate(`if (!window.axe) { ${AXE}\n }`)
  const found = await page.evaluate(async () => {
    const parts = ['.history-btn', '#history-panel', 'dialog.history-confirm[open]'].filter((s) => document.querySelector(s))
    const r = await window.axe.run({ include: parts.map((s) => [s]) }, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
      rules: { 'label-content-name-mismatch': { enabled: true } },
      resultTypes: ['violations']
    })
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}) at ${n.target.join(' ')}: ${v.help}`))
  })
  return found.map((f) => `[${where}] ${f}`)
}

const suite = browserSuite()
const person = suite.person
const pad = padName('histoire')
let alice, bob

/** The revisions the server lists for `path` (`/p/{name}`, `/c/{name}`, `/r/{token}`). */
async function revisions (path) {
  const res = await fetch(`${suite.server.url}${path}/history`)
  assert.equal(res.status, 200, `GET ${path}/history answered ${res.status}`)
  return (await res.json()).revisions
}

/**
 * Wait until `path` has at least `n` revisions whose last one satisfies `pred` (a revision is
 * made after a second without edits, which no event tells a test: read the list until then).
 */
async function waitRevisions (path, n, what) {
  const deadline = Date.now() + WAIT_MS
  for (;;) {
    const list = await revisions(path)
    if (list.length >= n) return list
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(list)}`)
    await new Promise((resolve) => setTimeout(resolve, 200)) // re-read; the deadline is the guard
  }
}

/** Open the History panel and wait until its list and a preview are shown. */
async function openHistory (page) {
  await page.click('.history-btn')
  await page.waitForSelector('#history-panel:not([hidden]) .history-item', { timeout: WAIT_MS })
  await page.waitForSelector('.history-preview[data-rev]:not([aria-busy])', { timeout: WAIT_MS })
}

/** The preview's text once it shows revision `rev`. */
async function previewOf (page, rev) {
  await page.waitForSelector(`.history-preview[data-rev="${rev}"]:not([aria-busy])`, { timeout: WAIT_MS })
  return page.textContent('.history-preview')
}

test('a pad: type, pause, vandalise; the slider shows the older text; restore it; a second browser sees it', T, async () => {
  alice = await person(ALICE)
  bob = await person(BOB)
  const path = `/p/${pad}`
  await openPad(alice, suite.server.url + path)
  await openPad(bob, suite.server.url + path)
  const a = alice.page

  // an empty history says when versions appear
  await a.click('.history-btn')
  await a.waitForSelector('.history-empty:not([hidden])', { timeout: WAIT_MS })
  assert.match(await a.textContent('.history-empty'), /pause d’une seconde/)
  await a.keyboard.press('Escape')
  assert.equal(await a.getAttribute('#history-panel', 'hidden'), '', 'Escape closes the panel')
  assert.ok(await a.evaluate(() => document.activeElement.classList.contains('history-btn')), 'focus is back on the History button')

  await typeAtEnd(a, FIRST)
  const one = await waitRevisions(path, 1, 'the first burst to become a revision')
  await typeAtEnd(a, VANDAL)
  await waitText(bob.page, VANDAL.trim())
  const two = await waitRevisions(path, 2, 'the second burst to become a revision')
  assert.deepEqual(two[0].authors, ['Alice'])
  const older = one[0].rev

  await openHistory(a)
  const newest = two[two.length - 1].rev
  assert.match(await previewOf(a, newest), /TOUT CASSÉ/, 'the newest version is shown first')
  // the slider by keyboard: Home is the oldest version
  await a.focus('#history-slider')
  await a.keyboard.press('Home')
  const shown = await previewOf(a, older)
  assert.ok(shown.includes(FIRST) && !shown.includes('CASSÉ'), `the older version's text: ${JSON.stringify(shown)}`)
  // in Alice's colour, as the editor shades it
  const bg = await a.evaluate((s) => {
    for (const el of document.querySelectorAll('.history-text .au')) if (el.textContent.includes(s)) return getComputedStyle(el).backgroundColor
    return null
  }, 'maîtresse')
  assert.ok(sameHue(bg, ALICE.color), `the preview shades Alice's text in her colour: ${bg}`)
  // the live region says which version is shown; the list marks it
  await a.waitForFunction(() => /Version affichée/.test(document.querySelector('.history-live').textContent), null, { timeout: WAIT_MS })
  assert.equal(await a.getAttribute(`.history-item[data-rev="${older}"]`, 'aria-current'), 'true')
  // its exports are that version's
  const txt = await a.getAttribute('.history-export-txt', 'href')
  assert.match(txt, new RegExp(`/p/${pad}/history/${older}/export/txt`))
  const exported = await fetch(new URL(txt, suite.server.url))
  assert.equal(exported.status, 200)
  const body = await exported.text()
  assert.ok(body.includes(FIRST) && !body.includes('CASSÉ'), `the older version's export: ${JSON.stringify(body)}`)

  // Enter on a list item selects it
  await a.focus(`.history-item[data-rev="${newest}"]`)
  await a.keyboard.press('Enter')
  assert.match(await previewOf(a, newest), /CASSÉ/)
  await a.focus(`.history-item[data-rev="${older}"]`)
  await a.keyboard.press('Enter')
  await previewOf(a, older)

  // restore: a real dialog; Escape cancels and gives the focus back
  await a.click('.history-restore')
  await a.waitForSelector('dialog.history-confirm[open]')
  assert.ok(await a.evaluate(() => document.querySelector('dialog.history-confirm').contains(document.activeElement)), 'focus is in the dialog')
  for (let i = 0; i < 3; i++) {
    await a.keyboard.press('Tab')
    assert.ok(await a.evaluate(() => document.querySelector('dialog.history-confirm').contains(document.activeElement)), 'Tab stays in the dialog')
  }
  await a.keyboard.press('Escape')
  await a.waitForSelector('dialog.history-confirm:not([open])', { state: 'attached' })
  // The dialog's `close` event (which gives the focus back) is a task queued after `open` goes.
  await a.waitForFunction(() => document.activeElement.classList.contains('history-restore'), null, { timeout: WAIT_MS })
    .catch(() => assert.fail('focus is back on Restore'))
  assert.ok((await editorText(a)).includes('CASSÉ'), 'a cancelled restore changes nothing')

  await a.click('.history-restore')
  await a.click('dialog.history-confirm .history-confirm-ok')
  await a.waitForSelector('dialog.history-confirm:not([open])', { state: 'attached' })
  // both live editors converge on the older text (it arrives over the WebSocket)
  for (const p of [a, bob.page]) {
    await p.waitForFunction((s) => !window.ardoise.view.state.doc.toString().includes(s), 'CASSÉ', { timeout: WAIT_MS })
    await waitText(p, FIRST)
  }
  // the list refreshes with the restore, saying what it brought back
  await a.waitForSelector('.history-restored', { timeout: WAIT_MS })
  assert.match(await a.textContent('.history-list li:first-child .history-restored'), /restauration de la version/)
  const after = await revisions(path)
  assert.equal(after[after.length - 1].restored_from, older)

  await assertClean(alice, bob)
})

test('the read-only link shows History, previews and exports, but offers no restore', T, async () => {
  const roPath = await alice.page.getAttribute('#app', 'data-readonly-path')
  const carol = await person({ ...CAROL, lang: 'en' })
  await openPad(carol, `${suite.server.url}${roPath}?lang=en`)
  const c = carol.page
  await openHistory(c)
  assert.equal(await c.$('.history-restore'), null, 'no restore button on a read-only link')
  const list = await revisions(roPath)
  const first = list[0].rev
  await c.focus('#history-slider')
  await c.keyboard.press('Home')
  assert.ok((await previewOf(c, first)).includes(FIRST))
  assert.match(await c.getAttribute('.history-export-txt', 'href'), new RegExp(`^${roPath}/history/${first}/export/txt`))
  assert.match(await c.textContent('.history-title'), /^History$/)
  // no restore under /r/, even asked directly
  const res = await fetch(`${suite.server.url}${roPath}/history/${first}/restore`, { method: 'POST' })
  assert.ok(res.status === 404 || res.status === 405, `POST restore on a read-only link answered ${res.status}`)
  await screenshot(c, 'history-readonly-en-1280')
  await assertClean(carol)
  await carol.context.close()
})

test('screenshots of the open panel, 1280×800 and 375×740, French and English; axe finds nothing', T, async () => {
  const findings = []
  for (const lang of ['fr', 'en']) {
    for (const phone of [false, true]) {
      const p = await person({ ...BOB, lang, phone, viewport: phone ? PHONE : undefined })
      await openPad(p, `${suite.server.url}/p/${pad}?lang=${lang}`)
      await openHistory(p.page)
      await p.page.focus('#history-slider')
      await p.page.keyboard.press('ArrowLeft')
      await previewOf(p.page, await p.page.getAttribute('.history-item[aria-current="true"]', 'data-rev'))
      // the panel fits the phone's width: nothing wider than the screen
      const overflow = await p.page.evaluate(() => document.getElementById('history-panel').scrollWidth - window.innerWidth)
      assert.ok(overflow <= 0, `the panel is ${overflow}px wider than the screen`)
      const where = `history-pad-${lang}-${phone ? 375 : 1280}`
      await screenshot(p.page, where)
      findings.push(...await axeFindings(p.page, where))
      await p.page.click('.history-restore')
      await p.page.waitForSelector('dialog.history-confirm[open]')
      await screenshot(p.page, `${where}-confirm`)
      findings.push(...await axeFindings(p.page, `${where}-confirm`))
      await p.page.keyboard.press('Escape')
      await p.page.waitForSelector('dialog.history-confirm:not([open])', { state: 'attached' })
      await p.page.keyboard.press('Escape')
      await assertClean(p)
      await p.context.close()
    }
  }
  assert.deepEqual(findings, [], `axe-core findings:\n${findings.join('\n')}`)
})

test('a calc: edit cells, open History, preview the older version', T, async () => {
  const name = padName('tableau')
  const path = `/c/${name}`
  const dana = await person({ name: 'Dana', color: '#911eb4', lang: 'en' })
  await openCalc(dana, `${suite.server.url}${path}?lang=en`)
  const d = dana.page
  await typeCell(d, 0, 0, 'Pommes')
  await typeCell(d, 0, 1, '12')
  await waitCellText(d, 0, 1, '12')
  const one = await waitRevisions(path, 1, 'the calc\'s first edits to become a revision')
  await typeCell(d, 0, 1, '999')
  await typeCell(d, 1, 0, 'Poires')
  await waitCellText(d, 1, 0, 'Poires')
  const two = await waitRevisions(path, 2, 'the calc\'s second edits to become a revision')
  await openHistory(d)
  const newest = await previewOf(d, two[two.length - 1].rev)
  assert.ok(newest.includes('999') && newest.includes('Poires'), `newest: ${newest}`)
  await d.focus('#history-slider')
  await d.keyboard.press('Home')
  const older = await previewOf(d, one[0].rev)
  assert.ok(older.includes('Pommes') && older.includes('12') && !older.includes('999') && !older.includes('Poires'), `older: ${older}`)
  assert.ok(await d.$('.history-grid'), 'a grid of the version\'s cells')
  assert.match(await d.getAttribute('.history-export-xlsx', 'href'), new RegExp(`${path}/history/${one[0].rev}/export/xlsx`))
  assert.ok(await d.$('.history-restore'), 'the edit page offers restore')
  await screenshot(d, 'history-calc-en-1280')
  await assertClean(dana)
})
