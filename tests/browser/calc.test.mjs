// The calc page in real Chromium against the real server (issue 9): two people fill a sheet,
// each in their language, and see each other's values, formula results (computed by IronCalc's
// wasm in each browser) and selections; a TSV block pasted as from LibreOffice; no console error
// or CSP violation anywhere.
//
// Run from the repo root:  ARDOISE_BIN=target/debug/ardoise node --test tests/browser/calc.test.mjs

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'

import { startServer, launchBrowser, newPerson, padName, screenshot, sameHue, serverLogs, WAIT_MS } from './helpers.mjs'

const T = { timeout: 120_000 }
const ALICE = { name: 'Alice', color: '#e6194b', id: 'a11ce0000000000000000000000000a1', lang: 'fr' }
const BOB = { name: 'Bob', color: '#3cb44b', id: 'b0b0000000000000000000000000b0b0', lang: 'en' }

let server
let browser
const people = []

before(async () => {
  server = await startServer()
  browser = await launchBrowser()
})

after(async () => {
  for (const p of people) await p.context.close().catch(() => {})
  if (browser) await browser.close()
  if (server) await server.stop()
})

async function person (who) {
  const p = await newPerson(browser, who)
  people.push(p)
  return p
}

async function openCalc (p, url) {
  const res = await p.page.goto(url)
  assert.equal(res && res.status(), 200)
  await p.page.waitForSelector('.grid-scroll', { timeout: WAIT_MS })
  await p.page.waitForFunction(() => document.querySelector('.status')?.dataset.state === 'connected', null, { timeout: WAIT_MS })
  // the first sheet exists and the engine has evaluated it
  await p.page.waitForFunction(() => document.querySelectorAll('.sheet-tab').length >= 1 && document.querySelector('.calc-notice')?.hidden, null, { timeout: WAIT_MS })
}

/** Select (row, col), 0-based, and type `text` then Enter, as a person would. */
async function typeAt (page, row, col, text) {
  await page.evaluate(([r, c]) => { window.ardoise.grid.select(r, c); window.ardoise.grid.focus() }, [row, col])
  await page.keyboard.type(text)
  await page.keyboard.press('Enter')
}

/** Wait until the displayed text of (row, col) is `text`, in the DOM the person sees. */
async function waitCell (page, row, col, text) {
  try {
    await page.waitForFunction(([r, c, want]) => {
      const v = window.ardoise && window.ardoise.value(r, c)
      if (!v || v.text !== want) return false
      return [...document.querySelectorAll('.grid-cells .cell')].some((el) => el.textContent === want)
    }, [row, col, text], { timeout: WAIT_MS })
  } catch (e) {
    const got = await page.evaluate(([r, c]) => window.ardoise.value(r, c), [row, col]).catch(() => '?')
    throw new Error(`cell (${row},${col}) never showed ${JSON.stringify(text)}; it has ${JSON.stringify(got)}\n${e.message}`)
  }
}

async function assertClean (...ps) {
  for (const p of ps) {
    const problems = await p.problems()
    assert.deepEqual(problems, [], `${p.label}'s page had errors:\n${problems.join('\n')}\n${serverLogs()}`)
  }
}

