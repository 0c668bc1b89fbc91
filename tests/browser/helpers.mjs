// Helpers for the browser suite: drive Debian's Chromium with playwright-core against the real
// ardoise binary, read what a person would see (computed styles), and collect every console
// error, page error and CSP violation so that each test can assert there were none. The server
// and the stock Yjs clients are the Node suite's (../clients.mjs), re-exported here.
//
// This file must not match node --test's file patterns (*.test.mjs, ...).

import { existsSync, mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

import assert from 'node:assert/strict'
import { before, after } from 'node:test'

import { chromium } from 'playwright-core'

import { destroyAllClients, serverLogs, startServer, WAIT_MS } from '../clients.mjs'

export {
  Y, WebsocketProvider, WebSocket, freshDataDir, serverLogs, startServer, WAIT_MS,
  makeClient, synced, connect, waitFor, destroyAllClients
} from '../clients.mjs'

export const CHROMIUM = '/usr/bin/chromium'
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'
]
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const SCREENSHOTS = join(REPO, 'target', 'screenshots')

/** Launch Debian's Chromium (fails with a clear message when it is not installed). */
export async function launchBrowser () {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium)`)
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true })
}

/** A unique, valid pad name. */
let padCounter = 0
export function padName (prefix = 'pad') {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${padCounter++}`
}

export const DESKTOP = { width: 1280, height: 800 }
export const PHONE = { width: 375, height: 740 }

/**
 * A new browser context (its own localStorage: a separate person) and page. The person's identity
 * is stored before the first page load; later reloads keep whatever the page saved.
 * Console errors, page errors and CSP violations are collected in `issues`.
 * @param {import('playwright-core').Browser} browser
 * @param {{name?: string, color?: string, id?: string, viewport?: {width:number,height:number}, lang?: string, phone?: boolean, allow?: RegExp[], timezoneId?: string}} who
 */
export async function newPerson (browser, who = {}) {
  const phone = who.phone ?? false
  const context = await browser.newContext({
    viewport: who.viewport ?? (phone ? PHONE : DESKTOP),
    deviceScaleFactor: phone ? 2 : 1,
    isMobile: phone,
    hasTouch: phone,
    locale: who.lang === 'en' ? 'en-GB' : 'fr-FR',
    ...(who.timezoneId ? { timezoneId: who.timezoneId } : {})
  })
  const identity = who.name
    ? JSON.stringify({ id: who.id ?? Math.random().toString(16).slice(2).padEnd(16, '0'), name: who.name, color: who.color ?? '#4363d8' })
    : null
  await context.addInitScript(({ identity, lang }) => {
    try {
      if (identity && !localStorage.getItem('ardoise.author')) localStorage.setItem('ardoise.author', identity)
      if (lang && !localStorage.getItem('ardoise.lang')) localStorage.setItem('ardoise.lang', lang)
    } catch {}
    window.__cspViolations = []
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`)
    })
  }, { identity, lang: who.lang ?? null })
  const page = await context.newPage()
  const issues = []
  const allow = who.allow ?? []
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return
    const text = `${msg.text()} (${msg.location().url || 'no url'})`
    if (allow.some((re) => re.test(text))) return
    issues.push(`console error: ${text}`)
  })
  page.on('pageerror', (err) => issues.push(`page error: ${err.message}\n${err.stack ?? ''}`))
  page.on('crash', () => issues.push('renderer crashed'))
  return {
    context,
    page,
    issues,
    label: who.name ?? 'anonymous',
    /** Page errors, console errors and CSP violations seen so far (CSP ones are read from the page). */
    async problems () {
      let csp = []
      try {
        csp = await page.evaluate(() => window.__cspViolations ?? [])
      } catch {}
      return [...issues, ...csp.map((v) => `CSP violation: ${v}`)]
    }
  }
}

/**
 * One server and one Chromium shared by the tests of a file: started before them (the server
 * with `serverOptions`, as `startServer` takes them), and after them every person's context,
 * every stock client, the browser and the server are closed. `suite.person(who)` opens a person
 * with `defaults` under `who`; `suite.server` and `suite.browser` are set once the tests run.
 * @param {object} serverOptions
 * @param {object} defaults
 */
export function browserSuite (serverOptions = {}, defaults = {}) {
  const people = []
  const suite = {
    server: null,
    browser: null,
    async person (who = {}) {
      const p = await newPerson(suite.browser, { ...defaults, ...who })
      people.push(p)
      return p
    }
  }
  before(async () => {
    suite.server = await startServer(serverOptions)
    suite.browser = await launchBrowser()
  })
  after(async () => {
    destroyAllClients()
    for (const p of people) await p.context.close().catch(() => {})
    if (suite.browser) await suite.browser.close()
    if (suite.server) await suite.server.stop()
  })
  return suite
}

/** Open a page and wait for the editor and the "connected" state. */
export async function openPad (person, url) {
  const res = await person.page.goto(url)
  if (!res || res.status() !== 200) throw new Error(`GET ${url} answered ${res && res.status()}`)
  await waitConnected(person.page)
  return res
}

export async function waitConnected (page, timeout = WAIT_MS) {
  await page.waitForSelector('.cm-content', { timeout })
  await page.waitForFunction(() => document.querySelector('.status')?.dataset.state === 'connected', null, { timeout })
}

/** The editor's text as CodeMirror holds it. */
export function editorText (page) {
  return page.evaluate(() => window.ardoise.view.state.doc.toString())
}

/** Wait until the editor's text satisfies `pred` (evaluated in the page on each frame). */
export async function waitText (page, includes, timeout = WAIT_MS) {
  try {
    await page.waitForFunction((s) => window.ardoise && window.ardoise.view.state.doc.toString().includes(s), includes, { timeout })
  } catch (e) {
    throw new Error(`timed out waiting for the editor to contain ${JSON.stringify(includes)}; it has ${JSON.stringify(await editorText(page).catch(() => '?'))}\n${e.message}`)
  }
}

/** Put the caret at the end of the document and type. */
export async function typeAtEnd (page, text) {
  await page.click('.cm-content')
  await page.keyboard.press('Control+End')
  await page.keyboard.type(text)
}

/**
 * What a person sees of the first rendered occurrence of `text` in the editor: the computed style
 * of the element around it, the classes of its line, the href of an enclosing link.
 */
export function lookOf (page, text) {
  return page.evaluate((text) => {
    const root = document.querySelector('.cm-content')
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT)
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (!n.data.includes(text)) continue
      const el = n.parentElement
      const cs = getComputedStyle(el)
      const line = el.closest('.cm-line')
      const a = el.closest('a')
      return {
        tag: el.tagName.toLowerCase(),
        classes: el.className,
        fontWeight: Number(cs.fontWeight),
        fontStyle: cs.fontStyle,
        fontSize: parseFloat(cs.fontSize),
        textDecoration: cs.textDecorationLine,
        backgroundColor: cs.backgroundColor,
        lineClasses: line ? line.className : null,
        lineFontSize: line ? parseFloat(getComputedStyle(line).fontSize) : null,
        lineBefore: line ? getComputedStyle(line, '::before').content : null,
        href: a ? a.getAttribute('href') : null
      }
    }
    return null
  }, text)
}

/** Wait until `text` is rendered and `pred(look)` holds; returns the look. */
export async function waitLook (page, text, pred, what, timeout = WAIT_MS) {
  const deadline = Date.now() + timeout
  let look = null
  for (;;) {
    look = await lookOf(page, text)
    if (look && pred(look)) return look
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${JSON.stringify(text)} to look ${what}; it looks ${JSON.stringify(look)}`)
    }
    await page.waitForTimeout(50) // re-read the DOM; the deadline is the failure guard
  }
}

