// Editing links and seeing other people in the pad (issue 18): a link does not grow when one
// types at its end (online, and offline then synced), the link dialog is an in-page dialog
// usable with the keyboard, and a remote caret's name does not stay over the line above.
// Screenshots of the pad with two authors, a link and the dialog, at both widths, FR and EN.
//
// Run from the repo root:
//   ARDOISE_BIN=$CARGO_TARGET_DIR/debug/ardoise node --test --test-concurrency=1 tests/browser/pad_edit.test.mjs

import { test } from 'node:test'
import assert from 'node:assert/strict'

import {
  browserSuite, openPad, waitConnected, waitText, typeAtEnd, lookOf, waitLook, screenshot, padName,
  assertClean, DESKTOP, PHONE, WAIT_MS
} from './helpers.mjs'

const T = { timeout: 120_000 }
const ALICE = { name: 'Alice', color: '#911eb4', id: 'a11ce0000000000000000000000000c1' }
const BOB = { name: 'Bob', color: '#3cb44b', id: 'b0b0000000000000000000000000c0b0' }

const suite = browserSuite()
const person = (who) => suite.person(who)
const padUrl = (name) => `${suite.server.url}/p/${name}`

/** Fails the test on any native dialog (prompt, alert, confirm): the pad uses its own. */
function noNativeDialogs (p) {
  p.page.on('dialog', (d) => {
    p.issues.push(`native ${d.type()} dialog: ${d.message()}`)
    d.dismiss().catch(() => {})
  })
}

/** The linked stretches of the pad's text as this page's Y.Text holds them, in order. */
function linkedTexts (page) {
  return page.evaluate(() => {
    const out = []
    let last = null
    for (const d of window.ardoise.ydoc.getText('content').toDelta()) {
      const link = d.attributes && d.attributes.link
      if (link && typeof d.insert === 'string') {
        if (link === last) out[out.length - 1].text += d.insert
        else out.push({ text: d.insert, link })
      }
      last = link || null
    }
    return out
  })
}

/** Selects the `n` characters before the caret, as a person does with Shift+←. */
async function selectBack (page, n) {
  for (let i = 0; i < n; i++) await page.keyboard.press('Shift+ArrowLeft')
}

/** Opens the link dialog with Ctrl+K, types `url` and confirms with Enter. */
async function linkWith (page, url) {
  await page.keyboard.press('Control+k')
  await page.waitForSelector('dialog.link-dialog[open]', { timeout: WAIT_MS })
  await page.keyboard.type(url)
  await page.keyboard.press('Enter')
  await page.waitForSelector('dialog.link-dialog:not([open])', { state: 'attached', timeout: WAIT_MS })
  await page.waitForFunction(() => !!document.activeElement?.closest('.cm-content'), null, { timeout: WAIT_MS })
}

test('text typed at the end of a link is not part of it, online and offline then synced', T, async () => {
  const name = padName('lien')
  const alice = await person(ALICE)
  const bob = await person(BOB)
  noNativeDialogs(alice)
  await openPad(alice, padUrl(name))
  await openPad(bob, padUrl(name))
  const a = alice.page

  await typeAtEnd(a, 'Voir le site world')
  await selectBack(a, 5)
  await linkWith(a, 'https://example.org/world')
  await a.keyboard.press('End')
  await a.keyboard.type(' more text')
  await a.keyboard.press('Enter')
  await a.keyboard.type('second line')

  // Offline: a bold link at the end of a line, then typing after it and on a new line.
  await a.keyboard.press('Enter')
  await a.keyboard.type('Lien : ')
  await a.keyboard.press('Control+b')
  await a.keyboard.type('ici')
  await selectBack(a, 3)
  await linkWith(a, 'https://example.org/ici')
  await a.evaluate(() => window.ardoise.provider.disconnect())
  await a.waitForFunction(() => !window.ardoise.provider.wsconnected, null, { timeout: WAIT_MS })
  await a.keyboard.press('End')
  await a.keyboard.type(' encore')
  await a.keyboard.press('Enter')
  await a.keyboard.type('hors ligne')
  await a.evaluate(() => window.ardoise.provider.connect())
  await waitConnected(a)

  const b = bob.page
  await waitText(b, 'Voir le site world more text\nsecond line\nLien : ici encore\nhors ligne')
  for (const page of [a, b]) {
    assert.deepEqual(await linkedTexts(page), [
      { text: 'world', link: 'https://example.org/world' },
      { text: 'ici', link: 'https://example.org/ici' }
    ])
  }
  const after = await waitLook(b, ' more text', (l) => l.href === null, 'outside the link')
  assert.notEqual(after.tag, 'a')
  assert.equal((await lookOf(b, 'world')).href, 'https://example.org/world')
  // Bold continues past the end of the link, as before; only the link stops.
  const encore = await waitLook(b, ' encore', (l) => l.href === null, 'outside the link')
  assert.ok(encore.fontWeight >= 700, `text typed after a bold link stays bold (${encore.fontWeight})`)
  assert.equal((await lookOf(b, 'hors ligne')).href, null)
  await assertClean(alice, bob)
})

