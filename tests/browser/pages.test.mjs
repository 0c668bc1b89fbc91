// Server-rendered pages in real Chromium: home (create / open a pad), the 400 page for an invalid
// name, the 404 page; all styled by /assets/app.css, no console error, no CSP violation.
//
// Run from the repo root:  ARDOISE_BIN=target/debug/ardoise node --test tests/browser/*.test.mjs

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'

import { startServer, launchBrowser, newPerson, waitConnected, screenshot, padName, serverLogs } from './helpers.mjs'

const T = { timeout: 90_000 }
let server
let browser

before(async () => {
  server = await startServer()
  browser = await launchBrowser()
})

after(async () => {
  if (browser) await browser.close()
  if (server) await server.stop()
})

async function assertClean (p) {
  const problems = await p.problems()
  assert.deepEqual(problems, [], `page had errors:\n${problems.join('\n')}\n${serverLogs()}`)
}

/** The stylesheet really applied (not a bare unstyled page). */
async function assertStyled (page) {
  const font = await page.evaluate(() => getComputedStyle(document.body).fontFamily)
  assert.match(font, /system-ui/, `app.css is applied (body font: ${font})`)
}

test('the home page creates a pad with the chosen name and opens an existing one', T, async () => {
  const p = await newPerson(browser, { name: 'Gaston', lang: 'fr' })
  try {
    const res = await p.page.goto(server.url + '/', { waitUntil: 'load' })
    assert.equal(res.status(), 200)
    await assertStyled(p.page)
    await screenshot(p.page, 'home-desktop', { fullPage: true })
    const name = padName('depuis-accueil')
    await p.page.fill('#new-name', name)
    await Promise.all([p.page.waitForURL(new RegExp(`/p/${name}`)), p.page.click('form[action^="/new?"] button[type="submit"]')])
    await waitConnected(p.page)
    await p.page.keyboard.type('créé depuis l’accueil')

    // open it again by name from the home page
    await p.page.goto(server.url + '/')
    await p.page.fill('#open-name', name)
    await Promise.all([p.page.waitForURL(new RegExp(`/p/${name}`)), p.page.click('form[action="/open"] button[type="submit"]')])
    await waitConnected(p.page)
    await p.page.waitForFunction(() => window.ardoise.view.state.doc.toString().includes('accueil'))

    // an empty name gives a random, unguessable one
    await p.page.goto(server.url + '/')
    await Promise.all([p.page.waitForURL(/\/p\/[A-Za-z0-9_.-]{10,}/), p.page.click('form[action^="/new?"] button[type="submit"]')])
    await waitConnected(p.page)
    await assertClean(p)
  } finally {
    await p.context.close()
  }
})

test('the home page on a 375 px phone', T, async () => {
  const p = await newPerson(browser, { phone: true, lang: 'en' })
  try {
    await p.page.goto(server.url + '/?lang=en')
    await assertStyled(p.page)
    const width = await p.page.evaluate(() => document.documentElement.scrollWidth)
    assert.ok(width <= 375, `home is ${width}px wide on a phone`)
    await screenshot(p.page, 'home-phone', { fullPage: true })
    await assertClean(p)
  } finally {
    await p.context.close()
  }
})

test('an invalid name gets a 400 page that explains the allowed characters', T, async () => {
  const p = await newPerson(browser, { lang: 'en', allow: [/status of 400/] })
  try {
    for (const bad of ['bad%20name', 'caf%C3%A9', 'a'.repeat(101), 'x%3Cscript%3E']) {
      const res = await p.page.goto(`${server.url}/p/${bad}`)
      assert.equal(res.status(), 400, `GET /p/${bad}`)
      const text = await p.page.textContent('body')
      assert.match(text, /A[-–]Z/, `the 400 page explains the allowed characters: ${text}`)
      assert.equal(await p.page.$('script'), null)
    }
    await assertStyled(p.page)
    await p.page.goto(`${server.url}/p/bad%20name`)
    await screenshot(p.page, 'error-400')
    await assertClean(p)
  } finally {
    await p.context.close()
  }
})

test('an unknown route gets a 404 page', T, async () => {
  const p = await newPerson(browser, { lang: 'fr', allow: [/status of 404/] })
  try {
    const res = await p.page.goto(`${server.url}/nulle/part`)
    assert.equal(res.status(), 404)
    await assertStyled(p.page)
    await screenshot(p.page, 'error-404')
    await assertClean(p)
  } finally {
    await p.context.close()
  }
})
