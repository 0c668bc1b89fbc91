// The calc document in Yjs (DESIGN.md §3), the browser's twin of src/calc/schema.rs: reading
// sheets, and the edits (sheets, rows, columns, cells, formats, widths). Cells are keyed
// `rowId:colId`, so structure edits never move anyone's data.

import * as Y from 'yjs'

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
    if (typeof sid === 'string' && !seen.has(sid) && ydoc.share.has('sheet:' + sid)) {
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

/** Gives an empty workbook its first sheet (unnamed: shown as the viewer's "Sheet1"). */
export function ensureFirstSheet (ydoc) {
  if (ydoc.getArray('sheets').length > 0) return
  Y.applyUpdate(ydoc, firstSheetUpdate())
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

const ids = (arr, max) => (arr ? arr.toArray().filter((x) => typeof x === 'string').slice(0, max) : [])

/** Plain snapshot of sheet `sid` for layout/evaluation: {id, name, rows, cols}. */
export function readSheet (ydoc, sid) {
  const p = sheetParts(ydoc, sid)
  return { id: sid, name: p.name, rows: ids(p.rows, MAX_ROWS), cols: ids(p.cols, MAX_COLS) }
}

/** Inserts `n` rows or columns ('rows' | 'cols') before `at`; returns their ids. */
export function insertIds (ydoc, sid, axis, at, n) {
  const arr = sheetParts(ydoc, sid)[axis]
  if (!arr || at < 0 || at > arr.length) return []
  const fresh = Array.from({ length: n }, newId)
  arr.insert(at, fresh)
  return fresh
}

export function deleteIds (ydoc, sid, axis, at, n) {
  const arr = sheetParts(ydoc, sid)[axis]
  if (!arr || at < 0 || at + n > arr.length) return
  arr.delete(at, n)
}
