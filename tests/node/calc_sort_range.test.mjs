// A sort of part of a sheet (issue 18, web/src/calc/doc.js sortRows with a span): only the rows
// of the span change places, a total under it keeps summing the same cells, and an undo manager
// on the local origin brings the order back.

import { test } from 'node:test'
import assert from 'node:assert/strict'

// The same module instance doc.js imports (a second copy of yjs would break instanceof).
import * as Y from '../../web/node_modules/yjs/dist/yjs.mjs'
import * as D from '../../web/src/calc/doc.js'

const collator = new Intl.Collator('en', { sensitivity: 'base' })

/** Name/Mark in rows 1–5, row 6 blank, Total =SUM(B2:B5) in row 7 (stored by ids). */
function marks () {
  const doc = new Y.Doc()
  D.ensureFirstSheet(doc)
  const cells = D.sheetParts(doc, 's1').cells
  ;[['Name', 'Mark'], ['Ann', 12], ['Bob', 15], ['Cleo', 9], ['Dan', 17]].forEach(([a, b], i) => {
    cells.set(`r${i + 1}:c1`, { v: a })
    cells.set(`r${i + 1}:c2`, { v: b })
  })
  cells.set('r7:c1', { v: 'Total' })
  cells.set('r7:c2', { v: '=SUM({@r2:c2~r5:c2})' })
  return doc
}
const column = (doc, c, n) => D.readSheet(doc, 's1').rows.slice(0, n).map((r) => {
  const cell = D.sheetParts(doc, 's1').cells.get(`${r}:c${c}`)
  return cell ? cell.v : ''
})
const markOf = (doc) => (row) => {
  const c = D.sheetParts(doc, 's1').cells.get(row + ':c2')
  return c && typeof c.v === 'number' ? { kind: 'number', value: c.v } : null
}

test('sorting rows 2–5 keeps row 1, the blank row 6 and the total of row 7 where they are', () => {
  const doc = marks()
  const before = D.readSheet(doc, 's1').rows
  doc.transact(() => D.sortRows(doc, 's1', true, false, markOf(doc), collator, 1, 4))
  assert.deepEqual(column(doc, 1, 7), ['Name', 'Dan', 'Bob', 'Ann', 'Cleo', '', 'Total'])
  assert.deepEqual(column(doc, 2, 5), ['Mark', 17, 15, 12, 9])
  const rows = D.readSheet(doc, 's1').rows
  assert.deepEqual(rows.slice(5), before.slice(5), 'no row past the span moved')
  assert.equal(rows[0], before[0])
  // The total's range covers rows 2 to 5 still: its ends are the ids now there.
  assert.equal(D.sheetParts(doc, 's1').cells.get('r7:c2').v, `=SUM({@${rows[1]}:c2~${rows[4]}:c2})`)
})

test('a span with a header keeps its first row; a span past the end is cut to the sheet', () => {
  const doc = marks()
  doc.transact(() => D.sortRows(doc, 's1', false, true, markOf(doc), collator, 0, 4))
  assert.deepEqual(column(doc, 1, 7), ['Name', 'Cleo', 'Ann', 'Bob', 'Dan', '', 'Total'])
  assert.equal(D.sortRows(doc, 's1', false, false, markOf(doc), collator, 999, 5000), true, 'nothing to sort')
  assert.deepEqual(column(doc, 1, 7), ['Name', 'Cleo', 'Ann', 'Bob', 'Dan', '', 'Total'])
})

test('one undo step brings a sort back, and another replica\'s edit is not undone', () => {
  const doc = marks()
  const other = new Y.Doc()
  Y.applyUpdate(other, Y.encodeStateAsUpdate(doc))
  const local = { local: true }
  const undo = new Y.UndoManager([doc.getArray('sheets'), D.sheetMap(doc, 's1')], { trackedOrigins: new Set([local]), captureTimeout: 0 })
  doc.transact(() => D.sortRows(doc, 's1', true, false, markOf(doc), collator, 1, 4), local)
  other.transact(() => D.sheetParts(other, 's1').cells.set('r1:c4', { v: 'theirs' }))
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(other), 'remote')
  undo.undo()
  assert.deepEqual(column(doc, 1, 7), ['Name', 'Ann', 'Bob', 'Cleo', 'Dan', '', 'Total'])
  assert.equal(D.sheetParts(doc, 's1').cells.get('r7:c2').v, '=SUM({@r2:c2~r5:c2})')
  assert.equal(D.sheetParts(doc, 's1').cells.get('r1:c4').v, 'theirs')
  assert.equal(undo.canUndo(), false)
})
