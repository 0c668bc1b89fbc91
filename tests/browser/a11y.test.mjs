// Accessibility in real Chromium (issue 18): axe-core with the WCAG 2.0/2.1 A and AA rules on
// every page a person can reach (home, pad, calc, their read-only pages, with the side panel and
// each dialog or menu open, privacy, admin signed in, the 503 refusal, a 404), at 1280×800 and
// 375×740, in English and French. Any serious or critical finding fails, as does a page wider
// than the phone's viewport. Also: keyboard focus is visible, remote changes are announced in a
// polite live region that can be turned off, the admin page deletes through an in-page dialog.
//
// Run from the repo root:  ARDOISE_BIN=target/debug/ardoise node --test tests/browser/a11y.test.mjs

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

import {
  browserSuite, openPad, openCalc, padName, screenshot, assertClean, startServer, connect,
  WAIT_MS, DESKTOP, PHONE, waitText
} from './helpers.mjs'

const T = { timeout: 600_000 }
const TOKEN = 'a11y-admin-token'
const suite = browserSuite({ args: ['--admin-token', TOKEN] })

// Resolved as an import would be: the package lives in tests/node_modules (tests/package.json).
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']

/**
 * axe-core's serious and critical findings on the page as it is now, as readable lines. The
 * source is evaluated through the DevTools protocol, which the page's CSP does not govern, so
 * the server's policy stays as strict as it is.
 */
