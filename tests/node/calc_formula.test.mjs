// The browser's formula translation (web/src/calc/formula.js, value.js) against the cases the
// server's src/doc/calc/formula/ is tested with: both sides must store and show formulas identically.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'

import { layout, toStored, toA1, colName, shrinkRanges, keepRangePositions } from '../../web/src/calc/formula.js'
import { parseNumber, parseTyped } from '../../web/src/calc/value.js'

const cases = JSON.parse(readFileSync(new URL('../../src/doc/calc/formula_cases.json', import.meta.url), 'utf8'))
const ids = (p, n) => Array.from({ length: n }, (_, i) => `${p}${i + 1}`)
const sheets = [
  { id: 's1', name: 'Sheet1', rows: ids('r', 10), cols: ids('c', 5) },
  { id: 's2', name: 'Other sheet', rows: ids('q', 3), cols: ids('k', 3) }
]

test('shared formula cases', () => {
  const lay = layout(sheets)
  assert.ok(cases.length >= 20)
  for (const c of cases) {
    const stored = toStored(c.typed, c.locale, lay, 0)
    assert.equal(stored, c.stored, `typed ${c.typed}`)
    assert.equal(toA1(stored, c.locale, lay, 0), c.shown ?? c.typed, `shown ${c.typed}`)
  }
})

test('inserted rows are inside ranges, deleted rows are #REF!', () => {
  const s = structuredClone(sheets)
  const stored = toStored('=SUM(A2:A4)+B3', 'en', layout(s), 0)
  s[0].rows.splice(2, 0, 'new')
  assert.equal(toA1(stored, 'en', layout(s), 0), '=SUM(A2:A5)+B4')
  s[0].rows = s[0].rows.filter((r) => r !== 'r3')
  assert.equal(toA1(stored, 'en', layout(s), 0), '=SUM(A2:A4)+#REF!')
})

test('shared range cases: deletions shrink ranges, sorts keep their positions', () => {
  const cases = JSON.parse(readFileSync(new URL('../../src/doc/calc/range_cases.json', import.meta.url), 'utf8'))
  assert.ok(cases.length >= 20)
  for (const c of cases) {
    const order = c.rows ? ids('r', 5) : ids('c', 5)
    const got = c.op === 'delete'
      ? shrinkRanges(c.stored, c.home, { sheet: c.sheet, rows: c.rows, order, deleted: new Set(c.deleted) })
      : keepRangePositions(c.stored, c.home, { sheet: c.sheet, rows: c.rows, before: order, after: c.after })
    assert.equal(got, c.expect, c.why)
  }
})

test('numbers and inputs per locale', () => {
  assert.equal(parseNumber('1,23', 'fr'), 1.23)
  assert.equal(parseNumber('1,23', 'en'), null)
  assert.equal(parseNumber('1 234,5', 'fr'), 1234.5)
  assert.equal(parseNumber('1,234.5', 'en'), 1234.5)
  assert.equal(parseNumber('12 %', 'fr'), 0.12)
  const at = { layout: layout(sheets), sheet: 0 }
  assert.deepEqual(parseTyped('1,23', 'fr', at), { kind: 'number', value: 1.23 })
  assert.deepEqual(parseTyped('vrai', 'fr', at), { kind: 'bool', value: true })
  assert.deepEqual(parseTyped("'12", 'en', at), { kind: 'text', value: '12' })
  assert.equal(parseTyped('', 'en', at), null)
  assert.equal(colName(16384), 'XFD')
})

test('the first sheet is the same items in the browser and the server', async () => {
  const Y = await import('yjs')
  const { firstSheetUpdate, FIRST_SHEET_CLOCK } = await import('../../web/src/calc/doc.js')
  const d = new Y.Doc()
  Y.applyUpdate(d, firstSheetUpdate())
  // the same clock as schema.rs's FIRST_SHEET_CLOCK (its unit test checks its side)
  assert.equal(FIRST_SHEET_CLOCK, 1034)
  assert.equal(Y.decodeStateVector(Y.encodeStateVector(d)).get(1), FIRST_SHEET_CLOCK)
})
