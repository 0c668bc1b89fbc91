// The calc page: the grid on the Yjs workbook (DESIGN.md §3), evaluated by IronCalc's wasm
// build, with the page chrome shared with the pad (presence, chat, sharing, connection state).
// The server's HTML shell gives <div id="app" data-kind="calc" data-wasm …>.

import * as Y from 'yjs'

import { h, clear } from '../common/dom.js'
import { icon } from '../common/icons.js'
import { t, initLang, onLang, bindText, lang, withLang } from '../common/i18n.js'
import { pageChrome } from '../common/chrome.js'
import { creatorDelete, goneKey } from '../common/creator.js'
import { calcFileMenu } from './menu.js'
import { historyPanel } from '../common/history.js'
import { renderCalcVersion } from './historyview.js'
import { remoteUser } from '../common/presence.js'
import { createGrid, DEFAULT_W } from './grid.js'
import { loadEngine, Evaluation } from './engine.js'
import { layout, colName, rangeRows } from './formula.js'
import { parseTyped, editText, inputOf, storedOf, parseNumber } from './value.js'
import * as D from './doc.js'

/** Most cells one formatting, clearing or paste operation touches. */
const MAX_OP_CELLS = 100000
const FORMATS = [['', 'general'], ['0', 'int'], ['0.00', 'dec2'], ['#,##0.00', 'thousands'], ['0%', 'pct'], ['dd/mm/yyyy', 'date']]

/** Rows of fields of a TSV text as spreadsheets copy it (quoted fields may hold tabs, newlines). */
export function parseTsv (text) {
  const rows = []
  let row = []
  let field = ''
  let i = 0
  const s = text.replace(/\r\n?/g, '\n').replace(/\n$/, '')
  while (i < s.length) {
    const ch = s[i]
    if (ch === '"' && field === '') {
      const end = s.indexOf('"', i + 1)
      let j = i + 1
      let q = ''
      while (j < s.length) {
        if (s[j] === '"') {
          if (s[j + 1] === '"') { q += '"'; j += 2; continue }
          break
        }
        q += s[j++]
      }
      if (end < 0 || (j + 1 < s.length && s[j + 1] !== '\t' && s[j + 1] !== '\n')) {
        field += ch
        i++
        continue
      }
      field = q
      i = j + 1
      continue
    }
    if (ch === '\t') { row.push(field); field = ''; i++; continue }
    if (ch === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++; continue }
    field += ch
    i++
  }
  row.push(field)
  rows.push(row)
  return rows
}

