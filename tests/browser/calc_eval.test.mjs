// The calc page keeps its IronCalc model between changes (issue 9): on a large sheet an edited
// cell, a cleared cell and a number format reach the formulas that depend on them, on the
// editor's page and on another person's; a structural change (a row inserted inside a SUM's
// range, a row deleted) still recomputes with the formula following its cells.
//
// Run from the repo root:  ARDOISE_BIN=target/debug/ardoise node --test tests/browser/calc_eval.test.mjs

import { test } from 'node:test'
import assert from 'node:assert/strict'

import {
  browserSuite, padName, openCalc, typeCell, waitCellText, WAIT_MS, assertClean
} from './helpers.mjs'

const T = { timeout: 180_000 }
const LONG = 60_000 // failure guard for the initial fill of the large sheet, not a timing assertion

const suite = browserSuite({}, { lang: 'en' })
const person = suite.person

/** Wait until C1 (the total) shows `want`, whatever digit grouping the format uses. */
async function waitTotal (page, want, timeout = WAIT_MS) {
  try {
    await page.waitForFunction((want) => Number(String(window.ardoise.value(0, 2)?.text).replace(/,/g, '')) === want, want, { timeout })
  } catch (e) {
    const got = await page.evaluate(() => window.ardoise.value(0, 2)).catch(() => '?')
    throw new Error(`the total never showed ${want}; it has ${JSON.stringify(got)}\n${e.message}`)
  }
}

test('a large sheet: edited, cleared and formatted cells reach their formulas on both pages', T, async () => {
  const ROWS = 10_000
  const url = `${suite.server.url}/c/${padName('large')}?lang=en`
  const alice = await person({ name: 'Alice', color: '#e6194b' })
  const bob = await person({ name: 'Bob', color: '#3cb44b' })
  await openCalc(alice, url)
  const a = alice.page
  for (let i = 0; i < 9; i++) await a.click('.tb-more-rows')
  await a.waitForFunction((n) => {
    const ydoc = window.ardoise.ydoc
    return ydoc.getMap('sheet:' + ydoc.getArray('sheets').get(0)).get('rows').length >= n
  }, ROWS, { timeout: WAIT_MS })
  // A: 1..ROWS, B: =A*2 on every row, C1: the total of A.
  await a.evaluate((rows) => {
    const lines = []
    for (let r = 1; r <= rows; r++) lines.push(`${r}\t=A${r}*2` + (r === 1 ? `\t=SUM(A1:A${rows})` : ''))
    window.ardoise.grid.select(0, 0)
    window.ardoise.pasteTsv(lines.join('\n'))
  }, ROWS)
  const total = ROWS * (ROWS + 1) / 2
  await waitTotal(a, total, LONG)
  await openCalc(bob, url)
  const b = bob.page
  await waitCellText(b, 4999, 1, '10000', LONG)

  // Alice edits one cell in the middle: its row's formula and the total follow, on both pages.
  await typeCell(a, 4999, 0, '100000')
  await waitCellText(a, 4999, 1, '200000')
  await waitCellText(b, 4999, 1, '200000')
  const edited = total - 5000 + 100000
  await waitTotal(a, edited)
  await waitTotal(b, edited)

  // Bob clears a cell: the dependent formula sees an empty cell.
  await b.evaluate(() => { window.ardoise.grid.select(9999, 0); window.ardoise.grid.focus() })
  await b.keyboard.press('Delete')
  await waitCellText(b, 9999, 1, '0')
  await waitCellText(a, 9999, 1, '0')
  await waitTotal(a, edited - ROWS)

  // A number format is applied where the format changed, without rebuilding.
  await a.evaluate(() => { window.ardoise.grid.select(4999, 1); window.ardoise.grid.focus() })
  await a.selectOption('.fmt-select', '0.00')
  await waitCellText(a, 4999, 1, '200000.00')
  await waitCellText(b, 4999, 1, '200000.00')
  await waitTotal(b, edited - ROWS)
  await assertClean(alice, bob)
})

test('a row inserted inside a SUM range, then a row deleted inside it: the formula follows and recomputes', T, async () => {
  const url = `${suite.server.url}/c/${padName('rows')}?lang=en`
  const carol = await person({ name: 'Carol', color: '#4363d8' })
  await openCalc(carol, url)
  const c = carol.page
  await typeCell(c, 0, 0, '1')
  await typeCell(c, 1, 0, '2')
  await typeCell(c, 2, 0, '3')
  await typeCell(c, 3, 0, '=SUM(A1:A3)')
  await waitCellText(c, 3, 0, '6')

  // A row below row 2: inside the range, which grows to A1:A4.
  await c.evaluate(() => { window.ardoise.grid.select(1, 0); window.ardoise.grid.focus() })
  await c.click('.tb-row-below')
  await waitCellText(c, 4, 0, '6')
  await waitCellText(c, 2, 0, null)
  await typeCell(c, 2, 0, '10')
  await waitCellText(c, 4, 0, '16')
  await c.evaluate(() => { window.ardoise.grid.select(4, 0); window.ardoise.grid.focus() })
  await c.waitForFunction(() => document.querySelector('#formula-bar').value === '=SUM(A1:A4)', null, { timeout: WAIT_MS })

  // Deleting the row of the 2 (inside the range) takes it out of the total.
  await c.evaluate(() => { window.ardoise.grid.select(1, 0); window.ardoise.grid.focus() })
  await c.click('.tb-row-delete')
  await waitCellText(c, 3, 0, '14')
  // And an edit after the structure changes is still incremental and right.
  await typeCell(c, 0, 0, '20')
  await waitCellText(c, 3, 0, '33')
  await assertClean(carol)
})
