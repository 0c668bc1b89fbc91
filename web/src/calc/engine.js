// Evaluation in the browser with IronCalc's wasm build (the same minor version as the server's
// ironcalc_base, so a formula computes the same on both sides). Nothing computed goes back to
// the CRDT.
//
// Building the IronCalc model costs one setUserInput per cell (each parses its input), which is
// seconds on a big sheet, so the model is kept between changes. Every transaction's
// `tr.changed` says which shared types changed and, for maps, which keys: when only cell inputs
// or formats changed, just those cells are written again and the model re-evaluated. Anything
// else that can move a cell or rename a sheet (the sheet list, a sheet's map, its row or column
// arrays), a switch of language, or any doubt, rebuilds the model from the document: positions
// come from the id arrays at that moment, so inserted rows and columns are simply where they are.

import init, { Model } from '@ironcalc/wasm'
import { layout } from './formula.js'
import { readSheet, sheetParts, sheetIds } from './doc.js'
import { inputOf, formatNumber } from './value.js'
import { toA1 } from './formula.js'
import { boolName } from './locale.js'

const ERROR_TYPE = 16
const NUMBER_TYPE = 1

/**
 * Rows and columns past the used extent that a build still counts as used. Huge ranges
 * (whole columns) are cut at the used extent when formulas are written for IronCalc; a cell
 * typed just below the data must stay inside the cut for the kept model to be right, and the
 * padding holds only empty cells, so results are the same as with the exact extent.
 */
const SLACK_ROWS = 1024
const SLACK_COLS = 64

let ready = null
/** Loads the engine once; `url` is the embedded ironcalc.wasm. */
export function loadEngine (url) {
  if (!ready) ready = init({ module_or_path: url })
  return ready
}

/** The sheets of the document with their used extents, positions and shared maps. */
export function readWorkbook (ydoc) {
  return sheetIds(ydoc).map((sid) => {
    const s = readSheet(ydoc, sid)
    const p = sheetParts(ydoc, sid)
    const rowIndex = new Map()
    s.rows.forEach((id, i) => { if (!rowIndex.has(id)) rowIndex.set(id, i) })
    const colIndex = new Map()
    s.cols.forEach((id, i) => { if (!colIndex.has(id)) colIndex.set(id, i) })
    const placed = []
    let usedR = 0
    let usedC = 0
    if (p.cells) {
      p.cells.forEach((val, key) => {
        const pos = positionIn(rowIndex, colIndex, key)
        if (!pos) return
        const input = inputOf(val)
        if (!input) return
        placed.push([pos[0], pos[1], input, key])
        usedR = Math.max(usedR, pos[0] + 1)
        usedC = Math.max(usedC, pos[1] + 1)
      })
    }
    return { ...s, used: [usedR, usedC], placed, fmt: p.fmt, parts: p, rowIndex, colIndex }
  })
}

/** [row, col] (0-based) of cell key `rowId:colId`, or null when its row or column is gone. */
function positionIn (rowIndex, colIndex, key) {
  const colon = key.indexOf(':')
  if (colon < 0) return null
  const r = rowIndex.get(key.slice(0, colon))
  const c = colIndex.get(key.slice(colon + 1))
  return r === undefined || c === undefined ? null : [r, c]
}

/** A number format IronCalc accepts from the document, or null for the default. */
function numberFormat (fmt, key) {
  const f = fmt && fmt.get(key)
  return f && typeof f.nf === 'string' && f.nf && f.nf.length <= 255 ? f.nf : null
}

/**
 * A computed workbook kept up to date with the document: formatted values by sheet index and
 * 0-based position. `refresh` brings it up to date; `free` stops it.
 */
export class Evaluation {
  constructor (ydoc) {
    this.ydoc = ydoc
    this.model = null
    this.locale = null
    this.unnamed = null
    this.sheets = []
    this.lay = null
    this.names = []
    this.roles = new Map() // shared type → 'structure' | 'ignore' | {si, part: 'cells' | 'fmt'}
    this.pending = new Map() // sheet index → Set of cell keys whose input or format changed
    this.dirty = true // the next refresh rebuilds
    this.onTransaction = (tr) => this.track(tr)
    ydoc.on('afterTransaction', this.onTransaction)
  }

  /** Notes what a transaction (local or remote) changed. */
  track (tr) {
    if (this.dirty) return
    for (const [type, keys] of tr.changed) {
      let role = this.roles.get(type)
      if (role === undefined) this.roles.set(type, (role = this.roleOfUnknown(type)))
      if (role === 'ignore') continue
      if (role === 'structure') {
        this.dirty = true
        return
      }
      let set = this.pending.get(role.si)
      if (!set) this.pending.set(role.si, (set = new Set()))
      for (const key of keys) {
        if (typeof key !== 'string') {
          this.dirty = true
          return
        }
        set.add(key)
      }
    }
  }

  /** A type the last build did not see: inside the workbook it is a structure change. */
  roleOfUnknown (type) {
    let top = type
    while (top.parent) top = top.parent
    let name = null
    this.ydoc.share.forEach((t, n) => { if (t === top) name = n })
    // Authors, chat and whatever else the workbook does not read cannot change a value.
    return name === 'sheets' || (name !== null && name.startsWith('sheet:')) ? 'structure' : 'ignore'
  }

