// Calc editing as a teacher meets it (issue 18): a sort acts on the selected rows, or on the
// block of data around the cursor, and never moves the total under it; undo and redo of one's
// own edits only; Tab then Enter goes back to the column the row started in; a toolbar of icons
// with visible text in labelled groups; the sheet tab's menu from a click, rename in the page.
//
// Run from the repo root:  ARDOISE_BIN=target/debug/ardoise node --test tests/browser/calc_edit.test.mjs

import { test } from 'node:test'
import assert from 'node:assert/strict'

import { browserSuite, padName, screenshot, WAIT_MS, assertClean, openCalc, openCalcs, typeCell, waitCellText } from './helpers.mjs'

const T = { timeout: 120_000 }
const ALICE = { name: 'Alice', color: '#e6194b', id: 'a11ce0000000000000000000000000a1', lang: 'en' }
const BOB = { name: 'Bob', color: '#3cb44b', id: 'b0b0000000000000000000000000b0b0', lang: 'fr' }

const suite = browserSuite()
const person = suite.person

/** Wait until column `col`'s first rows show `want` (computed text, '' for an empty cell). */
async function waitColumn (page, col, want) {
  try {
    await page.waitForFunction(([c, w]) => w.every((text, r) => ((window.ardoise.value(r, c) || {}).text ?? '') === text), [col, want], { timeout: WAIT_MS })
  } catch (e) {
    const got = await page.evaluate(([c, n]) => Array.from({ length: n }, (_, r) => (window.ardoise.value(r, c) || {}).text ?? ''), [col, want.length])
    throw new Error(`column ${col} never showed ${JSON.stringify(want)}; it has ${JSON.stringify(got)}\n${e.message}`)
  }
}

async function fill (page, rows) {
  for (const [r, cells] of rows.entries()) {
    for (const [c, text] of cells.entries()) if (text !== '') await typeCell(page, r, c, text)
  }
}

const select = (page, r, c, r2 = r, c2 = c) =>
  page.evaluate(([r, c, r2, c2]) => { window.ardoise.grid.select(r, c, r2, c2); window.ardoise.grid.focus() }, [r, c, r2, c2])

const MARKS = [['Name', 'Mark'], ['Ann', '12'], ['Bob', '15'], ['Cleo', '9'], ['Dan', '17']]

test('sorting a selected range leaves the blank row and the total under it in place', T, async () => {
  const url = `${suite.server.url}/c/${padName('sortrange')}`
  const alice = await person(ALICE)
  const bob = await person(BOB)
  const [a, b] = await openCalcs(url, alice, bob)
  await fill(a, [...MARKS, ['', ''], ['Total', '=SUM(B2:B5)']])
  await waitCellText(a, 6, 1, '53')

  // A2:B5 selected, "Sort Z to A" from column B's menu.
  await select(a, 1, 0, 4, 1)
  await a.hover('.colhead:nth-child(2)')
  await a.click('.colhead:nth-child(2) .col-menu')
  await a.waitForSelector('.calc-menu', { timeout: WAIT_MS })
  assert.equal(await a.textContent('.menu-sort-range'), 'Range A2:B5')
  assert.equal(await a.getAttribute('.menu-sort-header', 'aria-checked'), 'false', 'Ann/12 is no header')
  await screenshot(a, 'calc-edit-sort-range-menu')
  await a.click('.menu-sort-desc')

  for (const page of [a, b]) {
    await waitColumn(page, 0, ['Name', 'Dan', 'Bob', 'Ann', 'Cleo', '', 'Total'])
    await waitColumn(page, 1, ['Mark', '17', '15', '12', '9', '', '53'])
  }
  await select(a, 6, 1)
  assert.equal(await a.inputValue('#formula-bar'), '=SUM(B2:B5)')
  await select(b, 6, 1)
  assert.equal(await b.inputValue('#formula-bar'), '=SOMME(B2:B5)')
  await assertClean(alice, bob)
})