async function axeFindings (page, where) {
  await page.evaluate(`if (!window.axe) { ${AXE}\n }`)
  const found = await page.evaluate(async (tags) => {
    // label-content-name-mismatch (WCAG 2.5.3) is "experimental" in axe 4.x: asked for by name.
    const r = await window.axe.run(document, {
      runOnly: { type: 'tag', values: tags },
      rules: { 'label-content-name-mismatch': { enabled: true } },
      resultTypes: ['violations']
    })
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}) at ${n.target.join(' ')}: ${v.help}; ${(n.failureSummary || '').replace(/\s+/g, ' ')}`))
  }, TAGS)
  return found.map((f) => `[${where}] ${f}`)
}

/** The page is no wider than the viewport (nothing to scroll sideways). */
async function overflow (page, where) {
  const [sw, iw] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth])
  return sw <= iw ? [] : [`[${where}] page is ${sw}px wide in a ${iw}px viewport`]
}

/** Check the page as it is now: axe, width, and a screenshot to look at. */
async function look (page, findings, where) {
  findings.push(...await axeFindings(page, where))
  findings.push(...await overflow(page, where))
  await screenshot(page, `a11y-${where}`, { fullPage: false })
}

async function openDialog (page, opener) {
  await page.click(opener)
  await page.waitForSelector('dialog[open]', { timeout: WAIT_MS })
}

async function closeDialog (page) {
  await page.keyboard.press('Escape')
  await page.waitForFunction(() => !document.querySelector('dialog[open]'), null, { timeout: WAIT_MS })
}

/** A document page (pad or calc) with its panel, menus and dialogs; then its read-only page. */
async function lookAtDocument (person, kind, url, findings, tag) {
  const page = person.page
  if (kind === 'pad') await openPad(person, url)
  else await openCalc(person, url)
  // Somebody else is here and wrote in the chat: the count and the unread badge are shown
  // (the panel starts open on a wide screen, where nothing is unread).
  if (await page.getAttribute('.side-toggle', 'aria-expanded') === 'true') await page.click('.side-toggle')
  const other = await connect(suite.server.wsUrl, new URL(url).pathname.split('/').pop(), { label: 'Bob' })
  other.provider.awareness.setLocalStateField('user', { name: 'Bob', color: '#3cb44b' })
  other.doc.getArray('chat').push([{ author: 'Bob', text: 'Bonjour', ts: Date.now() }])
  await page.waitForSelector('.side-toggle .badge:not([hidden])', { timeout: WAIT_MS })
  await look(page, findings, `${tag}-${kind}`)
  await page.click('.side-toggle')
  await page.waitForSelector('#side:not([hidden])', { timeout: WAIT_MS })
  await look(page, findings, `${tag}-${kind}-panel`)
  await page.click('.side-toggle')
  await openDialog(page, '.share-btn')
  await look(page, findings, `${tag}-${kind}-share`)
  await closeDialog(page)
  await openDialog(page, 'button.me')
  await look(page, findings, `${tag}-${kind}-identity`)
  await closeDialog(page)
  if (await page.$('.delete-btn')) {
    await openDialog(page, '.delete-btn')
    await look(page, findings, `${tag}-${kind}-delete`)
    await closeDialog(page)
  }
  const menu = await page.$('details.menu summary')
  if (menu) {
    await menu.click()
    await page.waitForSelector('details.menu[open]', { timeout: WAIT_MS })
    await look(page, findings, `${tag}-${kind}-export`)
    await page.keyboard.press('Escape')
  }
  const ro = await page.evaluate(() => document.getElementById('app').dataset.readonlyPath)
  other.destroy()
  if (kind === 'pad') await openPad(person, suite.server.url + ro)
  else await openCalc(person, suite.server.url + ro)
  await look(page, findings, `${tag}-${kind}-readonly`)
}

for (const lang of ['en', 'fr']) {
  for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    const tag = `${lang}-${size}`
    test(`no serious or critical axe finding and no sideways scroll on any page (${tag})`, T, async () => {
      // The 404 page is asked for on purpose: the browser logs its status.
      const person = await suite.person({ name: 'Alice', lang, phone: viewport === PHONE, viewport, allow: [/status of 404 \(Not Found\) \(http:\/\/[^)]*\/no\/such\/page/] })
      const page = person.page
      const base = suite.server.url
      const findings = []

      await page.goto(`${base}/?lang=${lang}`)
      await look(page, findings, `${tag}-home`)
      await page.goto(`${base}/privacy?lang=${lang}`)
      await look(page, findings, `${tag}-privacy`)
      const missing = await page.goto(`${base}/no/such/page?lang=${lang}`)
      assert.equal(missing.status(), 404)
      await look(page, findings, `${tag}-404`)

      await lookAtDocument(person, 'pad', `${base}/p/${padName('a11y')}`, findings, tag)
      await lookAtDocument(person, 'calc', `${base}/c/${padName('a11y')}`, findings, tag)

      await page.goto(`${base}/admin?lang=${lang}`)
      await look(page, findings, `${tag}-admin-login`)
      await page.fill('#token', TOKEN)
      await page.click('#login button[type=submit]')
      await page.waitForSelector('#docs tbody tr', { timeout: WAIT_MS })
      await look(page, findings, `${tag}-admin`)
      await page.locator('#docs tbody tr').first().getByRole('button').click()
      await page.waitForSelector('dialog[open]', { timeout: WAIT_MS })
      await look(page, findings, `${tag}-admin-delete`)
      await closeDialog(page)

      assert.deepEqual(findings, [], `axe-core and width findings:\n${findings.join('\n')}`)
      await assertClean(person)
    })
  }
}

test('the refusal page (503) while creation is closed passes axe at both widths', T, async () => {
  const closed = await startServer({ args: ['--shedding-mode', 'closed'] })
  try {
    const findings = []
    for (const lang of ['en', 'fr']) {
      for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
        const person = await suite.person({ lang, phone: viewport === PHONE, viewport })
        const res = await person.page.goto(`${closed.url}/p/${padName('closed')}?lang=${lang}`)
        assert.equal(res.status(), 503)
        await look(person.page, findings, `${lang}-${size}-503`)
        await person.page.goto(`${closed.url}/?lang=${lang}`)
        await look(person.page, findings, `${lang}-${size}-home-closed`)
        // The 503 answer itself is logged by the browser as a failed load.
        person.issues.splice(0, person.issues.length, ...person.issues.filter((i) => !/503/.test(i)))
        await assertClean(person)
      }
    }
    assert.deepEqual(findings, [], `axe-core and width findings:\n${findings.join('\n')}`)
  } finally {
    await closed.stop()
  }
})

/** WCAG relative luminance and contrast of two [r, g, b] colours. */
function contrast (a, b) {
  const lum = ([r, g, bl]) => {
    const c = [r, g, bl].map((v) => {
      const s = v / 255
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
    })
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
  }
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x)
  return (hi + 0.05) / (lo + 0.05)
}
const rgb = (css) => (/rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)/.exec(css) || []).slice(1, 4).map(Number)

test('every control of home and pad is reached with Tab and shows a focus ring of 3:1 or more', T, async () => {
  const person = await suite.person({ name: 'Keys', lang: 'en' })
  const page = person.page
  const seen = []
  const bad = []
  const tabThrough = async (where, max) => {
    await page.evaluate(() => document.activeElement && document.activeElement.blur())
    for (let i = 0; i < max; i++) {
      await page.keyboard.press('Tab')
      const f = await page.evaluate(() => {
        const el = document.activeElement
        if (!el || el === document.body) return null
        const cs = getComputedStyle(el)
        return {
          what: `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${el.className}`.slice(0, 60),
          style: cs.outlineStyle,
          width: parseFloat(cs.outlineWidth),
          color: cs.outlineColor,
          editor: !!el.closest('.cm-editor')
        }
      })
      if (!f) continue
      seen.push(`${where}: ${f.what}`)
      if (f.editor) continue // the text itself: CodeMirror shows its caret
      const ratio = contrast(rgb(f.color), [255, 255, 255])
      if (f.style === 'none' || f.width < 2 || ratio < 3) bad.push(`${where}: ${f.what} outline ${f.style} ${f.width}px ${f.color} (${ratio.toFixed(2)}:1)`)
    }
  }
  await page.goto(`${suite.server.url}/?lang=en`)
  await tabThrough('home', 14)
  await openPad(person, `${suite.server.url}/p/${padName('keys')}`)
  await tabThrough('pad', 12)
  assert.deepEqual(bad, [], `focus not visible enough:\n${bad.join('\n')}\n(reached: ${seen.join(', ')})`)

  // The side panel closes and opens from the keyboard (it starts open on a wide screen).
  await page.focus('.side-toggle')
  await page.keyboard.press('Enter')
  await page.waitForSelector('#side[hidden]', { state: 'attached', timeout: WAIT_MS })
  await page.keyboard.press('Enter')
  await page.waitForSelector('#side:not([hidden])', { timeout: WAIT_MS })
  await assertClean(person)
})

test('other people\'s arrivals and edits are announced politely, and the announcements can be turned off', T, async () => {
  const name = padName('announce')
  const person = await suite.person({ name: 'Alice', lang: 'en' })
  const page = person.page
  await openPad(person, `${suite.server.url}/p/${name}`)
  const region = page.locator('.announcer[aria-live="polite"]')
  assert.equal(await region.count(), 1, 'one polite live region')

  const bob = await connect(suite.server.wsUrl, name, { label: 'Bob' })
  bob.provider.awareness.setLocalStateField('user', { name: 'Bob', color: '#3cb44b' })
  // The announcement names the editor from presence: Bob's name must have arrived before his edit.
  await page.waitForFunction(() => [...document.querySelectorAll('.people .person-name')].some((e) => e.textContent === 'Bob'), null, { timeout: WAIT_MS })
  bob.doc.getText('content').insert(0, 'Bonjour ')
  await waitText(page, 'Bonjour')
  await page.waitForFunction(() => /Bob edited the document\./.test(document.querySelector('.announcer').textContent), null, { timeout: WAIT_MS })

  // Turned off in the people panel (open on a wide screen); kept in this browser.
  await page.uncheck('#announce-toggle')
  assert.equal(await page.evaluate(() => localStorage.getItem('ardoise.announce')), 'off')
  assert.equal(await region.textContent(), '')
  bob.doc.getText('content').insert(0, 'Salut ')
  await waitText(page, 'Salut')
  // Proving that nothing is said needs the coalescing window to pass (4 s): a bounded wait.
  await page.waitForTimeout(5000)
  assert.equal(await region.textContent(), '', 'nothing is announced once turned off')
  await openPad(person, `${suite.server.url}/p/${name}`)
  assert.equal(await page.isChecked('#announce-toggle'), false, 'the choice is kept')
  bob.destroy()
  await assertClean(person)
})

test('admin in French: translated labels, French sizes, the notice title once, deleting asks in the page', T, async () => {
  const pad = padName('admin-fr')
  const writer = await suite.person({ name: 'Writer', lang: 'fr' })
  await openPad(writer, `${suite.server.url}/p/${pad}`)
  await writer.page.click('.cm-content')
  await writer.page.keyboard.insertText('x'.repeat(3000))
  await waitText(writer.page, 'xxxxxxxxxx')

  const op = await suite.person({ lang: 'fr', phone: true })
  const page = op.page
  page.on('dialog', (d) => { op.issues.push(`unexpected ${d.type()}()`); d.dismiss() })
  await page.goto(`${suite.server.url}/admin?lang=fr`)
  await page.fill('#token', TOKEN)
  await page.click('#login button[type=submit]')
  const row = page.locator('#docs tbody tr', { hasText: pad })
  await row.waitFor({ timeout: WAIT_MS })
  const text = await page.textContent('#panel')
  assert.match(text, /Documents enregistrés/)
  assert.match(text, /Délai de diffusion \(ms\)/)
  for (const raw of ['stored_documents', 'broadcast_delay_ms', 'memory_mib', 'KiB']) assert.ok(!text.includes(raw), `no raw "${raw}" on the French page`)
  assert.equal((await page.textContent('body')).split('Message à tous les pads ouverts').length - 1, 1, 'the notice title is said once')
  await page.waitForFunction((pad) => {
    const tr = [...document.querySelectorAll('#docs tbody tr')].find((r) => r.textContent.includes(pad))
    return tr && /^\d+,\d\u00a0Kio$/.test(tr.cells[2].textContent.replace(/^.*?(\d)/, '$1'))
  }, pad, { timeout: WAIT_MS })
  const [sw, iw] = await page.evaluate(() => [document.documentElement.scrollWidth, innerWidth])
  assert.ok(sw <= iw, `admin is ${sw}px wide at ${iw}px`)
  await screenshot(page, 'a11y-fr-phone-admin-list')

  await row.getByRole('button').click()
  await page.waitForSelector('#delete-dialog[open]', { timeout: WAIT_MS })
  assert.match(await page.textContent('#delete-title'), new RegExp(`« ${pad} »`))
  await page.fill('#delete-message', 'Fin de l’exercice')
  await page.click('#delete-confirm')
  await row.waitFor({ state: 'detached', timeout: WAIT_MS })
  await assertClean(op)
  writer.issues.length = 0 // its pad was deleted under it (4410): not this test's subject
})

test('on a phone: the share links show whole, the creator\'s calc header takes two rows at most, the chat button says what its numbers are', T, async () => {
  const person = await suite.person({ name: 'Claire', lang: 'fr', phone: true })
  const page = person.page
  const name = padName('phone')
  await openCalc(person, `${suite.server.url}/c/${name}`)
  assert.ok(await page.$('.delete-btn'), 'opened as its creator')
  const rows = await page.evaluate(() => {
    const header = document.querySelector('.pad-header')
    const boxes = [...header.querySelectorAll(':scope > *, .header-actions > *')]
      .filter((el) => !el.classList.contains('header-actions') && el.getClientRects().length)
      .map((el) => Math.round(el.getBoundingClientRect().top))
    return [...new Set(boxes.map((t) => Math.round(t / 12)))].length
  })
  assert.ok(rows <= 2, `the header takes ${rows} rows`)
  const chat = await page.evaluate(() => {
    const b = document.querySelector('.side-toggle')
    return { text: b.textContent, label: b.getAttribute('aria-label') }
  })
  assert.equal(chat.label, null, 'the button is named by its own text')
  assert.match(chat.text, /Discussion.*1 personne/)
  await screenshot(page, 'a11y-fr-phone-calc-header')

  await page.click('.share-btn')
  await page.waitForSelector('dialog[open] .link-input', { timeout: WAIT_MS })
  const fields = await page.$$eval('dialog[open] .link-input', (els) => els.map((e) => ({
    value: e.value, fits: e.scrollWidth <= e.clientWidth && e.scrollHeight <= e.clientHeight + 1
  })))
  assert.equal(fields.length, 2)
  for (const f of fields) assert.ok(f.fits, `the whole link shows: ${f.value}`)
  await screenshot(page, 'a11y-fr-phone-calc-share-links')
  await assertClean(person)
})