test('the link dialog: keyboard only, validation, remove, Escape, focus back in the editor', T, async () => {
  const name = padName('dialogue')
  const alice = await person({ ...ALICE, lang: 'en' })
  noNativeDialogs(alice)
  await openPad(alice, padUrl(name))
  const a = alice.page
  const dialogOpen = () => a.evaluate(() => document.querySelector('dialog.link-dialog')?.open ?? false)

  await typeAtEnd(a, 'Read the notice')
  await selectBack(a, 6)
  await a.keyboard.press('Control+k')
  await a.waitForSelector('dialog.link-dialog[open]')
  assert.equal(await a.evaluate(() => document.activeElement?.id), 'link-url', 'the URL field has focus')
  assert.match(await a.textContent('dialog.link-dialog'), /“notice”/, 'the dialog names the linked text')
  assert.equal(await a.isVisible('dialog.link-dialog .link-remove'), false, 'nothing to remove yet')

  // An empty or refused address keeps the dialog open with an explanation.
  await a.keyboard.press('Enter')
  assert.ok(await dialogOpen())
  assert.match(await a.textContent('#link-error'), /Enter an address/)
  await a.keyboard.type('javascript:alert(1)')
  await a.keyboard.press('Enter')
  assert.ok(await dialogOpen())
  assert.equal(await a.getAttribute('#link-url', 'aria-invalid'), 'true')
  assert.match(await a.textContent('#link-error'), /http, https and mailto/)

  // A bare domain becomes an https link.
  await a.fill('#link-url', 'example.org/notice')
  await a.keyboard.press('Enter')
  await a.waitForFunction(() => !document.querySelector('dialog.link-dialog').open)
  await a.waitForFunction(() => !!document.activeElement?.closest('.cm-content'))
  await waitLook(a, 'notice', (l) => l.href === 'https://example.org/notice', 'linked')
  assert.equal((await lookOf(a, 'Read the ')).href, null)

  // Caret inside the link, no selection: the dialog edits that link; Escape changes nothing.
  await a.keyboard.press('End')
  await a.keyboard.press('ArrowLeft')
  await a.keyboard.press('ArrowLeft')
  await a.keyboard.press('Control+k')
  await a.waitForSelector('dialog.link-dialog[open]')
  assert.equal(await a.inputValue('#link-url'), 'https://example.org/notice')
  assert.ok(await a.isVisible('dialog.link-dialog .link-remove'))
  await a.keyboard.press('Escape')
  await a.waitForFunction(() => !document.querySelector('dialog.link-dialog').open)
  await a.waitForFunction(() => !!document.activeElement?.closest('.cm-content'), null, { timeout: WAIT_MS })
    .catch(() => assert.fail('Escape gives the focus back to the editor'))
  assert.equal((await lookOf(a, 'notice')).href, 'https://example.org/notice')

  // Keyboard only: Ctrl+K, Shift+Tab from the field … reach "Remove link", Space.
  await a.keyboard.press('Control+k')
  await a.waitForSelector('dialog.link-dialog[open]')
  for (let i = 0; i < 6; i++) {
    if (await a.evaluate(() => document.activeElement?.classList.contains('link-remove'))) break
    await a.keyboard.press('Tab')
  }
  assert.ok(await a.evaluate(() => document.activeElement?.classList.contains('link-remove')), 'Tab reaches "Remove link"')
  await a.keyboard.press('Space')
  await a.waitForFunction(() => !document.querySelector('dialog.link-dialog').open)
  await waitLook(a, 'notice', (l) => l.href === null, 'no longer linked')
  await a.waitForFunction(() => !!document.activeElement?.closest('.cm-content'), null, { timeout: WAIT_MS })
  assert.deepEqual(await linkedTexts(a), [])
  await assertClean(alice)
})