  /** Brings the computed values up to date: the changed cells only, or a rebuild. */
  refresh (locale, unnamed) {
    if (!this.dirty && this.model && locale === this.locale && unnamed === this.unnamed) {
      let done = false
      try {
        done = this.applyPending()
      } catch (err) {
        console.warn('incremental evaluation failed, rebuilding', err)
      }
      if (done) return
    }
    this.rebuild(locale, unnamed)
  }

  /** Writes the pending cells into the kept model; false when only a rebuild will do. */
  applyPending () {
    if (this.pending.size === 0) return true
    const model = this.model
    const work = []
    for (const [si, keys] of this.pending) {
      const s = this.sheets[si]
      if (!s) return false
      for (const key of keys) {
        const pos = positionIn(s.rowIndex, s.colIndex, key)
        if (!pos) continue // on a row or column that is not in the sheet: never evaluated
        if (pos[0] >= this.lay.sheets[si].used[0] || pos[1] >= this.lay.sheets[si].used[1]) return false
        work.push([si, pos[0], pos[1], key])
      }
    }
    this.pending.clear()
    model.pauseEvaluation()
    try {
      for (const [si, r, c, key] of work) {
        const s = this.sheets[si]
        const input = s.parts.cells ? inputOf(s.parts.cells.get(key)) : null
        if (!input) {
          // Contents and format: an absent cell is not in a fresh build either.
          model.rangeClearAll(si, r + 1, c + 1, r + 1, c + 1)
          continue
        }
        this.write(si, r, c, input)
        const nf = numberFormat(s.parts.fmt, key)
        model.updateRangeStyle({ sheet: si, row: r + 1, column: c + 1, width: 1, height: 1 }, 'num_fmt', nf || 'general')
      }
    } finally {
      model.resumeEvaluation()
    }
    model.evaluate()
    return true
  }

  /** Cell (si, r, c), 0-based, gets `input` as IronCalc reads it in this locale. */
  write (si, r, c, input) {
    let text
    switch (input.kind) {
      case 'number': text = formatNumber(input.value, this.locale); break
      case 'bool': text = boolName(this.locale, input.value); break
      case 'formula': text = toA1(input.value, this.locale, this.lay, si); break
      default: text = "'" + input.value
    }
    this.model.setUserInput(si, r + 1, c + 1, text)
  }

  /** A new model from the whole document. */
  rebuild (locale, unnamed) {
    this.freeModel()
    this.locale = locale
    this.unnamed = unnamed
    this.pending.clear()
    this.dirty = false
    this.sheets = readWorkbook(this.ydoc)
    const padded = this.sheets.map((s) => ({
      ...s,
      used: [Math.min(s.rows.length, s.used[0] + SLACK_ROWS), Math.min(s.cols.length, s.used[1] + SLACK_COLS)]
    }))
    this.lay = layout(padded, true, unnamed)
    this.names = this.lay.sheets.map((s) => s.name)
    this.roles = new Map([[this.ydoc.getArray('sheets'), 'structure']])
    this.sheets.forEach((s, si) => {
      const p = s.parts
      this.roles.set(p.map, 'structure')
      if (p.rows) this.roles.set(p.rows, 'structure')
      if (p.cols) this.roles.set(p.cols, 'structure')
      if (p.cells) this.roles.set(p.cells, { si, part: 'cells' })
      if (p.fmt) this.roles.set(p.fmt, { si, part: 'fmt' })
      // Widths, heights and hidden flags do not change a value.
      for (const k of ['rowmeta', 'colmeta']) {
        const m = p.map.get(k)
        if (m && typeof m === 'object') this.roles.set(m, 'ignore')
      }
    })
    const model = new Model('calc', locale, 'UTC', locale)
    this.model = model
    model.pauseEvaluation()
    this.sheets.forEach((s, i) => {
      if (i > 0) model.newSheet()
      try { model.renameSheet(i, this.lay.sheets[i].name) } catch {}
    })
    this.sheets.forEach((s, si) => {
      for (const [r, c, input, key] of s.placed) {
        try { this.write(si, r, c, input) } catch {}
        const nf = numberFormat(s.fmt, key)
        if (nf) {
          try { model.updateRangeStyle({ sheet: si, row: r + 1, column: c + 1, width: 1, height: 1 }, 'num_fmt', nf) } catch {}
        }
      }
    })
    model.resumeEvaluation()
    model.evaluate()
  }

  /** {text, number, error} of the cell at (sheet, row, col), 0-based. */
  cell (si, r, c) {
    if (!this.model) return null
    try {
      const text = this.model.getFormattedCellValue(si, r + 1, c + 1)
      if (text === '') return null
      const type = this.model.getCellType(si, r + 1, c + 1)
      return { text, number: type === NUMBER_TYPE, error: type === ERROR_TYPE }
    } catch {
      return null
    }
  }

  freeModel () {
    if (this.model) {
      try { this.model.free() } catch {}
      this.model = null
    }
  }

  /** Stops following the document and frees the model. */
  free () {
    this.ydoc.off('afterTransaction', this.onTransaction)
    this.freeModel()
  }
}
