// The calc document in Yjs (DESIGN.md §3), the browser's twin of src/doc/calc/schema.rs: reading
// sheets, and the edits (sheets, rows, columns, cells, formats, widths, sorts and moves). Cells
// are keyed `rowId:colId`, so structure edits never move anyone's data.
//
// Id arrays may hold an id twice (two concurrent sorts or moves each re-insert it): every reader
// shows the first occurrence only, exactly as schema.rs does, and positions are positions among
// the shown ids.

import * as Y from 'yjs'
import { shrinkRanges, keepRangePositions } from './formula.js'
import { inputOf } from './value.js'

export const DEFAULT_ROWS = 1000
export const DEFAULT_COLS = 26
export const MAX_ROWS = 100000
export const MAX_COLS = 1000
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

export function newId () {
  const a = new Uint8Array(8)
  crypto.getRandomValues(a)
  return Array.from(a, (b) => ALPHABET[b % 62]).join('')
}

const defaultIds = (prefix, n) => Array.from({ length: n }, (_, i) => prefix + (i + 1))

export const cellKey = (row, col) => row + ':' + col

/** The root map of sheet `sid`. */
export const sheetMap = (ydoc, sid) => ydoc.getMap('sheet:' + sid)

/** Sheet ids in tab order, without duplicates (concurrent first sheets share the id `s1`). */
export function sheetIds (ydoc) {
  const seen = new Set()
  const out = []
  for (const sid of ydoc.getArray('sheets').toArray()) {
    // A deleted sheet has no `rows` left (a concurrent tab move may have re-inserted its id).
    if (typeof sid === 'string' && !seen.has(sid) && ydoc.share.has('sheet:' + sid) && sheetMap(ydoc, sid).get('rows') instanceof Y.Array) {
      seen.add(sid)
      out.push(sid)
    }
  }
  return out
}

function createSheet (ydoc, sid, name) {
  const m = sheetMap(ydoc, sid)
  m.set('name', name)
  m.set('rows', Y.Array.from(defaultIds('r', DEFAULT_ROWS)))
  m.set('cols', Y.Array.from(defaultIds('c', DEFAULT_COLS)))
  m.set('cells', new Y.Map())
  m.set('fmt', new Y.Map())
  m.set('rowmeta', new Y.Map())
  m.set('colmeta', new Y.Map())
}

// The first sheet is made by a fixed client with fixed ids and content, exactly as the
// server's schema.rs does: two people opening a brand-new calc at once make the same items,
// which Yjs merges as one (each creating its own nested `cells` map would be last-writer-wins,
// and the loser's first edits would vanish).
const FIRST_SHEET_CLIENT = 1
export const FIRST_SHEET_CLOCK = 1034

export function firstSheetUpdate () {
  const d = new Y.Doc()
  d.clientID = FIRST_SHEET_CLIENT
  d.transact(() => {
    d.getArray('sheets').push(['s1'])
    createSheet(d, 's1', '')
  })
  return Y.encodeStateAsUpdate(d)
}

/**
 * Gives an empty workbook its first sheet (unnamed: shown as the viewer's "Sheet1"); a workbook
 * whose sheets were all deleted (two people deleting the last two at once) gets a new one.
 */
export function ensureFirstSheet (ydoc) {
  if (sheetIds(ydoc).length > 0) return
  // The fixed first sheet cannot be made twice: its items exist, deleted.
  if (Y.getState(ydoc.store, FIRST_SHEET_CLIENT) >= FIRST_SHEET_CLOCK) addSheet(ydoc, '')
  else Y.applyUpdate(ydoc, firstSheetUpdate())
}

export function addSheet (ydoc, name) {
  const sid = newId()
  ydoc.transact(() => {
    ydoc.getArray('sheets').push([sid])
    createSheet(ydoc, sid, name)
  })
  return sid
}

/** The parts of sheet `sid`: {name, rows: Y.Array, cols, cells: Y.Map, fmt, colmeta}. */
export function sheetParts (ydoc, sid) {
  const m = sheetMap(ydoc, sid)
  const get = (k, T) => { const v = m.get(k); return v instanceof T ? v : null }
  return {
    map: m,
    name: typeof m.get('name') === 'string' ? m.get('name') : '',
    rows: get('rows', Y.Array),
    cols: get('cols', Y.Array),
    cells: get('cells', Y.Map),
    fmt: get('fmt', Y.Map),
    colmeta: get('colmeta', Y.Map)
  }
}

