// A past version of a calc, read-only, in the History panel: one sheet of the version (the one on
// screen if the version has it, else its first) as a small table of what its cells hold (numbers
// in the reader's locale, formulas as typed, not evaluated), each cell shaded in the colour of
// the author who last wrote it, over the used extent only and bounded.

import { h } from '../common/dom.js'
import { t } from '../common/i18n.js'
import * as D from './doc.js'
import { layout, colName, toA1 } from './formula.js'
import { inputOf, formatNumber } from './value.js'
import { boolName } from './locale.js'

/** Rows and columns of a version drawn at most (exports have them all). */
export const PREVIEW_ROWS = 200
export const PREVIEW_COLS = 40

/**
 * @param {import('yjs').Doc} doc
 * @param {HTMLElement} host
 * @param {(client: number) => string} authorClass
 * @param {{ locale: string, sheetId: string | null, unnamed: string }} opts
 */
export function renderCalcVersion (doc, host, authorClass, { locale, sheetId, unnamed }) {
  const sids = D.sheetIds(doc)
  if (!sids.length) {
    host.appendChild(h('p.history-blank', null, t('history.blank')))
    return
  }
  const index = Math.max(0, sids.indexOf(sheetId))
  const sheets = sids.map((sid) => D.readSheet(doc, sid))
  const lay = layout(sheets, false, unnamed)
  const sheet = sheets[index]
  const cells = D.sheetParts(doc, sheet.id).cells
  // The used extent: the last row and column that hold something.
  let lastRow = -1
  let lastCol = -1
  const rowAt = new Map(sheet.rows.map((id, i) => [id, i]))
  const colAt = new Map(sheet.cols.map((id, i) => [id, i]))
  if (cells) {
    cells.forEach((v, key) => {
      if (!inputOf(v)) return
      const [r, c] = key.split(':')
      const ri = rowAt.get(r)
      const ci = colAt.get(c)
      if (ri === undefined || ci === undefined) return
      if (ri > lastRow) lastRow = ri
      if (ci > lastCol) lastCol = ci
    })
  }
  host.appendChild(h('p.history-sheet', null, t('history.sheet', { name: lay.sheets[index].name, n: index + 1, total: sids.length })))
  if (lastRow < 0) {
    host.appendChild(h('p.history-blank', null, t('history.blank')))
    return
  }
  const nRows = Math.min(lastRow + 1, PREVIEW_ROWS)
  const nCols = Math.min(lastCol + 1, PREVIEW_COLS)
  const shown = (input) => {
    switch (input.kind) {
      case 'number': return formatNumber(input.value, locale)
      case 'bool': return boolName(locale, input.value)
      case 'formula': return toA1(input.value, locale, lay, index)
      default: return input.value
    }
  }
  const head = h('tr', null, h('th', { scope: 'col' }, h('span.visually-hidden', null, t('history.rowcol'))))
  for (let c = 0; c < nCols; c++) head.appendChild(h('th', { scope: 'col' }, colName(c + 1)))
  const body = h('tbody')
  for (let r = 0; r < nRows; r++) {
    const tr = h('tr', null, h('th', { scope: 'row' }, String(r + 1)))
    for (let c = 0; c < nCols; c++) {
      const key = D.cellKey(sheet.rows[r], sheet.cols[c])
      const input = cells ? inputOf(cells.get(key)) : null
      if (!input) {
        tr.appendChild(h('td'))
        continue
      }
      // The map entry's item: the client that last wrote this cell.
      const item = cells._map.get(key)
      const cls = ['au', item ? authorClass(item.id.client) : '', input.kind === 'number' ? 'num' : '', input.kind === 'formula' ? 'formula' : ''].filter(Boolean).join(' ')
      tr.appendChild(h('td', { class: cls }, shown(input)))
    }
    body.appendChild(tr)
  }
  host.appendChild(h('table.history-grid', null, h('thead', null, head), body))
  if (lastRow + 1 > nRows || lastCol + 1 > nCols) host.appendChild(h('p.history-cut', null, t('history.cut')))
}