function tsvField (s) {
  return /[\t\n"]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s
}

function main () {
  const app = document.getElementById('app')
  if (!app) return
  const ds = app.dataset
  const nonce = document.querySelector('meta[name="csp-nonce"]')?.getAttribute('content') || ''
  // Read-only from the link, or from the moment the calc is erased (every check reads it live).
  let readOnly = ds.readonly === 'true'
  initLang(ds.lang)

  const ydoc = new Y.Doc()
  // This page's own edits carry LOCAL as their origin: the undo manager tracks that origin only,
  // never the updates the connection applies (other people's edits) nor the fixed first sheet.
  const LOCAL = { calcPage: true }
  /** Runs `fn` as one local edit: one transaction, so one undo step. */
  const edit = (fn) => ydoc.transact(fn, LOCAL)
  // An erased calc (close 4410): say why, stop editing; the connection stays closed.
  let gone = null
  const onGone = (reason) => {
    if (gone) return
    gone = h('div.gone', { role: 'alert' }, h('p.gone-text'), bindText(h('a', { href: withLang((ds.base || '') + '/') }), 'gone.home'))
    app.prepend(gone)
    creator.forget()
    readOnly = true
    stopEditing()
    onLang(() => { gone.querySelector('.gone-text').textContent = t(goneKey(reason, 'calc'), { reason }) })
  }
  const creator = creatorDelete({ ds, kind: 'calc', readOnly, onDeleted: () => onGone('deleted by its creator') })

  let locale = lang()
  let current = 0
  let sids = []
  let lay = layout([])
  const fileMenu = calcFileMenu({
    ds,
    readOnly,
    sheet: () => ({ index: current, name: lay.sheets[current] ? lay.sheets[current].name : `${t('calc.sheet')}${current + 1}` })
  })
  // History: every earlier version, previewed (the sheet on screen), exported and restored
  const history = historyPanel({
    ds,
    ydoc,
    nonce,
    readOnly,
    exports: ['csv', 'ods', 'xlsx', 'html'],
    exportLabel: (fmt) => t(fmt === 'csv' ? 'history.csv' : `calc.export.${fmt}`),
    render: (doc, host, authorClass) => renderCalcVersion(doc, host, authorClass, { locale: lang(), sheetId: sids[current] || null, unnamed: t('calc.sheet') })
  })
  const { conn, awareness, header, notice: operatorNotice, side, setSide, ensureAuthor, renderPeople } =
    pageChrome({ ydoc, ds, nonce, readOnly, exportMenu: fileMenu, headerExtras: [history && history.button, creator.button], onGone })
  let sheet = null // {id, rows, cols, rowIndex, colIndex, parts}
  let evaluation = null
  let engine = 'loading' // 'loading' | 'ready' | 'failed'
  // Undo and redo of this page's own edits only (origin LOCAL): the tab list and every sheet's
  // map (added to the scope as sheets appear). Each edit is one transaction and one step
  // (captureTimeout 0: two quick edits are never merged), so a sort, a paste, a row or column
  // insertion or deletion is undone whole.
  const undo = readOnly ? null : new Y.UndoManager([ydoc.getArray('sheets')], { trackedOrigins: new Set([LOCAL]), captureTimeout: 0 })

  function readStructure () {
    // The sheet on screen stays on screen when others add, move or delete tabs around it.
    const shown = sids[current]
    sids = D.sheetIds(ydoc)
    if (undo) undo.addToScope(sids.map((sid) => D.sheetMap(ydoc, sid)))
    const still = shown ? sids.indexOf(shown) : -1
    if (still >= 0) current = still
    if (current >= sids.length) current = Math.max(0, sids.length - 1)
    const sheets = sids.map((sid) => D.readSheet(ydoc, sid))
    lay = layout(sheets, false, t('calc.sheet'))
    const s = sheets[current]
    sheet = s ? { ...s, parts: D.sheetParts(ydoc, s.id), rowIndex: lay.sheets[current].rowIndex, colIndex: lay.sheets[current].colIndex } : null
  }
  const at = () => ({ layout: lay, sheet: current })
  const keyAt = (r, c) => (sheet && r < sheet.rows.length && c < sheet.cols.length ? D.cellKey(sheet.rows[r], sheet.cols[c]) : null)
  const inputAt = (r, c) => {
    const key = keyAt(r, c)
    return key && sheet.parts.cells ? inputOf(sheet.parts.cells.get(key)) : null
  }
  const fmtAt = (r, c) => {
    const key = keyAt(r, c)
    const f = key && sheet.parts.fmt ? sheet.parts.fmt.get(key) : null
    return f && typeof f === 'object' ? f : {}
  }

  // ---- grid ----------------------------------------------------------------------------------
  const nameBox = h('span.cell-name', { 'aria-live': 'off' })
  const bar = h('input.formula-bar', { type: 'text', id: 'formula-bar', spellcheck: false, autocomplete: 'off', readonly: readOnly })
  onLang(() => bar.setAttribute('aria-label', t('calc.formula')))

  const grid = createGrid({
    size: () => ({ rows: sheet ? sheet.rows.length : 0, cols: sheet ? sheet.cols.length : 0 }),
    width: (c) => {
      const m = sheet && sheet.parts.colmeta ? sheet.parts.colmeta.get(sheet.cols[c]) : null
      const w = m && typeof m.w === 'number' && Number.isFinite(m.w) ? m.w : DEFAULT_W
      return Math.max(30, Math.min(800, w))
    },
    cell: (r, c) => {
      const f = fmtAt(r, c)
      let v = null
      if (evaluation) v = evaluation.cell(current, r, c)
      else {
        const input = inputAt(r, c)
        if (input) v = { text: input.kind === 'formula' ? '…' : editText(input, locale, at()), number: input.kind === 'number' }
      }
      if (!v) return null
      return { ...v, bold: f.b === true, italic: f.i === true }
    },
    editText: (r, c) => {
      const input = inputAt(r, c)
      return input ? editText(input, locale, at()) : ''
    },
    remote: () => remoteSelections(),
    get readOnly () { return readOnly },
    onSelect: (sel) => {
      showSelection(sel)
      if (sheet) {
        awareness.setLocalStateField('cell', {
          s: sheet.id, r: sheet.rows[sel.r], c: sheet.cols[sel.c], r2: sheet.rows[sel.r2], c2: sheet.cols[sel.c2]
        })
      }
    },
    onCommit: (r, c, text) => commit(r, c, text),
    onClear: (sel) => clearRange(sel),
    onKey: (e) => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey) {
        const k = e.key.toLowerCase()
        if (k === 'z' && !e.shiftKey) { runUndo(false); return true }
        if ((k === 'z' && e.shiftKey) || (k === 'y' && !e.shiftKey)) { runUndo(true); return true }
      }
      if ((e.ctrlKey || e.metaKey) && !e.altKey && (e.key === 'b' || e.key === 'B')) { toggleFmt('b'); return true }
      if ((e.ctrlKey || e.metaKey) && !e.altKey && (e.key === 'i' || e.key === 'I')) { toggleFmt('i'); return true }
      if (e.altKey && e.shiftKey && !e.ctrlKey && !e.metaKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
        moveRows(e.key === 'ArrowUp' ? -1 : 1)
        return true
      }
      return false
    },
    onMenu: ({ x, y, c }) => openGridMenu(x, y, c),
    onResize: (c, w) => {
      if (readOnly || !sheet || !sheet.parts.colmeta) return
      edit(() => { ensureAuthor(); sheet.parts.colmeta.set(sheet.cols[c], { w }) })
    },
    onEditing: (text) => { if (text !== null) bar.value = text; else showSelection(grid.sel) }
  })

  function showSelection (sel) {
    const a = colName(sel.c + 1) + (sel.r + 1)
    const b = colName(sel.c2 + 1) + (sel.r2 + 1)
    nameBox.textContent = a === b ? a : `${a}:${b}`
    if (document.activeElement !== bar) bar.value = grid.isEditing() ? bar.value : (inputAt(sel.r, sel.c) ? editText(inputAt(sel.r, sel.c), locale, at()) : '')
    updateToolbar()
  }

  // ---- undo ----------------------------------------------------------------------------------
  // A step remembers the selection it was made with, and undoing or redoing it selects that
  // again, so the person sees what came back.
  if (undo) {
    undo.on('stack-item-added', (e) => { e.stackItem.meta.set('sel', { ...grid.sel }) })
    undo.on('stack-item-popped', (e) => {
      const s = e.stackItem.meta.get('sel')
      if (s) grid.select(s.r, s.c, s.r2, s.c2)
    })
    for (const ev of ['stack-item-added', 'stack-item-popped', 'stack-cleared']) undo.on(ev, () => updateUndoButtons())
  }
  function runUndo (redo) {
    if (readOnly || !undo) return
    if (redo) undo.redo()
    else undo.undo()
  }

  function remoteSelections () {
    const out = []
    if (!sheet) return out
    awareness.getStates().forEach((st, client) => {
      if (client === ydoc.clientID || !st || typeof st.cell !== 'object' || !st.cell) return
      const cs = st.cell
      if (cs.s !== sheet.id) return
      const idx = (m, id) => (typeof id === 'string' && m.has(id) ? m.get(id) : -1)
      const r1 = idx(sheet.rowIndex, cs.r)
      const c1 = idx(sheet.colIndex, cs.c)
      const r2 = idx(sheet.rowIndex, cs.r2)
      const c2 = idx(sheet.colIndex, cs.c2)
      if (r1 < 0 || c1 < 0) return
      const u = remoteUser(st, t('anonymous'))
      out.push({ client, name: u ? u.name : t('anonymous'), r1, c1, r2: r2 < 0 ? r1 : r2, c2: c2 < 0 ? c1 : c2 })
    })
    return out
  }

  // ---- edits ---------------------------------------------------------------------------------
  function commit (r, c, text) {
    if (readOnly || !sheet || !sheet.parts.cells) return
    const key = keyAt(r, c)
    if (!key) return
    const input = parseTyped(text, locale, at())
    const before = inputOf(sheet.parts.cells.get(key))
    if (!input && !before) return
    edit(() => {
      ensureAuthor()
      if (input) sheet.parts.cells.set(key, storedOf(input))
      else sheet.parts.cells.delete(key)
    })
  }

  function forRange (sel, fn) {
    const r0 = Math.min(sel.r, sel.r2)
    const r1 = Math.max(sel.r, sel.r2)
    const c0 = Math.min(sel.c, sel.c2)
    const c1 = Math.max(sel.c, sel.c2)
    if ((r1 - r0 + 1) * (c1 - c0 + 1) > MAX_OP_CELLS) return false
    for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) fn(r, c, keyAt(r, c))
    return true
  }

  function clearRange (sel) {
    if (readOnly || !sheet || !sheet.parts.cells) return
    edit(() => {
      ensureAuthor()
      forRange(sel, (r, c, key) => { if (key && sheet.parts.cells.has(key)) sheet.parts.cells.delete(key) })
    })
  }

  function setFmt (key, value) {
    if (readOnly || !sheet || !sheet.parts.fmt) return
    edit(() => {
      ensureAuthor()
      forRange(grid.sel, (r, c, k) => {
        if (!k) return
        const f = { ...fmtAt(r, c) }
        if (value === null || value === false || value === '') delete f[key]
        else f[key] = value
        if (Object.keys(f).length) sheet.parts.fmt.set(k, f)
        else if (sheet.parts.fmt.has(k)) sheet.parts.fmt.delete(k)
      })
    })
  }
  function toggleFmt (key) {
    const on = fmtAt(grid.sel.r, grid.sel.c)[key] === true
    setFmt(key, !on)
  }

  function structure (axis, op) {
    if (readOnly || !sheet) return
    const sel = grid.sel
    const isRows = axis === 'rows'
    const lo = isRows ? Math.min(sel.r, sel.r2) : Math.min(sel.c, sel.c2)
    const hi = isRows ? Math.max(sel.r, sel.r2) : Math.max(sel.c, sel.c2)
    const total = isRows ? sheet.rows.length : sheet.cols.length
    edit(() => {
      ensureAuthor()
      if (op === 'before') D.insertIds(ydoc, sheet.id, axis, lo, 1)
      else if (op === 'after') D.insertIds(ydoc, sheet.id, axis, hi + 1, 1)
      else if (op === 'delete' && hi - lo + 1 < total) D.deleteIds(ydoc, sheet.id, axis, lo, hi - lo + 1)
      else if (op === 'more') D.insertIds(ydoc, sheet.id, axis, total, Math.min(1000, D.MAX_ROWS - total))
    })
  }

  // ---- sorting and moving rows ----------------------------------------------------------------
  // Both rewrite only the sheet's `rows` id array (doc.js reorderIds): cells are keyed by row id
  // and formulas name rows by id, so every value and formula travels with its row. What that
  // means for ranges and under concurrency is written on schema::reorder. A sort reorders only
  // the rows of its target (sortTarget): rows above and below keep their places, and a range
  // over the sorted rows (a total under them) keeps covering the same positions.

  /** Whether the cell shows a number (typed, or computed by a formula). */
  function isNumber (r, c) {
    const input = inputAt(r, c)
    if (!input) return false
    if (input.kind === 'number') return true
    if (input.kind !== 'formula' || !evaluation) return false
    const v = evaluation.cell(current, r, c)
    return !!(v && v.number && !v.error)
  }

  /**
   * The rows a sort acts on: the selection's rows, or with a single cell selected the block of
   * data around it (grown while a neighbouring row or column, diagonals included, holds a cell;
   * so bounded by blank rows and columns), without its trailing summary rows (rows whose formula
   * has a range over rows of the block above them, as `=SUM(B2:B5)` under B2:B5). `header`: the
   * first row is text where the row below holds a number (the menu lets the person change it).
   * @returns {{r0: number, r1: number, c0: number, c1: number, header: boolean}}
   */
  function sortTarget () {
    const sel = grid.sel
    let r0 = Math.min(sel.r, sel.r2)
    let r1 = Math.max(sel.r, sel.r2)
    let c0 = Math.min(sel.c, sel.c2)
    let c1 = Math.max(sel.c, sel.c2)
    const rows = sheet.rows.length
    const cols = sheet.cols.length
    if (r0 === r1 && c0 === c1) {
      const rowHas = (r, a, b) => {
        for (let c = Math.max(0, a); c <= Math.min(cols - 1, b); c++) if (inputAt(r, c)) return true
        return false
      }
      const colHas = (c, a, b) => {
        for (let r = Math.max(0, a); r <= Math.min(rows - 1, b); r++) if (inputAt(r, c)) return true
        return false
      }
      // Rows grow as far as they go, then columns; a pass repeats only when something grew, so
      // each scan of an edge either grows the block or ends that side for the pass.
      for (let grew = true; grew;) {
        grew = false
        while (r0 > 0 && rowHas(r0 - 1, c0 - 1, c1 + 1)) { r0--; grew = true }
        while (r1 < rows - 1 && rowHas(r1 + 1, c0 - 1, c1 + 1)) { r1++; grew = true }
        while (c0 > 0 && colHas(c0 - 1, r0 - 1, r1 + 1)) { c0--; grew = true }
        while (c1 < cols - 1 && colHas(c1 + 1, r0 - 1, r1 + 1)) { c1++; grew = true }
      }
      const isSummary = (r) => {
        for (let c = c0; c <= c1; c++) {
          const input = inputAt(r, c)
          if (!input || input.kind !== 'formula') continue
          for (const [a, b] of rangeRows(input.value, sheet.id, sheet.id)) {
            const ra = sheet.rowIndex.get(a)
            const rb = sheet.rowIndex.get(b)
            if (ra !== undefined && rb !== undefined && Math.min(ra, rb) >= r0 && Math.max(ra, rb) < r) return true
          }
        }
        return false
      }
      while (r1 > r0 && isSummary(r1)) r1--
    }
    let header = false
    if (r1 > r0) {
      let texts = 0
      let numberBelow = false
      for (let c = c0; c <= c1; c++) {
        const input = inputAt(r0, c)
        if (!input) continue
        if (input.kind !== 'text') { texts = -1; break }
        texts++
        if (isNumber(r0 + 1, c)) numberBelow = true
      }
      header = texts > 0 && numberBelow
    }
    return { r0, r1, c0, c1, header }
  }

  /** What row `rowId` sorts by in column `c`: its computed value, else its input. */
  function sortKey (rowId, c) {
    const r = sheet.rowIndex.get(rowId)
    const input = sheet.parts.cells ? inputOf(sheet.parts.cells.get(D.cellKey(rowId, sheet.cols[c]))) : null
    if (!input || r === undefined) return null
    switch (input.kind) {
      case 'number': return { kind: 'number', value: input.value }
      case 'bool': return { kind: 'number', value: input.value ? 1 : 0 }
      case 'text': return input.value === '' ? null : { kind: 'text', value: input.value }
    }
    const v = evaluation ? evaluation.cell(current, r, c) : null
    if (!v) return evaluation ? null : { kind: 'text', value: input.value }
    if (v.error) return { kind: 'error', value: v.text }
    // The engine gives formatted text: a number result is read back in the viewer's locale
    // (a number format such as a date may make it text, which then sorts as text).
    const n = v.number ? parseNumber(v.text, locale) : null
    return n !== null ? { kind: 'number', value: n } : { kind: 'text', value: v.text }
  }

  function sortBy (target, c, descending) {
    if (readOnly || !sheet) return
    const collator = new Intl.Collator(locale, { sensitivity: 'base', numeric: false })
    const sid = sheet.id
    edit(() => {
      ensureAuthor()
      D.sortRows(ydoc, sid, descending, target.header, (rowId) => sortKey(rowId, c), collator, target.r0, target.r1)
    })
    // The sorted rows stay selected, as spreadsheets do.
    grid.select(target.r0, target.c0, target.r1, target.c1)
  }

  /** Moves the selected rows by one (`by` = -1 up, 1 down); the selection follows them. */
  function moveRows (by) {
    if (readOnly || !sheet) return
    const sel = grid.sel
    const lo = Math.min(sel.r, sel.r2)
    const n = Math.abs(sel.r - sel.r2) + 1
    const sid = sheet.id
    let moved = false
    edit(() => {
      ensureAuthor()
      moved = D.moveIds(ydoc, sid, 'rows', lo, n, by)
    })
    if (moved) grid.select(sel.r + by, sel.c, sel.r2 + by, sel.c2)
  }

  // ---- menus (grid and sheet tabs) -------------------------------------------------------------
  // One small menu at a time: role=menu with its items, arrow keys move, Escape or a click
  // elsewhere closes it and focus goes back where it was.
  let menu = null
  function closeMenu (refocus = true) {
    if (!menu) return
    const { el, back } = menu
    menu = null
    el.remove()
    document.removeEventListener('mousedown', outside, true)
    if (refocus && back) back.focus()
  }
  function outside (e) { if (menu && !menu.el.contains(e.target)) closeMenu(false) }
  /** items: {label, run, cls, checked?, disabled?, keep?} or 'sep'. */
  function openMenu (x, y, items, labelKey, back) {
    closeMenu(false)
    const el = h('div.calc-menu', { role: 'menu' })
    el.setAttribute('aria-label', t(labelKey))
    const buttons = []
    for (const it of items) {
      if (it === 'sep') { el.appendChild(h('div.calc-menu-sep', { role: 'separator' })); continue }
      const check = typeof it.checked === 'boolean'
      const b = h('button.calc-menu-item' + (it.cls ? '.' + it.cls : ''), {
        type: 'button',
        role: check ? 'menuitemcheckbox' : 'menuitem',
        tabindex: '-1',
        disabled: it.disabled ? true : null,
        onclick: () => {
          if (it.keep) { it.run(b); return }
          closeMenu()
          it.run()
        }
      }, it.label)
      if (check) b.setAttribute('aria-checked', String(it.checked))
      buttons.push(b)
      el.appendChild(b)
    }
    el.addEventListener('keydown', (e) => {
      const live = buttons.filter((b) => !b.disabled)
      const i = live.indexOf(document.activeElement)
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault()
        const d = e.key === 'ArrowDown' ? 1 : -1
        live[(i + d + live.length) % live.length]?.focus()
      } else if (e.key === 'Home' || e.key === 'End') {
        e.preventDefault()
        live[e.key === 'Home' ? 0 : live.length - 1]?.focus()
      } else if (e.key === 'Escape' || e.key === 'Tab') {
        e.preventDefault()
        closeMenu()
      }
    })
    document.body.appendChild(el)
    // Kept inside the window.
    const box = el.getBoundingClientRect()
    el.style.left = Math.max(4, Math.min(x, window.innerWidth - box.width - 4)) + 'px'
    el.style.top = Math.max(4, Math.min(y, window.innerHeight - box.height - 4)) + 'px'
    menu = { el, back }
    document.addEventListener('mousedown', outside, true)
    buttons.find((b) => !b.disabled)?.focus()
  }

  function openGridMenu (x, y, c) {
    if (readOnly || !sheet) return
    const col = colName(c + 1)
    const sel = grid.sel
    const lo = Math.min(sel.r, sel.r2)
    const hi = Math.max(sel.r, sel.r2)
    const target = sortTarget()
    const range = colName(target.c0 + 1) + (target.r0 + 1) + ':' + colName(target.c1 + 1) + (target.r1 + 1)
    openMenu(x, y, [
      { label: t('calc.sortRange', { range }), cls: 'menu-sort-range', disabled: true, run: () => {} },
      { label: t('calc.sortAsc', { col }), cls: 'menu-sort-asc', run: () => sortBy(target, c, false) },
      { label: t('calc.sortDesc', { col }), cls: 'menu-sort-desc', run: () => sortBy(target, c, true) },
      {
        label: t('calc.sortHeader'),
        cls: 'menu-sort-header',
        checked: target.header,
        keep: true,
        run: (b) => { target.header = !target.header; b.setAttribute('aria-checked', String(target.header)) }
      },
      'sep',
      { label: t('calc.moveUp'), cls: 'menu-move-up', disabled: lo === 0, run: () => moveRows(-1) },
      { label: t('calc.moveDown'), cls: 'menu-move-down', disabled: hi >= sheet.rows.length - 1, run: () => moveRows(1) }
    ], 'calc.gridMenu', grid.focusEl)
  }

  // ---- clipboard: TSV, to and from LibreOffice / Excel ----------------------------------------
  const gridFocused = () => document.activeElement === grid.focusEl
  document.addEventListener('copy', (e) => {
    if (!gridFocused() || !sheet) return
    const lines = []
    const sel = grid.sel
    let row = []
    let lastR = -1
    const ok = forRange(sel, (r, c) => {
      if (r !== lastR && lastR >= 0) { lines.push(row.join('\t')); row = [] }
      lastR = r
      const v = evaluation ? evaluation.cell(current, r, c) : null
      const input = inputAt(r, c)
      row.push(tsvField(v ? v.text : (input ? editText(input, locale, at()) : '')))
    })
    if (!ok) return
    lines.push(row.join('\t'))
    e.clipboardData.setData('text/plain', lines.join('\n') + '\n')
    e.preventDefault()
  })
  document.addEventListener('cut', (e) => {
    if (!gridFocused() || readOnly) return
    document.dispatchEvent(new ClipboardEvent('copy', { clipboardData: e.clipboardData }))
    clearRange(grid.sel)
    e.preventDefault()
  })
  document.addEventListener('paste', (e) => {
    if (!gridFocused() || readOnly || !sheet || !sheet.parts.cells) return
    const text = e.clipboardData ? e.clipboardData.getData('text/plain') : ''
    if (!text) return
    e.preventDefault()
    pasteTsv(text)
  })
  function pasteTsv (text) {
    const rows = parseTsv(text)
    const r0 = Math.min(grid.sel.r, grid.sel.r2)
    const c0 = Math.min(grid.sel.c, grid.sel.c2)
    let n = 0
    edit(() => {
      ensureAuthor()
      rows.forEach((fields, dr) => {
        fields.forEach((field, dc) => {
          const key = keyAt(r0 + dr, c0 + dc)
          if (!key || ++n > MAX_OP_CELLS) return
          const input = parseTyped(field, locale, { layout: lay, sheet: current })
          if (input) sheet.parts.cells.set(key, storedOf(input))
          else if (sheet.parts.cells.has(key)) sheet.parts.cells.delete(key)
        })
      })
    })
    const width = Math.max(...rows.map((f) => f.length))
    grid.select(r0, c0, r0 + rows.length - 1, c0 + width - 1)
  }

  // ---- formula bar ---------------------------------------------------------------------------
  bar.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault()
      commit(grid.sel.r, grid.sel.c, bar.value)
      grid.select(grid.sel.r + 1, grid.sel.c)
      grid.focus()
    } else if (e.key === 'Escape') {
      e.preventDefault()
      showSelection(grid.sel)
      grid.focus()
    }
  })

  // ---- toolbar -------------------------------------------------------------------------------
  const tbButton = (labelKey, glyph, run, cls) => {
    const b = h('button.tb' + (cls ? '.' + cls : ''), { type: 'button', onmousedown: (e) => e.preventDefault(), onclick: run }, h('span', { 'aria-hidden': 'true' }, glyph))
    onLang(() => { b.title = t(labelKey); b.setAttribute('aria-label', t(labelKey).replace(/ \(.*\)$/, '')) })
    return b
  }
  /**
   * A button with an icon and its visible text: its accessible name is that text, or `nameKey`'s
   * longer name, which starts with it (WCAG 2.5.3: the name contains what is shown).
   */
  const textButton = (textKey, titleKey, iconName, run, cls, nameKey) => {
    const text = h('span.tb-text.narrow-hidden')
    const b = h('button.tb.tb-labelled.' + cls, { type: 'button', onmousedown: (e) => e.preventDefault(), onclick: run }, icon(iconName), text)
    onLang(() => {
      text.textContent = t(textKey)
      b.title = t(titleKey)
      if (nameKey) b.setAttribute('aria-label', t(nameKey))
    })
    return b
  }
  const group = (labelKey, ...buttons) => {
    const g = h('div.tb-group', { role: 'group' }, ...buttons)
    onLang(() => g.setAttribute('aria-label', t(labelKey)))
    return g
  }
  const sortButton = textButton('calc.tb.sort', 'calc.sortMenu', 'sort', () => {
    const box = sortButton.getBoundingClientRect()
    openGridMenu(box.left, box.bottom, grid.sel.c)
  }, 'tb-sort')
  sortButton.setAttribute('aria-haspopup', 'menu')
  const undoBtn = textButton('calc.tb.undo', 'calc.tb.undoTitle', 'undo', () => runUndo(false), 'tb-undo')
  const redoBtn = textButton('calc.tb.redo', 'calc.tb.redoTitle', 'redo', () => runUndo(true), 'tb-redo')
  function updateUndoButtons () {
    undoBtn.disabled = !undo || !undo.canUndo()
    redoBtn.disabled = !undo || !undo.canRedo()
  }
  updateUndoButtons()
  const boldBtn = tbButton('calc.bold', 'B', () => toggleFmt('b'), 'tb-bold')
  const italicBtn = tbButton('calc.italic', 'I', () => toggleFmt('i'), 'tb-italic')
  boldBtn.setAttribute('aria-pressed', 'false')
  italicBtn.setAttribute('aria-pressed', 'false')
  const fmtSelect = h('select.fmt-select', { onchange: (e) => { setFmt('nf', e.target.value); grid.focus() } })
  onLang(() => {
    clear(fmtSelect)
    for (const [code, key] of FORMATS) fmtSelect.appendChild(h('option', { value: code }, t('calc.fmt.' + key)))
    fmtSelect.setAttribute('aria-label', t('calc.format'))
    fmtSelect.title = t('calc.format')
    updateToolbar()
  })
  function updateToolbar () {
    if (!sheet) return
    const f = fmtAt(grid.sel.r, grid.sel.c)
    boldBtn.setAttribute('aria-pressed', f.b === true ? 'true' : 'false')
    italicBtn.setAttribute('aria-pressed', f.i === true ? 'true' : 'false')
    fmtSelect.value = typeof f.nf === 'string' && FORMATS.some(([c]) => c === f.nf) ? f.nf : ''
  }
  const toolbar = readOnly
    ? null
    : h('div.toolbar.calc-toolbar', { role: 'toolbar' },
      group('calc.group.edit', undoBtn, redoBtn),
      group('calc.group.format', boldBtn, italicBtn, fmtSelect),
      group('calc.group.rows',
        textButton('calc.tb.rowAbove', 'calc.rowAbove', 'rowAbove', () => structure('rows', 'before'), 'tb-row-above'),
        textButton('calc.tb.rowBelow', 'calc.rowBelow', 'rowBelow', () => structure('rows', 'after'), 'tb-row-below'),
        textButton('calc.tb.delete', 'calc.deleteRows', 'rowDelete', () => structure('rows', 'delete'), 'tb-row-delete', 'calc.tb.deleteRows'),
        textButton('calc.tb.more', 'calc.moreRows', 'moreRows', () => structure('rows', 'more'), 'tb-more-rows', 'calc.tb.moreRows')),
      group('calc.group.cols',
        textButton('calc.tb.colLeft', 'calc.colLeft', 'colLeft', () => structure('cols', 'before'), 'tb-col-left'),
        textButton('calc.tb.delete', 'calc.deleteCols', 'colDelete', () => structure('cols', 'delete'), 'tb-col-delete', 'calc.tb.deleteCols')),
      group('calc.group.sort', sortButton))
  if (toolbar) onLang(() => toolbar.setAttribute('aria-label', t('toolbar')))

  // ---- sheet tabs ----------------------------------------------------------------------------
  // Each tab has a menu (a click on the tab on screen, right click, or the ContextMenu key /
  // Shift+F10 on the focused tab):
  // rename, move left or right, delete (confirmed; never the last sheet).
  const tabs = h('nav.sheet-tabs')
  let renameDlg = null
  /** The rename dialog (in the page: a native prompt() cannot be styled, translated or tested). */
  function renameSheet (sid, name) {
    if (readOnly) return
    closeMenu(false)
    if (!renameDlg) {
      renameDlg = h('dialog.dialog.sheet-rename-dialog', { 'aria-labelledby': 'sheet-rename-title' })
      document.body.appendChild(renameDlg)
    }
    clear(renameDlg)
    const back = document.activeElement
    const input = h('input#sheet-rename-input', { type: 'text', value: name, maxlength: 31, autocomplete: 'off', spellcheck: false, required: true })
    const cancel = h('button.btn.sheet-rename-cancel', { type: 'button', onclick: () => renameDlg.close() }, t('calc.cancel'))
    const ok = h('button.btn.btn-primary.sheet-rename-ok', { type: 'submit' }, t('calc.renameOk'))
    const form = h('form', { method: 'dialog' },
      h('h2#sheet-rename-title', null, t('calc.renameTitle', { name })),
      h('div.field', null, h('label', { for: 'sheet-rename-input' }, t('calc.renameSheet')), input),
      h('div.dialog-actions', null, cancel, ok))
    form.addEventListener('submit', (e) => {
      e.preventDefault()
      const answer = input.value.trim().slice(0, 31)
      renameDlg.close()
      if (answer && answer !== name && D.sheetIds(ydoc).includes(sid)) {
        edit(() => { ensureAuthor(); D.sheetMap(ydoc, sid).set('name', answer) })
      }
    })
    renameDlg.onclose = () => { if (back && back.isConnected) back.focus() }
    renameDlg.append(form)
    renameDlg.showModal()
    input.select()
  }
  function moveSheet (sid, by) {
    // The moved tab becomes the one shown, and readStructure follows it to its new place.
    const i = sids.indexOf(sid)
    if (i >= 0) current = i
    edit(() => { ensureAuthor(); D.moveSheet(ydoc, sid, by) })
    refresh()
    tabs.querySelectorAll('.sheet-tab')[current]?.focus()
  }
  let deleteDlg = null
  function confirmDelete (sid, name) {
    if (!deleteDlg) {
      deleteDlg = h('dialog.dialog.sheet-delete-dialog', { 'aria-labelledby': 'sheet-delete-title' })
      document.body.appendChild(deleteDlg)
    }
    clear(deleteDlg)
    const ok = h('button.btn.btn-danger.sheet-delete-ok', { type: 'button' }, t('calc.deleteSheetOk'))
    const cancel = h('button.btn.sheet-delete-cancel', { type: 'button', onclick: () => deleteDlg.close() }, t('calc.cancel'))
    ok.addEventListener('click', () => {
      deleteDlg.close()
      let done = false
      edit(() => { ensureAuthor(); done = D.deleteSheet(ydoc, sid) })
      if (done) {
        current = Math.max(0, Math.min(current, D.sheetIds(ydoc).length - 1))
        refresh()
        grid.select(0, 0)
        grid.focus()
      }
    })
    deleteDlg.append(
      h('h2#sheet-delete-title', null, t('calc.deleteSheetTitle', { name })),
      h('p.hint', null, t('calc.deleteSheetHint')),
      h('div.dialog-actions', null, cancel, ok))
    deleteDlg.showModal()
    cancel.focus()
  }
  function openTabMenu (x, y, i, back) {
    if (readOnly) return
    const sid = sids[i]
    const name = lay.sheets[i] ? lay.sheets[i].name : sid
    openMenu(x, y, [
      { label: t('calc.renameSheetItem'), cls: 'menu-sheet-rename', run: () => renameSheet(sid, name) },
      { label: t('calc.moveSheetLeft'), cls: 'menu-sheet-left', disabled: i === 0, run: () => moveSheet(sid, -1) },
      { label: t('calc.moveSheetRight'), cls: 'menu-sheet-right', disabled: i >= sids.length - 1, run: () => moveSheet(sid, 1) },
      'sep',
      { label: t('calc.deleteSheet'), cls: 'menu-sheet-delete', disabled: sids.length <= 1, run: () => confirmDelete(sid, name) }
    ], 'calc.sheetMenu', back)
  }
  function renderTabs () {
    clear(tabs)
    sids.forEach((sid, i) => {
      const name = lay.sheets[i] ? lay.sheets[i].name : sid
      const b = h('button.sheet-tab', {
        type: 'button',
        'aria-current': i === current ? 'page' : null,
        'aria-haspopup': readOnly ? null : 'menu',
        // A click on the tab on screen opens its menu (touch screens have no right click).
        onclick: () => {
          if (current !== i) { current = i; refresh(); grid.select(0, 0); return }
          if (readOnly) return
          const box = b.getBoundingClientRect()
          openTabMenu(box.left, box.top, i, b)
        },
        ondblclick: () => { if (!readOnly) renameSheet(sid, name) },
        oncontextmenu: (e) => {
          if (readOnly) return
          e.preventDefault()
          openTabMenu(e.clientX, e.clientY, i, b)
        },
        onkeydown: (e) => {
          if (e.key === 'ContextMenu' || (e.key === 'F10' && e.shiftKey)) {
            e.preventDefault()
            const box = b.getBoundingClientRect()
            openTabMenu(box.left, box.top, i, b)
          }
        }
      }, name)
      tabs.appendChild(b)
    })
    if (!readOnly) {
      const add = h('button.sheet-tab.sheet-add', {
        type: 'button',
        onclick: () => {
          edit(() => { ensureAuthor(); D.addSheet(ydoc, `${t('calc.sheet')}${sids.length + 1}`) })
          current = D.sheetIds(ydoc).length - 1
          refresh()
        }
      }, '+')
      add.setAttribute('aria-label', t('calc.addSheet'))
      add.title = t('calc.addSheet')
      tabs.appendChild(add)
    }
  }
  onLang(() => renderTabs())

  // ---- evaluation ----------------------------------------------------------------------------
  const notice = h('p.calc-notice', { role: 'status' })
  let evalQueued = false
  function evaluateNow () {
    evalQueued = false
    if (engine !== 'ready') return
    try {
      // Kept between changes: it re-evaluates what changed, or rebuilds when it must.
      if (!evaluation) evaluation = new Evaluation(ydoc)
      evaluation.refresh(locale, t('calc.sheet'))
    } catch (err) {
      if (evaluation) evaluation.free()
      evaluation = null
      console.error('evaluation failed', err)
    }
    grid.refresh()
  }
  const scheduleEval = () => {
    if (evalQueued) return
    evalQueued = true
    setTimeout(evaluateNow, 0)
  }
  function refresh () {
    readStructure()
    renderTabs()
    grid.relayout()
    showSelection(grid.sel)
    scheduleEval()
  }
  ydoc.on('update', () => refresh())
  awareness.on('change', () => grid.refresh())
  onLang((l) => {
    if (l !== locale) {
      locale = l
      showSelection(grid.sel)
      scheduleEval()
    }
    notice.textContent = engine === 'failed' ? t('calc.engineFailed') : engine === 'loading' ? t('calc.loading') : ''
  })

  loadEngine(ds.wasm).then(() => {
    engine = 'ready'
    notice.textContent = ''
    notice.hidden = true
    evaluateNow()
  }, (err) => {
    engine = 'failed'
    notice.textContent = t('calc.engineFailed')
    console.error('IronCalc failed to load', err)
  })

  let synced = false
  conn.provider.on('sync', (s) => {
    synced = s
    if (synced && !readOnly) {
      D.ensureFirstSheet(ydoc)
      refresh()
    }
  })
  // Two people deleting the last two sheets at once leave none: give the workbook a new one
  // (after the update that emptied it, not inside its event). Several people may each add one.
  ydoc.on('update', () => {
    if (synced && !readOnly && sids.length === 0) {
      setTimeout(() => { if (D.sheetIds(ydoc).length === 0) { D.ensureFirstSheet(ydoc); refresh() } }, 0)
    }
  })

  // An erased calc keeps what is on screen, read-only: no toolbar, no typing, no new sheet.
  function stopEditing () {
    bar.readOnly = true
    if (toolbar) toolbar.hidden = true
    document.getElementById('expiry')?.remove()
    grid.cancelEdit()
    renderTabs()
  }

  // ---- layout --------------------------------------------------------------------------------
  const main = h('main.pad-main.calc-main', null,
    toolbar,
    h('div.formula-line', null, nameBox, bar),
    notice,
    grid.el,
    tabs)
  // the server's sentence saying when the calc is erased if nobody edits it
  const expiry = document.getElementById('expiry')
  if (expiry) main.appendChild(expiry)
  onLang(() => grid.focusEl.setAttribute('aria-label', t('calc.grid')))
  clear(app)
  app.classList.add('pad-app', 'calc-app')
  app.append(header, operatorNotice, h('div.pad-body', null, main, history && history.panel, side))
  setSide(window.matchMedia('(min-width: 1200px)').matches)
  refresh()
  renderPeople()
  grid.select(0, 0)
  grid.focus()

  // For tests and debugging from the console: read-only handles, no secrets.
  window.ardoise = { ydoc, provider: conn.provider, grid, evaluate: evaluateNow, value: (r, c) => evaluation && evaluation.cell(current, r, c), pasteTsv }
}

main()