/** [id, index in the array] of the ids shown: strings, first occurrence of each, at most `max`. */
function shownIds (arr, max) {
  const out = []
  if (!arr) return out
  const seen = new Set()
  let i = 0
  for (const id of arr.toArray()) {
    if (out.length >= max) break
    if (typeof id === 'string' && !seen.has(id)) {
      seen.add(id)
      out.push([id, i])
    }
    i++
  }
  return out
}

const maxOf = (axis) => (axis === 'rows' ? MAX_ROWS : MAX_COLS)
const ids = (arr, max) => shownIds(arr, max).map(([id]) => id)

/** Plain snapshot of sheet `sid` for layout/evaluation: {id, name, rows, cols}. */
export function readSheet (ydoc, sid) {
  const p = sheetParts(ydoc, sid)
  return { id: sid, name: p.name, rows: ids(p.rows, MAX_ROWS), cols: ids(p.cols, MAX_COLS) }
}

/** Inserts `n` rows or columns ('rows' | 'cols') before shown position `at`; returns their ids. */
export function insertIds (ydoc, sid, axis, at, n) {
  const arr = sheetParts(ydoc, sid)[axis]
  if (!arr) return []
  const shown = shownIds(arr, maxOf(axis))
  if (at < 0 || at > shown.length) return []
  const index = at < shown.length ? shown[at][1] : (shown.length ? shown[shown.length - 1][1] + 1 : 0)
  const fresh = Array.from({ length: n }, newId)
  arr.insert(index, fresh)
  return fresh
}

/** Removes every item whose id passes `pred`, from the end, one run of neighbours at a time. */
function removeWhere (arr, pred) {
  const hits = []
  arr.toArray().forEach((id, i) => { if (typeof id === 'string' && pred(id)) hits.push(i) })
  let end = hits.length
  while (end > 0) {
    let start = end - 1
    while (start > 0 && hits[start - 1] + 1 === hits[start]) start--
    arr.delete(hits[start], end - start)
    end = start
  }
}

/** Deletes the `n` shown rows or columns at `at`: every occurrence of their ids; ranges ending on them shrink. */
export function deleteIds (ydoc, sid, axis, at, n) {
  const arr = sheetParts(ydoc, sid)[axis]
  if (!arr) return
  const shown = shownIds(arr, maxOf(axis))
  if (at < 0 || at + n > shown.length) return
  const gone = new Set(shown.slice(at, at + n).map(([id]) => id))
  removeWhere(arr, (id) => gone.has(id))
  const deletion = { sheet: sid, rows: axis === 'rows', order: shown.map(([id]) => id), deleted: gone }
  rewriteFormulas(ydoc, (stored, home) => shrinkRanges(stored, home, deletion))
}

/**
 * Rewrites every formula of the workbook that `rewrite(stored, its sheet id)` changes: what a
 * structure edit carries along (range ends, see schema.rs's rewrite_formulas), in the caller's
 * transaction.
 */
function rewriteFormulas (ydoc, rewrite) {
  for (const sid of sheetIds(ydoc)) {
    const cells = sheetParts(ydoc, sid).cells
    if (!cells) continue
    const changes = []
    cells.forEach((val, key) => {
      const input = inputOf(val)
      if (!input || input.kind !== 'formula') return
      const next = rewrite(input.value, sid)
      if (next !== null) changes.push([key, { ...val, v: next }])
    })
    for (const [key, val] of changes) cells.set(key, val)
  }
}

/**
 * Puts the shown ids in the order `order` (the same ids); false if it is not a permutation.
 * Yjs has no move: the span that changes (between the common prefix and suffix) is deleted and
 * its ids inserted again, in the caller's transaction. Cells are keyed by id and formulas name
 * rows by id, so data and single-cell references travel with their row; a range keeps its
 * positions (its ends move to the ids now there: keepRangePositions), see schema::reorder, which
 * also says what concurrent sorts, moves and deletes do.
 */