/** [r, g, b, a] of a CSS rgb()/rgba() colour. */
export function parseColor (css) {
  const m = /rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)/.exec(css)
  if (!m) return null
  return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])]
}

/** True when the CSS colour `css` has the RGB of `hex` (#rrggbb) with some opacity. */
export function sameHue (css, hex) {
  const c = parseColor(css)
  if (!c || c[3] === 0) return false
  const n = parseInt(hex.slice(1), 16)
  return c[0] === ((n >> 16) & 255) && c[1] === ((n >> 8) & 255) && c[2] === (n & 255)
}

/** Save a screenshot under target/screenshots/ and return its path. */
export async function screenshot (page, name, opts = {}) {
  mkdirSync(SCREENSHOTS, { recursive: true })
  const path = join(SCREENSHOTS, `${name}.png`)
  await page.screenshot({ path, ...opts })
  return path
}

/** Fails with every console error or CSP violation the people's pages had, and the server log. */
export async function assertClean (...people) {
  for (const p of people) {
    const problems = await p.problems()
    assert.deepEqual(problems, [], `${p.label}'s page had errors:\n${problems.join('\n')}\n${serverLogs()}`)
  }
}

// ---- the calc page ---------------------------------------------------------------------------

/** Open a calc page and wait until it is connected and IronCalc has evaluated it. */
export async function openCalc (person, url) {
  const res = await person.page.goto(url)
  if (!res || res.status() !== 200) throw new Error(`GET ${url} answered ${res && res.status()}`)
  await waitCalcReady(person.page)
  return res
}

/** Wait until the calc page on screen is connected and IronCalc has evaluated it. */
/** Opens the calc at `url` for each person in turn (each page ready); returns their pages. */
export async function openCalcs (url, ...people) {
  for (const p of people) await openCalc(p, url)
  return people.map((p) => p.page)
}

export async function waitCalcReady (page) {
  await page.waitForSelector('.grid-scroll', { timeout: WAIT_MS })
  await page.waitForFunction(() => document.querySelector('.status')?.dataset.state === 'connected', null, { timeout: WAIT_MS })
  await page.waitForFunction(() => document.querySelectorAll('.sheet-tab').length >= 1 && document.querySelector('.calc-notice')?.hidden, null, { timeout: WAIT_MS })
}

/** Select (row, col), 0-based, and type `text` then Enter, as a person would. */
export async function typeCell (page, row, col, text) {
  await page.evaluate(([r, c]) => { window.ardoise.grid.select(r, c); window.ardoise.grid.focus() }, [row, col])
  await page.keyboard.type(text)
  await page.keyboard.press('Enter')
}

/** Wait until the computed text of (row, col) on the sheet on screen is `text`. */
export async function waitCellText (page, row, col, text, timeout = WAIT_MS) {
  try {
    await page.waitForFunction(([r, c, want]) => {
      const v = window.ardoise && window.ardoise.value(r, c)
      return v ? v.text === want : want === null
    }, [row, col, text], { timeout })
  } catch (e) {
    const got = await page.evaluate(([r, c]) => window.ardoise.value(r, c), [row, col]).catch(() => '?')
    throw new Error(`cell (${row},${col}) never showed ${JSON.stringify(text)}; it has ${JSON.stringify(got)}\n${e.message}`)
  }
}
