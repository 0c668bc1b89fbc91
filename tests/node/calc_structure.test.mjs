// The browser's structure edits (web/src/calc/doc.js) on two replicas, as schema.rs is tested:
// sorts and moves rewrite only the row array, concurrent sorts converge with no row shown twice,
// a delete removes every occurrence, sheets delete for real and never the last one.

import { test } from 'node:test'
import assert from 'node:assert/strict'

// The same module instance doc.js imports (a second copy of yjs would break instanceof).
import * as Y from '../../web/node_modules/yjs/dist/yjs.mjs'
import * as D from '../../web/src/calc/doc.js'

const collator = new Intl.Collator('en', { sensitivity: 'base' })

function sync (a, b) {
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)))
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)))
}

/** A first sheet whose column A holds `values` and column B the labels L1…, from row 1. */
function filled (values) {
  const doc = new Y.Doc()
  D.ensureFirstSheet(doc)
  const cells = D.sheetParts(doc, 's1').cells
  values.forEach((v, i) => {
    if (v !== null) cells.set(`r${i + 1}:c1`, { v })
    cells.set(`r${i + 1}:c2`, { v: `L${i + 1}` })
  })
  return doc
}

const keyOf = (doc) => (row) => {
  const c = D.sheetParts(doc, 's1').cells.get(row + ':c1')
  if (!c) return null
  return typeof c.v === 'number' ? { kind: 'number', value: c.v } : { kind: 'text', value: String(c.v) }
}
const labels = (doc, n) => D.readSheet(doc, 's1').rows.slice(0, n).map((r) => {
  const c = D.sheetParts(doc, 's1').cells.get(r + ':c2')
  return c ? c.v : ''
})
const sample = ['Name', 10, 'banana', null, 2, 'Apple']

test('a sort moves whole rows, numbers first, text by collator, empty last', () => {
  const doc = filled(sample)
  const before = D.readSheet(doc, 's1').rows
  doc.transact(() => D.sortRows(doc, 's1', false, true, keyOf(doc), collator))
  assert.deepEqual(labels(doc, 7), ['L1', 'L5', 'L2', 'L6', 'L3', 'L4', ''])
  assert.deepEqual(D.readSheet(doc, 's1').rows.slice(6), before.slice(6))
  doc.transact(() => D.sortRows(doc, 's1', true, false, keyOf(doc), collator))
  assert.deepEqual(labels(doc, 6), ['L1', 'L3', 'L6', 'L2', 'L5', 'L4'])
})

test('concurrent sorts converge, no row twice; deleting a row removes every occurrence', () => {
  const a = filled(sample)
  const b = new Y.Doc()
  sync(a, b)
  a.transact(() => D.sortRows(a, 's1', false, false, keyOf(a), collator))
  b.transact(() => D.sortRows(b, 's1', true, false, keyOf(b), collator))
  sync(a, b)
  const rows = D.readSheet(a, 's1').rows
  assert.deepEqual(rows, D.readSheet(b, 's1').rows)
  assert.equal(new Set(rows).size, D.DEFAULT_ROWS)
  assert.equal(rows.length, D.DEFAULT_ROWS)
  // The two spans differ (descending keeps "Name" first), so the merge may mix the orders;
  // the six filled rows still come first.
  assert.deepEqual(labels(a, 6).sort(), ['L1', 'L2', 'L3', 'L4', 'L5', 'L6'])
  assert.ok(D.sheetParts(a, 's1').rows.length > D.DEFAULT_ROWS, 'duplicates hidden in the array')
  a.transact(() => D.deleteIds(a, 's1', 'rows', 0, 1))
  assert.ok(!D.readSheet(a, 's1').rows.includes(rows[0]))
  const fresh = D.insertIds(a, 's1', 'rows', 2, 1)
  assert.equal(D.readSheet(a, 's1').rows[2], fresh[0])
  assert.equal(D.readSheet(a, 's1').rows[3], rows[3])
})

test('moves, and sheets: delete for real, never the last, reorder', () => {
  const doc = filled(sample)
  assert.equal(D.moveIds(doc, 's1', 'rows', 1, 2, -1), true)
  assert.deepEqual(labels(doc, 4), ['L2', 'L3', 'L1', 'L4'])
  assert.equal(D.moveIds(doc, 's1', 'rows', 0, 1, -1), false)
  assert.equal(D.deleteSheet(doc, 's1'), false, 'never the last sheet')
  const s2 = D.addSheet(doc, 'Two')
  const s3 = D.addSheet(doc, 'Three')
  D.moveSheet(doc, s3, -5)
  assert.deepEqual(D.sheetIds(doc), [s3, 's1', s2])
  D.moveSheet(doc, 's1', 1)
  assert.deepEqual(D.sheetIds(doc), [s3, s2, 's1'])
  const other = new Y.Doc()
  sync(doc, other)
  assert.equal(D.deleteSheet(doc, s2), true)
  D.sheetParts(other, s2).cells.set('r1:c1', { v: 'late' })
  D.moveSheet(other, s2, -1)
  sync(doc, other)
  assert.deepEqual(D.sheetIds(doc), [s3, 's1'])
  assert.deepEqual(D.sheetIds(other), [s3, 's1'])
  assert.equal(D.sheetMap(doc, s2).size, 0)
  // The last two deleted at once: none left, and the next opener adds one.
  D.deleteSheet(doc, s3)
  D.deleteSheet(other, 's1')
  sync(doc, other)
  assert.deepEqual(D.sheetIds(doc), [])
  D.ensureFirstSheet(doc)
  assert.equal(D.sheetIds(doc).length, 1)
  assert.equal(D.readSheet(doc, D.sheetIds(doc)[0]).rows.length, D.DEFAULT_ROWS)
})

test('a range keeps its positions through a sort and shrinks when its first row goes', () => {
  const doc = new Y.Doc()
  D.ensureFirstSheet(doc)
  const cells = D.sheetParts(doc, 's1').cells
  ;[30, 10, 40, 20].forEach((v, i) => cells.set(`r${i + 2}:c2`, { v }))
  // =SUM(B2:B5) in C7 and =B2*2 in C2, as stored (references by id).
  cells.set('r7:c3', { v: '=SUM({@r2:c2~r5:c2})' })
  cells.set('r2:c3', { v: '={@r2:c2}*2' })
  const key = (row) => {
    const c = cells.get(row + ':c2')
    return c ? { kind: 'number', value: c.v } : null
  }
  doc.transact(() => D.sortRows(doc, 's1', false, true, key, collator))
  const rows = D.readSheet(doc, 's1').rows
  assert.deepEqual(rows.slice(1, 5).map((r) => cells.get(r + ':c2').v), [10, 20, 30, 40])
  // The range's ends are the rows now at positions 2 and 5; the single reference followed r2.
  assert.equal(cells.get('r7:c3').v, `=SUM({@${rows[1]}:c2~${rows[4]}:c2})`)
  assert.equal(cells.get('r2:c3').v, '={@r2:c2}*2')
  doc.transact(() => D.deleteIds(doc, 's1', 'rows', 1, 1))
  assert.equal(cells.get('r7:c3').v, `=SUM({@${rows[2]}:c2~${rows[4]}:c2})`)
})
