// One language choice (issue 18), in Chromium: French chosen on the home page holds through
// "Créer le pad" into the pad page, a switch in the page translates the footer too and travels
// in the address, and times are shown in the reader's own time zone.
//
// Run from the repo root:  ARDOISE_BIN=target/debug/ardoise node --test tests/browser/language.test.mjs

import { test } from 'node:test'
import assert from 'node:assert/strict'

import { browserSuite, waitConnected, waitCalcReady, screenshot, assertClean, padName, DESKTOP, PHONE, WAIT_MS } from './helpers.mjs'

const T = { timeout: 120_000 }
const suite = browserSuite()
// A person whose browser asks for English pages and lives in Paris.
const ENGLISH_IN_PARIS = { name: 'Zoé', lang: 'en', timezoneId: 'Europe/Paris' }

/** What the expiry footer should say of its `<time>` for a reader in Paris, in `lang`. */
async function parisTime (page, lang) {
  const iso = await page.getAttribute('#expiry time', 'datetime')
  assert.ok(iso, 'the expiry moment is a <time datetime>')
  return spaces(new Intl.DateTimeFormat(lang, { dateStyle: 'long', timeStyle: 'short', timeZone: 'Europe/Paris' }).format(new Date(iso)))
}

/** `s` with every kind of space as a plain one (Node's and Chromium's ICU may differ there). */
function spaces (s) {
  return s.replace(/\s/g, ' ')
}

/** The text of the expiry footer's `<time>`. */
async function shownTime (page) {
  return spaces(await page.textContent('#expiry time'))
}

test('French chosen on the home page holds through "Créer le pad", with times in Paris time', T, async () => {
  const p = await suite.person(ENGLISH_IN_PARIS)
  const page = p.page
  await page.goto(suite.server.url + '/?lang=fr')
  assert.equal(await page.getAttribute('html', 'lang'), 'fr')
  const name = padName('lecon')
  await page.fill('#new-name', name)
  await page.click('button[name="kind"][value="pad"]')
  await page.waitForURL((u) => u.pathname === `/p/${name}`, { timeout: WAIT_MS })
  await waitConnected(page)
  assert.equal(new URL(page.url()).searchParams.get('lang'), 'fr')
  assert.equal(await page.getAttribute('html', 'lang'), 'fr')
  assert.equal(await page.getAttribute('.share-btn', 'aria-label'), 'Partager')
  assert.match(await page.textContent('.side-title'), /^Personnes connectées/)
  const footer = await page.textContent('#expiry')
  assert.match(footer, /^Sans modification, ce pad sera effacé le /)
  assert.equal(await shownTime(page), await parisTime(page, 'fr'))
  assert.doesNotMatch(footer, /UTC/, footer)
  // Going home from the pad keeps French.
  assert.equal(await page.getAttribute('a.brand', 'href'), '/?lang=fr')
  await assertClean(p)
})

test('switching a pad to French in the page translates the footer and keeps the choice', T, async () => {
  const p = await suite.person(ENGLISH_IN_PARIS)
  const page = p.page
  const name = padName('switch')
  await page.goto(`${suite.server.url}/p/${name}`)
  await waitConnected(page)
  assert.match(await page.textContent('#expiry'), /^If nobody edits it, this pad will be erased on /)
  assert.equal(await shownTime(page), await parisTime(page, 'en'))
  await page.selectOption('select.lang', 'fr')
  assert.match(await page.textContent('#expiry'), /^Sans modification, ce pad sera effacé le .* \(\d+ jours après la dernière modification\)\.$/)
  assert.equal(await shownTime(page), await parisTime(page, 'fr'))
  assert.equal(new URL(page.url()).searchParams.get('lang'), 'fr', 'the address carries the choice')
  // The home page reached from the pad is French, though the browser asks for English.
  await page.click('a.brand')
  await page.waitForURL((u) => u.pathname === '/', { timeout: WAIT_MS })
  assert.equal(await page.getAttribute('html', 'lang'), 'fr')
  assert.match(await page.textContent('.tagline'), /Écrire à plusieurs/)
  await assertClean(p)
})

test('switching a calc to French translates its footer', T, async () => {
  const p = await suite.person(ENGLISH_IN_PARIS)
  const page = p.page
  await page.goto(`${suite.server.url}/c/${padName('notes')}`)
  await waitCalcReady(page)
  assert.match(await page.textContent('#expiry'), /^If nobody edits it, this calc will be erased/)
  await page.selectOption('select.lang', 'fr')
  assert.match(await page.textContent('#expiry'), /^Sans modification, ce tableur sera effacé le /)
  assert.equal(await shownTime(page), await parisTime(page, 'fr'))
  await page.reload()
  await waitCalcReady(page)
  assert.match(await page.textContent('#expiry'), /^Sans modification, ce tableur/, 'a reload keeps French')
  await assertClean(p)
})

test('screenshots: home, pad, calc and error pages at both widths, in French and English', T, async () => {
  const pad = padName('vue')
  const calc = padName('vue-calc')
  for (const lang of ['fr', 'en']) {
    for (const [width, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
      const p = await suite.person({ lang, viewport, phone: viewport === PHONE, timezoneId: 'Europe/Paris', allow: [/status of 40[04]/] })
      const page = p.page
      const shots = [
        ['home', '/', null],
        ['pad', `/p/${pad}`, waitConnected],
        ['calc', `/c/${calc}`, waitCalcReady],
        ['400', '/p/bad!name', null],
        ['404', '/nowhere', null]
      ]
      for (const [what, path, ready] of shots) {
        await page.goto(`${suite.server.url}${path}?lang=${lang}`)
        if (ready) await ready(page)
        assert.equal(await page.getAttribute('html', 'lang'), lang, `${what} in ${lang}`)
        await screenshot(page, `language-${what}-${lang}-${width}`)
      }
      await assertClean(p)
    }
  }
})