test('a remote caret\'s name shows while that person moves, then no longer covers the line above', T, async () => {
  const name = padName('curseur')
  const alice = await person(ALICE)
  const bob = await person(BOB)
  await openPad(alice, padUrl(name))
  await openPad(bob, padUrl(name))
  await typeAtEnd(alice.page, 'Première ligne, que rien ne doit cacher.\nDeuxième ligne')
  const b = bob.page
  await waitText(b, 'Deuxième ligne')
  await b.click('.cm-content')
  await b.keyboard.press('Control+End')
  await b.keyboard.press('Home')

  const a = alice.page
  const label = () => a.evaluate(() => {
    const caret = document.querySelector('.yc-caret')
    const el = caret?.querySelector('.yc-label')
    if (!el) return null
    const cs = getComputedStyle(el)
    return { recent: caret.classList.contains('yc-recent'), visibility: cs.visibility, text: el.textContent }
  })
  await a.waitForFunction(() => document.querySelector('.yc-caret.yc-recent .yc-label')?.textContent === 'Bob', null, { timeout: WAIT_MS })
  const shown = await label()
  assert.equal(shown.visibility, 'visible', 'the name shows while Bob moves')
  await screenshot(a, 'pad-edit-cursor-label-recent')
  // Then it hides (an event the page schedules itself), leaving the line above readable.
  await a.waitForFunction(() => document.querySelector('.yc-caret') && !document.querySelector('.yc-caret.yc-recent'), null, { timeout: WAIT_MS })
  await a.waitForFunction(() => getComputedStyle(document.querySelector('.yc-caret .yc-label')).visibility === 'hidden', null, { timeout: WAIT_MS })
  await screenshot(a, 'pad-edit-cursor-label-quiet')
  // Hovering the caret shows the name again.
  await a.hover('.yc-caret')
  await a.waitForFunction(() => getComputedStyle(document.querySelector('.yc-caret .yc-label')).visibility === 'visible', null, { timeout: WAIT_MS })
  // Bob types: the name is back.
  await a.mouse.move(0, 0)
  await b.keyboard.type('Bob ')
  await a.waitForFunction(() => !!document.querySelector('.yc-caret.yc-recent'), null, { timeout: WAIT_MS })
  await assertClean(alice, bob)
})

for (const lang of ['fr', 'en']) {
  for (const [width, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    test(`screenshots: two authors, a link, the link dialog (${lang}, ${width})`, T, async () => {
      const name = padName(`ecran-${lang}`)
      const phone = viewport === PHONE
      const alice = await person({ ...ALICE, lang, phone })
      const bob = await person({ ...BOB, lang, phone })
      noNativeDialogs(alice)
      await openPad(alice, padUrl(name))
      await openPad(bob, padUrl(name))
      const a = alice.page
      await typeAtEnd(a, lang === 'fr' ? 'Sortie au musée : programme en ligne' : 'Museum trip: programme online')
      await selectBack(a, lang === 'fr' ? 9 : 6)
      await linkWith(a, 'https://example.org/programme')
      await a.keyboard.press('End')
      await a.keyboard.type(lang === 'fr' ? ', départ à 9 h.' : ', leaving at 9.')
      await typeAtEnd(bob.page, lang === 'fr' ? '\nBob apporte les billets.' : '\nBob brings the tickets.')
      await waitText(a, lang === 'fr' ? 'billets' : 'tickets')
      await a.click('.cm-content')
      await a.keyboard.press('Control+Home')
      await a.keyboard.press('End')
      await selectBack(a, 15)
      await screenshot(a, `pad-edit-${lang}-${width}`)
      await a.keyboard.press('Control+k')
      await a.waitForSelector('dialog.link-dialog[open]')
      await a.keyboard.type('pas une adresse')
      await a.keyboard.press('Enter')
      await a.waitForSelector('#link-url[aria-invalid="true"]')
      await screenshot(a, `pad-edit-${lang}-${width}-dialog`)
      const box = await a.$eval('dialog.link-dialog', (d) => { const r = d.getBoundingClientRect(); return { left: r.left, right: r.right } })
      assert.ok(box.left >= 0 && box.right <= viewport.width, `the dialog fits the screen: ${JSON.stringify(box)}`)
      const overflow = await a.$eval('dialog.link-dialog', (d) => d.scrollWidth > d.clientWidth)
      assert.equal(overflow, false, 'nothing overflows the dialog sideways')
      await a.keyboard.press('Escape')
      await assertClean(alice, bob)
    })
  }
}
