// Evaluation in the browser with IronCalc's wasm build (the same minor version as the server's
// ironcalc_base, so a formula computes the same on both sides). The workbook is rebuilt from
// the Yjs document after each change: positions come from the id arrays at that moment, so
// inserted rows and columns are simply where they are. Nothing computed goes back to the CRDT.

import init, { Model } from '@ironcalc/wasm'
import { layout } from './formula.js'
import { readSheet, sheetParts, sheetIds } from './doc.js'
import { inputOf, formatNumber } from './value.js'
import { toA1 } from './formula.js'
import { boolName } from './locale.js'

const ERROR_TYPE = 16
const NUMBER_TYPE = 1

let ready = null
/** Loads the engine once; `url` is the embedded ironcalc.wasm. */
export function loadEngine (url) {
  if (!ready) ready = init({ module_or_path: url })
  return ready
}

/** The sheets of the document with their used extents. */
export function readWorkbook (ydoc) {
  return sheetIds(ydoc).map((sid) => {
    const s = readSheet(ydoc, sid)
    const p = sheetParts(ydoc, sid)
    const rowIndex = new Map(s.rows.map((id, i) => [id, i]))
    const colIndex = new Map(s.cols.map((id, i) => [id, i]))
    const placed = []
    let usedR = 0
    let usedC = 0
    if (p.cells) {
      p.cells.forEach((val, key) => {
        const colon = key.indexOf(':')
        const r = rowIndex.get(key.slice(0, colon))
        const c = colIndex.get(key.slice(colon + 1))
        if (r === undefined || c === undefined) return
        const input = inputOf(val)
        if (!input) return
        placed.push([r, c, input, key])
        usedR = Math.max(usedR, r + 1)
        usedC = Math.max(usedC, c + 1)
      })
    }
    return { ...s, used: [usedR, usedC], placed, fmt: p.fmt }
  })
}

/** A computed workbook: formatted values by sheet index and 0-based position. */
export class Evaluation {
  constructor (ydoc, locale, unnamed) {
    this.locale = locale
    this.sheets = readWorkbook(ydoc)
    const lay = layout(this.sheets, true, unnamed)
    this.names = lay.sheets.map((s) => s.name)
    const model = new Model('calc', locale, 'UTC', locale)
    this.model = model
    model.pauseEvaluation()
    this.sheets.forEach((s, i) => {
      if (i > 0) model.newSheet()
      try { model.renameSheet(i, lay.sheets[i].name) } catch {}
    })
    this.sheets.forEach((s, si) => {
      for (const [r, c, input, key] of s.placed) {
        let text
        switch (input.kind) {
          case 'number': text = formatNumber(input.value, locale); break
          case 'bool': text = boolName(locale, input.value); break
          case 'formula': text = toA1(input.value, locale, lay, si); break
          default: text = "'" + input.value
        }
        try { model.setUserInput(si, r + 1, c + 1, text) } catch {}
        const f = s.fmt && s.fmt.get(key)
        if (f && typeof f.nf === 'string' && f.nf && f.nf.length <= 255) {
          try { model.updateRangeStyle({ sheet: si, row: r + 1, column: c + 1, width: 1, height: 1 }, 'num_fmt', f.nf) } catch {}
        }
      }
    })
    model.resumeEvaluation()
    model.evaluate()
  }

  /** {text, number, error} of the cell at (sheet, row, col), 0-based. */
  cell (si, r, c) {
    try {
      const text = this.model.getFormattedCellValue(si, r + 1, c + 1)
      if (text === '') return null
      const type = this.model.getCellType(si, r + 1, c + 1)
      return { text, number: type === NUMBER_TYPE, error: type === ERROR_TYPE }
    } catch {
      return null
    }
  }

  free () {
    try { this.model.free() } catch {}
  }
}
