// Opening a name (issue 18, E): "Open" of a missing name says so and offers to create it, in the
// page's language; a pad or calc visited but never typed into is not kept past its visit; the
// refusal pages of pads and calcs while creation is closed, with partner links of the right kind.
//
// Run from the repo root:
//   ARDOISE_BIN=$CARGO_TARGET_DIR/debug/ardoise node --test --test-concurrency=1 tests/browser/opening.test.mjs

import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'

import {
  browserSuite, openPad, openCalc, screenshot, assertClean, padName, serverLogs,
  waitConnected, WAIT_MS, DESKTOP, PHONE
} from './helpers.mjs'

const T = { timeout: 120_000 }
// The statuses these pages answer with on purpose, which Chromium logs as console errors.
const MISSING = /status of 404 \(Not Found\) \(http:\/\/[^)]*\/open\?/
const BAD_NAME = /status of 400 \(Bad Request\) \(http:\/\/[^)]*\/open\?/
const REFUSED = /status of 503 \(Service Unavailable\) \(http:\/\/[^)]*\/[pc]\/[a-z]+-refuse-/

/** Resolves once the server's log holds a line matching every pattern (polled: the log is a file of lines). */
async function waitLog (server, ...patterns) {
  const deadline = Date.now() + WAIT_MS
  for (;;) {
    if (server.logs().split('\n').some((l) => patterns.every((p) => l.includes(p)))) return
    if (Date.now() > deadline) throw new Error(`no log line with ${patterns.join(' & ')}\n${serverLogs()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Status and location of GET /open?name=… without following redirects. */
async function openAnswer (server, name, lang = 'en') {
  const res = await fetch(`${server.url}/open?name=${encodeURIComponent(name)}&lang=${lang}`, { redirect: 'manual' })
  return { status: res.status, location: res.headers.get('location') }
}

describe('opening', () => {
  // A short unload grace, long enough for a page to join the document it just created.
  const suite = browserSuite({ args: ['--unload-grace-secs', '2'] })

  test('a pad visited and left without typing is gone; a typed one is kept', T, async () => {
    const server = suite.server
    const idle = padName('visite')
    const p = await suite.person({ name: 'Léa', lang: 'fr' })
    await openPad(p, `${server.url}/p/${idle}?lang=fr`)
    await assertClean(p)
    await p.page.goto('about:blank')
    await waitLog(server, 'untouched document erased', `doc=${idle}`)
    assert.equal((await openAnswer(server, idle)).status, 404)

    const typed = padName('tape')
    await openPad(p, `${server.url}/p/${typed}?lang=fr`)
    await p.page.click('.cm-content')
    await p.page.keyboard.type('une ligne')
    await p.page.waitForFunction(() => document.querySelector('.status')?.dataset.state === 'connected' &&
      window.ardoise.view.state.doc.toString().includes('une ligne'))
    await assertClean(p)
    await p.page.goto('about:blank')
    await waitLog(server, 'room unloaded', `doc=${typed}`)
    assert.deepEqual(await openAnswer(server, typed, 'fr'), { status: 303, location: `/p/${typed}?lang=fr` })
  })

  test('a calc visited and left without typing is gone (its first sheet is not typing)', T, async () => {
    const server = suite.server
    const idle = padName('calc-visite')
    const p = await suite.person({ name: 'Léa', lang: 'en' })
    await openCalc(p, `${server.url}/c/${idle}?lang=en`)
    await assertClean(p)
    await p.page.goto('about:blank')
    await waitLog(server, 'untouched document erased', `doc=${idle}`)
    assert.equal((await openAnswer(server, idle)).status, 404)
  })

  test('Open of a missing name says so, offers the near name and creates it on demand', T, async () => {
    const server = suite.server
    // An existing document, made through the home form.
    const p = await suite.person({ name: 'Léa', lang: 'fr', allow: [MISSING] })
    const stem = padName('sortie')
    const existing = `${stem}-musee`
    await p.page.goto(`${server.url}/?lang=fr`)
    await p.page.fill('#new-name', existing)
    await Promise.all([p.page.waitForURL(new RegExp(`/p/${existing}`)), p.page.click('button[name="kind"][value="pad"]')])
    await waitConnected(p.page)

    const typo = `${stem}-muse`
    for (const [lang, viewport] of [['fr', DESKTOP], ['fr', PHONE], ['en', DESKTOP], ['en', PHONE]]) {
      await p.page.setViewportSize(viewport)
      await p.page.goto(`${server.url}/?lang=${lang}`)
      await p.page.fill('#open-name', typo)
      await Promise.all([p.page.waitForURL(/\/open\?/), p.page.click('form[action="/open"] button[type="submit"]')])
      const heading = await p.page.textContent('main h2')
      assert.equal(heading, lang === 'fr' ? `«\u00a0${typo}\u00a0» n’existe pas` : `“${typo}” does not exist`)
      assert.equal(await p.page.getAttribute('html', 'lang'), lang)
      const near = await p.page.getAttribute('.near-names a', 'href')
      assert.equal(near, `/p/${existing}?lang=${lang}`)
      assert.equal(await p.page.getAttribute('main form', 'action'), `/new?lang=${lang}`)
      assert.equal(await p.page.getAttribute(`main a[href="/?lang=${lang}"]`, 'href'), `/?lang=${lang}`)
      const width = await p.page.evaluate(() => document.documentElement.scrollWidth)
      assert.ok(width <= viewport.width, `page is ${width}px wide at ${viewport.width}px`)
      await screenshot(p.page, `open-missing-${lang}-${viewport === PHONE ? 'phone' : 'desktop'}`, { fullPage: true })
    }
    // Asking created nothing.
    assert.equal((await openAnswer(server, typo)).status, 404)
    // Create it from there: the pad opens, in the page's language.
    await p.page.goto(`${server.url}/open?name=${typo}&lang=fr`)
    await Promise.all([p.page.waitForURL(new RegExp(`/p/${typo}`)), p.page.click('button[name="kind"][value="pad"]')])
    await waitConnected(p.page)
    assert.equal(await p.page.getAttribute('html', 'lang'), 'fr')
    assert.deepEqual(await openAnswer(server, typo, 'fr'), { status: 303, location: `/p/${typo}?lang=fr` })
    await assertClean(p)
  })

  test('the Open field says what a name may contain, in the page’s language', T, async () => {
    const server = suite.server
    for (const lang of ['fr', 'en']) {
      const p = await suite.person({ lang, allow: [BAD_NAME] })
      await p.page.goto(`${server.url}/?lang=${lang}`)
      const title = await p.page.getAttribute('#open-name', 'title')
      assert.match(title, lang === 'fr' ? /lettres sans accent.*sans espace/ : /letters without accents.*no spaces/)
      await p.page.fill('#open-name', 'sortie musée')
      await p.page.click('form[action="/open"] button[type="submit"]')
      // The browser keeps the form: the field is invalid and nothing was asked of the server.
      assert.equal(await p.page.evaluate(() => document.querySelector('#open-name').validity.patternMismatch), true)
      assert.match(p.page.url(), new RegExp(`/\\?lang=${lang}$`))
      // The server's 400 says the same.
      const res = await p.page.goto(`${server.url}/open?name=${encodeURIComponent('sortie musée')}&lang=${lang}`)
      assert.equal(res.status(), 400)
      assert.equal(await p.page.textContent('#name-rule'), title)
      await assertClean(p)
    }
  })
})

describe('refusal pages while creation is closed', () => {
  const config = join(tmpdir(), `ardoise-opening-${process.pid}.toml`)
  writeFileSync(config, [
    '[[trusted_hosts]]',
    'name = "Pads only"',
    'url = "https://pads.example.org/p/{name}"',
    '',
    '[[trusted_hosts]]',
    'name = "Pads and calcs"',
    'url = "https://both.example.org/p/{name}"',
    'calc_url = "https://both.example.org/c/{name}"',
    ''
  ].join('\n'))
  const suite = browserSuite({ args: ['--shedding-mode', 'closed', '--config', config] })

  test('a refused calc says calcs are paused and offers partner calcs; a pad, pads', T, async () => {
    const server = suite.server
    for (const lang of ['fr', 'en']) {
      for (const viewport of [DESKTOP, PHONE]) {
        const p = await suite.person({ lang, viewport, allow: [REFUSED] })
        const calc = padName('calc-refuse')
        let res = await p.page.goto(`${server.url}/c/${calc}?lang=${lang}`)
        assert.equal(res.status(), 503)
        assert.equal(await p.page.getAttribute('html', 'lang'), lang)
        assert.equal(await p.page.textContent('main h2'), lang === 'fr' ? 'Création de tableurs suspendue' : 'New calcs are paused')
        let links = await p.page.$$eval('.hosts a', (as) => as.map((a) => a.href))
        assert.deepEqual(links, [`https://both.example.org/c/${calc}`])
        assert.equal(await p.page.getAttribute('.hosts input[name="kind"]', 'value'), 'calc')
        assert.equal(await p.page.getAttribute('.hosts input[name="lang"]', 'value'), lang)
        assert.ok(await p.page.$(`main a[href="/?lang=${lang}"]`), 'the way back keeps the language')
        const size = viewport === PHONE ? 'phone' : 'desktop'
        await screenshot(p.page, `refused-calc-${lang}-${size}`, { fullPage: true })

        const pad = padName('pad-refuse')
        res = await p.page.goto(`${server.url}/p/${pad}?lang=${lang}`)
        assert.equal(res.status(), 503)
        assert.equal(await p.page.textContent('main h2'), lang === 'fr' ? 'Création de pads suspendue' : 'New pads are paused')
        links = await p.page.$$eval('.hosts a', (as) => as.map((a) => a.href))
        assert.deepEqual(links, [`https://pads.example.org/p/${pad}`, `https://both.example.org/p/${pad}`])
        await screenshot(p.page, `refused-pad-${lang}-${size}`, { fullPage: true })

        // The closed home page links to the partners' home pages, never to an empty name.
        await p.page.goto(`${server.url}/?lang=${lang}`)
        links = await p.page.$$eval('.hosts a', (as) => as.map((a) => a.href))
        assert.deepEqual(links, ['https://pads.example.org/', 'https://both.example.org/'])
        await assertClean(p)
      }
    }
  })
})
