// The pad page's "Import a file…" in real Chromium against the real server (issue 21): a file
// chosen in the dialog replaces the pad's text in this browser and in a second one, the dialog
// says it is done (and what was left out), a refused file is explained in the dialog, Escape
// gives the editor its focus back, a read-only link offers no import; screenshots of the dialog
// at 1280×800 and 375×740, in French and English, in target/screenshots/.
//
// Run from the repo root:  ARDOISE_BIN=target/debug/ardoise node --test tests/browser/pad_import.test.mjs

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import assert from 'node:assert/strict'

import { browserSuite, openPad, waitText, typeAtEnd, padName, editorText, WAIT_MS, assertClean, screenshot } from './helpers.mjs'

const T = { timeout: 180_000 }
const ALICE = { name: 'Alice', color: '#e6194b', id: 'a11ce0000000000000000000000000a1' }
const BOB = { name: 'Bob', color: '#3cb44b', id: 'b0b0000000000000000000000000b0b0' }
/** The refused upload's 400, which Chromium logs; expected here. */
const REFUSED = [/status of 400 \(Bad Request\).*\/import\?/]

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

/** axe-core's serious and critical WCAG 2.0/2.1 A and AA findings in the open dialog. */
async function axeFindings (page, where) {
  await page.evaluate(`if (!window.axe) { ${AXE}\n }`)
  const found = await page.evaluate(async () => {
    const r = await window.axe.run({ include: [['dialog.import-dialog[open]']] }, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
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

/** Open the header menu (shot as `menuShot` if given) and the import dialog from it; the file input has the focus. */
async function openImport (page, menuShot = null) {
  await page.click('details.menu > summary')
  if (menuShot) await shot(page, menuShot)
  await page.click('.import-item')
  await page.waitForSelector('dialog.import-dialog[open]', { timeout: WAIT_MS })
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'import-file', null, { timeout: WAIT_MS })
}

/** Choose `name` with `content` in the dialog's file input and press Import. */
async function importFile (page, name, content, mimeType = 'text/plain') {
  await page.setInputFiles('#import-file', { name, mimeType, buffer: Buffer.from(content) })
  await page.click('.import-ok')
}

async function shot (page, name) {
  await screenshot(page, `pad-${name}`)
}

test('a text file replaces the pad for everyone; the dialog says so; Escape goes back to the editor', T, async () => {
  const alice = await person({ ...ALICE, allow: REFUSED })
  const bob = await person(BOB)
  const pad = padName('import')
  const url = `${suite.server.url}/p/${pad}`
  await openPad(alice, url)
  await openPad(bob, url)
  const a = alice.page
  await typeAtEnd(a, 'Ancien contenu')
  await waitText(bob.page, 'Ancien contenu')

  await openImport(a, 'import-menu-fr-1280')
  assert.match(await a.textContent('#import-warning'), /reste dans l’historique/)
  assert.equal(await a.getAttribute('dialog.import-dialog', 'aria-labelledby'), 'import-title')
  assert.equal(await a.getAttribute('#import-file', 'accept').then((s) => s.split(',').includes('.docx')), true)
  // Import with no file chosen says what to do.
  await a.click('.import-ok')
  assert.match(await a.textContent('.import-note'), /Choisissez d’abord un fichier/)
  await shot(a, 'import-dialog-fr-1280')
  assert.deepEqual(await axeFindings(a, 'fr desktop'), [])

  await importFile(a, 'lecon.txt', 'Nouvelle leçon\nDeuxième ligne')
  await waitText(a, 'Nouvelle leçon')
  await waitText(bob.page, 'Deuxième ligne')
  assert.ok(!(await editorText(bob.page)).includes('Ancien'), 'the old text is gone from the second browser')
  await a.waitForFunction(() => /Fichier importé/.test(document.querySelector('.import-note').textContent), null, { timeout: WAIT_MS })
  assert.equal(await a.isVisible('.import-ok'), false, 'once done, only Close is left')
  assert.equal(await a.textContent('.import-cancel'), 'Fermer')
  assert.ok(await a.evaluate(() => document.activeElement.classList.contains('import-cancel')), 'focus on Close')
  await shot(a, 'import-dialog-done-fr-1280')

  // Escape closes it and gives the editor its focus back.
  await a.keyboard.press('Escape')
  await a.waitForSelector('dialog.import-dialog:not([open])', { state: 'attached', timeout: WAIT_MS })
  // The dialog's `close` event (which gives the focus back) is a task queued after `open` goes.
  await a.waitForFunction(() => document.activeElement.classList.contains('cm-content'), null, { timeout: WAIT_MS })
    .catch(() => assert.fail('focus back in the editor'))

  // A refused file is explained in the dialog, and the pad is left as it was.
  await openImport(a)
  assert.equal(await a.textContent('.import-note'), '', 'a reopened dialog starts clean')
  await importFile(a, 'casse.txt', Buffer.from([0x6f, 0x6b, 0xc3, 0x28]))
  await a.waitForFunction(() => /L’import a échoué/.test(document.querySelector('.import-note').textContent), null, { timeout: WAIT_MS })
  assert.match(await a.textContent('.import-note'), /UTF-8/)
  assert.ok((await editorText(a)).includes('Nouvelle leçon'))
  await a.click('.import-cancel')

  // The previous content is a revision of the history.
  const res = await fetch(`${suite.server.url}/p/${pad}/history`)
  const revisions = (await res.json()).revisions
  assert.ok(revisions.length >= 1, JSON.stringify(revisions))

  // A read-only link has no import.
  const readOnly = await a.evaluate(() => document.getElementById('app').dataset.readonlyPath)
  await openPad(bob, suite.server.url + readOnly)
  await bob.page.click('details.menu > summary')
  assert.equal(await bob.page.$('.import-item'), null, 'no import from a read-only link')
  await assertClean(alice, bob)
})

test('the dialog in English and on a phone', T, async () => {
  const pad = padName('import-en')
  for (const [lang, phone] of [['en', false], ['en', true], ['fr', true]]) {
    const p = await person({ ...ALICE, lang, phone })
    await openPad(p, `${suite.server.url}/p/${pad}?lang=${lang}`)
    await openImport(p.page)
    const title = await p.page.textContent('#import-title')
    assert.equal(title, lang === 'en' ? 'Import a file' : 'Importer un fichier')
    const size = phone ? '375' : '1280'
    await shot(p.page, `import-dialog-${lang}-${size}`)
    // Nothing wider than the screen.
    const wide = await p.page.evaluate(() => {
      const d = document.querySelector('dialog.import-dialog').getBoundingClientRect()
      return d.right > window.innerWidth + 1 || d.left < -1
    })
    assert.equal(wide, false, `the dialog fits a ${size} px screen`)
    assert.deepEqual(await axeFindings(p.page, `${lang} ${size}`), [])
    if (lang === 'en' && !phone) {
      await importFile(p.page, 'notes.txt', 'English notes')
      await waitText(p.page, 'English notes')
      await p.page.waitForFunction(() => /File imported/.test(document.querySelector('.import-note').textContent), null, { timeout: WAIT_MS })
      await shot(p.page, 'import-dialog-done-en-1280')
    }
    await p.page.keyboard.press('Escape')
    await assertClean(p)
  }
})