export function reorderIds (ydoc, sid, axis, order) {
  const arr = sheetParts(ydoc, sid)[axis]
  if (!arr) return false
  const shown = shownIds(arr, maxOf(axis))
  const len = shown.length
  const have = new Set(shown.map(([id]) => id))
  if (order.length !== len || new Set(order).size !== len || !order.every((id) => have.has(id))) return false
  let prefix = 0
  while (prefix < len && shown[prefix][0] === order[prefix]) prefix++
  if (prefix === len) return true
  let suffix = 0
  while (suffix < len - prefix && shown[len - 1 - suffix][0] === order[len - 1 - suffix]) suffix++
  const middle = order.slice(prefix, len - suffix)
  const first = shown[prefix][1]
  const last = shown[len - suffix - 1][1]
  const moved = new Set(middle)
  const all = arr.toArray()
  for (let i = all.length - 1; i > last; i--) if (moved.has(all[i])) arr.delete(i, 1)
  arr.delete(first, last - first + 1)
  arr.insert(first, middle)
  const change = { sheet: sid, rows: axis === 'rows', before: shown.map(([id]) => id), after: order }
  rewriteFormulas(ydoc, (stored, home) => keepRangePositions(stored, home, change))
  return true
}

/** Moves the `n` shown rows or columns at `at` by `by` places; false past either end. */
export function moveIds (ydoc, sid, axis, at, n, by) {
  const order = ids(sheetParts(ydoc, sid)[axis], maxOf(axis))
  const to = at + by
  if (n < 1 || at < 0 || to < 0 || at + n > order.length || to + n > order.length) return false
  const block = order.splice(at, n)
  order.splice(to, 0, ...block)
  return reorderIds(ydoc, sid, axis, order)
}

const RANK = { number: 0, text: 1, error: 2 }

/**
 * The sort order of two keys ({kind: 'number'|'text'|'error', value} or null for empty), as
 * src/doc/calc/sort.rs: numbers (booleans as 0/1) before text before errors, text by `collator`
 * (the viewer's locale), empty cells last in both directions.
 */
export function compareKeys (a, b, descending, collator) {
  if (!a || !b) return !a && !b ? 0 : (!a ? 1 : -1)
  let ord
  if (a.kind !== b.kind) ord = RANK[a.kind] - RANK[b.kind]
  else if (a.kind === 'number') ord = a.value < b.value ? -1 : a.value > b.value ? 1 : 0
  else ord = collator.compare(a.value, b.value)
  return descending ? -ord : ord
}

/**
 * Sorts the shown rows `lo`..`hi` (inclusive; the whole sheet by default) of sheet `sid` by
 * `key(rowId)` (see compareKeys); with `header` the first of them stays first. Rows outside the
 * span keep their places, and a range over them keeps its positions (reorderIds), so a total
 * under the sorted span still sums the same cells. Only the `rows` array changes.
 */
export function sortRows (ydoc, sid, descending, header, key, collator, lo = 0, hi = Infinity) {
  const order = ids(sheetParts(ydoc, sid).rows, MAX_ROWS)
  const first = Math.max(0, lo)
  const last = Math.min(order.length - 1, hi)
  if (last <= first) return true
  const start = first + (header ? 1 : 0)
  const keyed = order.slice(start, last + 1).map((id) => [key(id), id])
  // Array.prototype.sort is stable: equal keys keep their rows' order.
  keyed.sort((x, y) => compareKeys(x[0], y[0], descending, collator))
  return reorderIds(ydoc, sid, 'rows', order.slice(0, start).concat(keyed.map(([, id]) => id), order.slice(last + 1)))
}

/**
 * Deletes sheet `sid` (never the last shown one): its id leaves the tabs and its map is emptied,
 * so its data is really gone. A concurrent edit on it lands in a deleted map and vanishes.
 */
export function deleteSheet (ydoc, sid) {
  const shown = sheetIds(ydoc)
  if (shown.length <= 1 || !shown.includes(sid)) return false
  removeWhere(ydoc.getArray('sheets'), (id) => id === sid)
  const m = sheetMap(ydoc, sid)
  for (const k of [...m.keys()]) m.delete(k)
  return true
}

/** Moves sheet `sid` by `by` places in the tabs, clamped to the ends. */
export function moveSheet (ydoc, sid, by) {
  const shown = sheetIds(ydoc)
  const from = shown.indexOf(sid)
  if (from < 0) return
  const to = Math.max(0, Math.min(shown.length - 1, from + by))
  if (to === from) return
  const others = shown.filter((s) => s !== sid)
  const [anchor, after] = to < others.length ? [others[to], 0] : [others[others.length - 1], 1]
  const tabs = ydoc.getArray('sheets')
  removeWhere(tabs, (id) => id === sid)
  const i = tabs.toArray().indexOf(anchor)
  tabs.insert(i < 0 ? tabs.length : i + after, [sid])
}