test('with the cursor in the data, the block around it is sorted: header kept, Total and Average rows stay', T, async () => {
  const url = `${suite.server.url}/c/${padName('sortblock')}`
  const alice = await person(ALICE)
  await openCalc(alice, url)
  const a = alice.page
  await fill(a, [...MARKS, ['Total', '=SUM(B2:B5)'], ['Average', '=AVERAGE(B2:B5)']])
  await waitCellText(a, 6, 1, '13.25')

  // The cursor on Bob's mark; the toolbar's Sort.
  await select(a, 2, 1)
  await a.click('.tb-sort')
  await a.waitForSelector('.calc-menu', { timeout: WAIT_MS })
  assert.equal(await a.textContent('.menu-sort-range'), 'Range A1:B5', 'the block stops above the summary rows')
  assert.equal(await a.getAttribute('.menu-sort-header', 'aria-checked'), 'true', 'Name/Mark over numbers is a header')
  await a.click('.menu-sort-asc')
  await waitColumn(a, 0, ['Name', 'Cleo', 'Ann', 'Bob', 'Dan', 'Total', 'Average'])
  await waitColumn(a, 1, ['Mark', '9', '12', '15', '17', '53', '13.25'])

  // The header can be turned off in the menu: "Name"/"Mark" (text) then sort after the numbers.
  await select(a, 2, 0)
  await a.keyboard.press('Shift+F10')
  await a.waitForSelector('.calc-menu .menu-sort-header[aria-checked="true"]', { timeout: WAIT_MS })
  await a.click('.menu-sort-header')
  assert.equal(await a.getAttribute('.menu-sort-header', 'aria-checked'), 'false')
  await a.click('.menu-sort-desc')
  await waitColumn(a, 0, ['Name', 'Dan', 'Cleo', 'Bob', 'Ann', 'Total', 'Average'])
  await waitColumn(a, 1, ['Mark', '17', '9', '15', '12', '53', '13.25'])
  await assertClean(alice)
})

test('undo and redo: a typed cell, a sort (others see it), never another person\'s edit', T, async () => {
  const url = `${suite.server.url}/c/${padName('undo')}`
  const alice = await person(ALICE)
  const bob = await person(BOB)
  const [a, b] = await openCalcs(url, alice, bob)
  assert.equal(await a.isDisabled('.tb-undo'), true, 'nothing to undo yet')
  assert.equal(await a.isDisabled('.tb-redo'), true)

  await fill(a, MARKS)
  await typeCell(b, 0, 3, 'Bob was here')
  await waitCellText(a, 0, 3, 'Bob was here')

  // A typed cell: undone with Ctrl+Z, back with Ctrl+Y.
  await typeCell(a, 5, 0, 'Eve')
  await waitCellText(b, 5, 0, 'Eve')
  await select(a, 5, 0)
  await a.keyboard.press('Control+z')
  await waitCellText(b, 5, 0, null)
  assert.equal(await a.isDisabled('.tb-redo'), false)
  await a.keyboard.press('Control+y')
  await waitCellText(b, 5, 0, 'Eve')
  await a.keyboard.press('Control+z')
  await waitCellText(b, 5, 0, null)

  // A sort is one step: undone, the order comes back for everyone; redone with Ctrl+Shift+Z.
  await select(a, 1, 1)
  await a.click('.tb-sort')
  await a.click('.menu-sort-desc')
  await waitColumn(b, 0, ['Name', 'Dan', 'Bob', 'Ann', 'Cleo'])
  await a.click('.tb-undo')
  await waitColumn(b, 0, ['Name', 'Ann', 'Bob', 'Cleo', 'Dan'])
  await waitColumn(b, 1, ['Mark', '12', '15', '9', '17'])
  await a.keyboard.press('Control+Shift+z')
  await waitColumn(b, 0, ['Name', 'Dan', 'Bob', 'Ann', 'Cleo'])
  await a.click('.tb-undo')
  await waitColumn(b, 0, ['Name', 'Ann', 'Bob', 'Cleo', 'Dan'])

  // Undo all of Alice's steps: her cells go, Bob's cell stays.
  for (let i = 0; i < 20 && !(await a.isDisabled('.tb-undo')); i++) await a.click('.tb-undo')
  assert.equal(await a.isDisabled('.tb-undo'), true)
  await waitColumn(b, 0, ['', '', '', '', ''])
  await waitCellText(b, 0, 3, 'Bob was here')
  await waitCellText(a, 0, 3, 'Bob was here')

  // Inside the cell editor Ctrl+Z is the input's own: the document does not change.
  await typeCell(a, 0, 0, 'kept')
  await select(a, 1, 0)
  await a.keyboard.type('draft')
  await a.keyboard.press('Control+z')
  await a.keyboard.press('Escape')
  await waitCellText(b, 0, 0, 'kept')
  await assertClean(alice, bob)
})

test('a paste and a row insertion are one undo step each', T, async () => {
  const url = `${suite.server.url}/c/${padName('undopaste')}`
  const alice = await person(ALICE)
  await openCalc(alice, url)
  const a = alice.page
  await typeCell(a, 0, 0, 'top')
  await typeCell(a, 1, 0, 'below')
  // Four cells pasted at A3: one Ctrl+Z takes all four back.
  await select(a, 2, 0)
  await a.evaluate(() => window.ardoise.pasteTsv('1\t2\n3\t4\n'))
  await waitColumn(a, 1, ['', '', '2', '4'])
  await select(a, 2, 0)
  await a.keyboard.press('Control+z')
  await waitColumn(a, 0, ['top', 'below', '', ''])
  await waitColumn(a, 1, ['', '', '', ''])
  // A row inserted above row 2 pushes "below" down; one undo brings it back up.
  await select(a, 1, 0)
  await a.click('.tb-row-above')
  await waitColumn(a, 0, ['top', '', 'below'])
  await a.click('.tb-undo')
  await waitColumn(a, 0, ['top', 'below'])
  await a.click('.tb-redo')
  await waitColumn(a, 0, ['top', '', 'below'])
  await assertClean(alice)
})