test('two people fill a sheet: values, formulas in both languages, selections, pasted TSV', T, async () => {
  const url = `${server.url}/c/${padName('notes')}`
  const alice = await person(ALICE)
  const bob = await person(BOB)
  await openCalc(alice, url)
  await openCalc(bob, url)
  const a = alice.page
  const b = bob.page

  // Alice (French) types numbers with a decimal comma and a French formula.
  await typeAt(a, 0, 0, '12')
  await typeAt(a, 1, 0, '30,5')
  await typeAt(a, 2, 0, '=SOMME(A1:A2)')
  await waitCell(a, 2, 0, '42,5')
  // Bob (English) sees the same numbers with his decimal point, and the formula in English.
  await waitCell(b, 2, 0, '42.5')
  await b.evaluate(() => { window.ardoise.grid.select(2, 0); window.ardoise.grid.focus() })
  await b.waitForFunction(() => document.querySelector('#formula-bar').value === '=SUM(A1:A2)', null, { timeout: WAIT_MS })

  // Bob writes a formula over Alice's cells; Alice sees its result.
  await typeAt(b, 0, 1, '=A3*2')
  await waitCell(a, 0, 1, '85')

  // Bob inserts a row above row 2: the formula follows (A1:A3), nothing moves.
  await b.evaluate(() => { window.ardoise.grid.select(1, 0); window.ardoise.grid.focus() })
  await b.click('.tb-row-above')
  await waitCell(a, 3, 0, '42,5')
  await typeAt(a, 1, 0, '7,5')
  await waitCell(b, 3, 0, '50')
  await waitCell(b, 0, 1, '100')

  // Bob's selection is outlined on Alice's screen, in his colour, with his name.
  await b.evaluate(() => { window.ardoise.grid.select(4, 2, 6, 3); window.ardoise.grid.focus() })
  const outline = await a.waitForSelector('.remote-sel', { timeout: WAIT_MS })
  assert.equal(await outline.textContent(), 'Bob')
  const border = await a.evaluate(() => getComputedStyle(document.querySelector('.remote-sel')).borderTopColor)
  assert.ok(sameHue(border, BOB.color), `Bob's outline colour on Alice's page: ${border}`)

  // Alice pastes a TSV block (as LibreOffice copies it) at E1; Bob sees it, formulas computed.
  await a.evaluate(() => { window.ardoise.grid.select(0, 4); window.ardoise.grid.focus() })
  await a.evaluate(() => {
    const dt = new DataTransfer()
    dt.setData('text/plain', 'Nom\tNote\r\nAda\t15,5\r\nAlan\t12\r\nMoyenne\t=MOYENNE(F2:F3)\r\n')
    document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }))
  })
  await waitCell(b, 2, 4, 'Alan')
  await waitCell(b, 1, 5, '15.5')
  await waitCell(b, 3, 5, '13.75')
  await waitCell(a, 3, 5, '13,75')

  // Bold from the toolbar shows on the other screen.
  await a.evaluate(() => { window.ardoise.grid.select(0, 4, 0, 5); window.ardoise.grid.focus() })
  await a.keyboard.press('Control+b')
  await b.waitForFunction(() => [...document.querySelectorAll('.grid-cells .cell.b')].some((el) => el.textContent === 'Nom'), null, { timeout: WAIT_MS })

  // Bob copies the block back out as TSV, values as displayed (what LibreOffice pastes).
  const tsv = await b.evaluate(() => {
    window.ardoise.grid.select(0, 4, 3, 5)
    window.ardoise.grid.focus()
    const dt = new DataTransfer()
    document.dispatchEvent(new ClipboardEvent('copy', { clipboardData: dt, bubbles: true, cancelable: true }))
    return dt.getData('text/plain')
  })
  assert.equal(tsv, 'Nom\tNote\nAda\t15.5\nAlan\t12\nMoyenne\t13.75\n')

  // The read-only link shows the live sheet and refuses typing.
  const path = await a.evaluate(() => document.getElementById('app').dataset.readonlyPath)
  const carol = await person({ name: 'Carol', color: '#4363d8', lang: 'en' })
  await openCalc(carol, server.url + path)
  const c = carol.page
  await waitCell(c, 3, 5, '13.75')
  await typeAt(c, 10, 0, 'intruder')
  assert.equal(await c.evaluate(() => document.querySelector('.grid-editor').hidden), true)
  await typeAt(a, 10, 1, 'seen live')
  await waitCell(c, 10, 1, 'seen live')
  assert.equal(await a.evaluate(() => window.ardoise.value(10, 0)), null, 'nothing typed read-only arrived')

  await screenshot(a, 'calc-desktop')
  await assertClean(alice, bob, carol)
})

test('a 10,000-row sheet scrolls and keeps only the visible cells in the page', T, async () => {
  const url = `${server.url}/c/${padName('big')}`
  const carol = await person({ name: 'Carol', color: '#4363d8', lang: 'en' })
  await openCalc(carol, url)
  const c = carol.page
  for (let i = 0; i < 9; i++) await c.click('.tb-more-rows')
  await c.waitForFunction(() => document.querySelectorAll('.rowhead').length > 0 && window.ardoise.grid && document.querySelector('.grid-sizer').getBoundingClientRect().height >= 10000 * 24, null, { timeout: WAIT_MS })
  await typeAt(c, 9998, 49 % 26, 'far away')
  await waitCell(c, 9998, 23, 'far away')
  const cells = await c.evaluate(() => document.querySelectorAll('.grid-cells .cell').length)
  assert.ok(cells < 2000, `${cells} cells in the DOM`)
  await screenshot(c, 'calc-far')
  await assertClean(carol)
})