test('Tab then Enter goes back to the column where the Tabs started, one row down', T, async () => {
  const url = `${suite.server.url}/c/${padName('tabenter')}`
  const alice = await person(ALICE)
  await openCalc(alice, url)
  const a = alice.page
  await select(a, 1, 0)
  await a.keyboard.type('Zoe')
  await a.keyboard.press('Tab')
  await a.keyboard.type('14')
  await a.keyboard.press('Enter')
  assert.deepEqual(await a.evaluate(() => ({ r: window.ardoise.grid.sel.r, c: window.ardoise.grid.sel.c })), { r: 2, c: 0 }, 'A3')
  await waitCellText(a, 1, 1, '14')
  // An arrow ends the run: Enter then edits where the cursor is, as before.
  await a.keyboard.press('Tab')
  await a.keyboard.press('ArrowRight')
  await a.keyboard.type('x')
  await a.keyboard.press('Enter')
  assert.deepEqual(await a.evaluate(() => ({ r: window.ardoise.grid.sel.r, c: window.ardoise.grid.sel.c })), { r: 3, c: 2 })
  await assertClean(alice)
})

for (const [lang, width] of [['en', 'desktop'], ['fr', 'desktop'], ['en', 'phone'], ['fr', 'phone']]) {
  test(`toolbar in groups with visible names, sheet tab menu by a click, rename in the page (${lang}, ${width})`, T, async () => {
    const url = `${suite.server.url}/c/${padName('toolbar')}`
    const phone = width === 'phone'
    const alice = await person({ ...ALICE, lang, phone })
    await openCalc(alice, url)
    const a = alice.page
    const words = lang === 'fr'
      ? { groups: ['Édition', 'Mise en forme', 'Lignes', 'Colonnes', 'Trier'], rename: 'Renommer la feuille…' }
      : { groups: ['Edit', 'Format', 'Rows', 'Columns', 'Sort'], rename: 'Rename the sheet…' }
    assert.deepEqual(await a.$$eval('.calc-toolbar [role="group"]', (gs) => gs.map((g) => g.getAttribute('aria-label'))), words.groups)
    // Every button's accessible name holds its visible text (WCAG 2.5.3): its text, or a longer
    // aria-label that contains it; each shows an icon.
    const buttons = await a.$$eval('.calc-toolbar .tb-labelled', (bs) => bs.map((b) => ({ label: b.getAttribute('aria-label'), text: b.textContent, icon: !!b.querySelector('svg'), shown: b.querySelector('.tb-text').getBoundingClientRect().width > 2 })))
    assert.equal(buttons.length, 9)
    assert.equal(buttons.filter((b) => b.label !== null).length, 3, 'the two Delete and +1000 have a longer name')
    for (const b of buttons) {
      assert.ok(b.label === null || b.label.includes(b.text), JSON.stringify(b))
      assert.ok(b.text.length > 1 && b.icon, JSON.stringify(b))
      assert.equal(b.shown, !phone, `text visible on a desktop only: ${JSON.stringify(b)}`)
    }
    // innerWidth grows with the page on a phone: compare with the window's own width.
    const viewport = a.viewportSize().width
    const pageWidth = () => a.evaluate(() => document.documentElement.scrollWidth)
    assert.ok(await pageWidth() <= viewport, `no page overflow: ${await pageWidth()} > ${viewport}`)
    await screenshot(a, `calc-edit-toolbar-${lang}-${width}`)

    // A click on the active tab opens its menu; rename in a dialog, not prompt().
    await a.click('.sheet-tab >> nth=0')
    await a.waitForSelector('.calc-menu .menu-sheet-rename', { timeout: WAIT_MS })
    assert.equal(await a.textContent('.menu-sheet-rename'), words.rename)
    await a.click('.menu-sheet-rename')
    await a.waitForSelector('dialog.sheet-rename-dialog[open]', { timeout: WAIT_MS })
    await screenshot(a, `calc-edit-rename-${lang}-${width}`)
    assert.ok(await a.evaluate((w) => {
      const box = document.querySelector('#sheet-rename-input').getBoundingClientRect()
      return window.visualViewport.offsetLeft === 0 && box.left >= 0 && box.right <= w
    }, viewport), 'the dialog and its field fit the window')
    await a.fill('#sheet-rename-input', 'Marks')
    await a.keyboard.press('Enter')
    await a.waitForFunction(() => document.querySelector('.sheet-tab').textContent === 'Marks', null, { timeout: WAIT_MS })
    assert.equal(await a.$('dialog.sheet-rename-dialog[open]'), null)
    await assertClean(alice)
  })
}
