// The calc page: the grid on the Yjs workbook (DESIGN.md §3), evaluated by IronCalc's wasm
// build, with the page chrome shared with the pad (presence, chat, sharing, connection state).
// The server's HTML shell gives <div id="app" data-kind="calc" data-wasm …>.

import * as Y from 'yjs'

import { h, clear } from './dom.js'
import { t, initLang, onLang, bindText, lang } from './i18n.js'
import { pageChrome } from './chrome.js'
import { creatorDelete, goneKey } from './creator.js'
import { calcFileMenu } from './calc/menu.js'
import { remoteUser } from './cursors.js'
import { createGrid, DEFAULT_W } from './calc/grid.js'
import { loadEngine, Evaluation } from './calc/engine.js'
import { layout, colName } from './calc/formula.js'
import { parseTyped, editText, inputOf, storedOf } from './calc/value.js'
import * as D from './calc/doc.js'

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
  const readOnly = ds.readonly === 'true'
  initLang(ds.lang)

  const ydoc = new Y.Doc()
  // An erased calc (close 4410): say why; the connection stays closed.
  let gone = null
  const onGone = (reason) => {
    if (gone) return
    gone = h('div.gone', { role: 'alert' }, h('p.gone-text'), bindText(h('a', { href: (ds.base || '') + '/' }), 'gone.home'))
    app.prepend(gone)
    creator.forget()
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
  const { conn, awareness, header, notice: operatorNotice, side, setSide, ensureAuthor, renderPeople } =
    pageChrome({ ydoc, ds, nonce, readOnly, exportMenu: fileMenu, headerExtras: creator.button, onGone })
  let sheet = null // {id, rows, cols, rowIndex, colIndex, parts}
  let evaluation = null
  let engine = 'loading' // 'loading' | 'ready' | 'failed'

  function readStructure () {
    sids = D.sheetIds(ydoc)
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
    readOnly,
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
      if ((e.ctrlKey || e.metaKey) && !e.altKey && (e.key === 'b' || e.key === 'B')) { toggleFmt('b'); return true }
      if ((e.ctrlKey || e.metaKey) && !e.altKey && (e.key === 'i' || e.key === 'I')) { toggleFmt('i'); return true }
      return false
    },
    onResize: (c, w) => {
      if (readOnly || !sheet || !sheet.parts.colmeta) return
      ydoc.transact(() => { ensureAuthor(); sheet.parts.colmeta.set(sheet.cols[c], { w }) })
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
    ydoc.transact(() => {
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
    ydoc.transact(() => {
      ensureAuthor()
      forRange(sel, (r, c, key) => { if (key && sheet.parts.cells.has(key)) sheet.parts.cells.delete(key) })
    })
  }

  function setFmt (key, value) {
    if (readOnly || !sheet || !sheet.parts.fmt) return
    ydoc.transact(() => {
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
    ydoc.transact(() => {
      ensureAuthor()
      if (op === 'before') D.insertIds(ydoc, sheet.id, axis, lo, 1)
      else if (op === 'after') D.insertIds(ydoc, sheet.id, axis, hi + 1, 1)
      else if (op === 'delete' && hi - lo + 1 < total) D.deleteIds(ydoc, sheet.id, axis, lo, hi - lo + 1)
      else if (op === 'more') D.insertIds(ydoc, sheet.id, axis, total, Math.min(1000, D.MAX_ROWS - total))
    })
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
    ydoc.transact(() => {
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
      h('div.tb-group', null, boldBtn, italicBtn, fmtSelect),
      h('div.tb-group', null,
        tbButton('calc.rowAbove', '+↑', () => structure('rows', 'before'), 'tb-row-above'),
        tbButton('calc.rowBelow', '+↓', () => structure('rows', 'after'), 'tb-row-below'),
        tbButton('calc.deleteRows', '−≡', () => structure('rows', 'delete'), 'tb-row-delete')),
      h('div.tb-group', null,
        tbButton('calc.colLeft', '+←', () => structure('cols', 'before'), 'tb-col-left'),
        tbButton('calc.deleteCols', '−‖', () => structure('cols', 'delete'), 'tb-col-delete')),
      h('div.tb-group', null, tbButton('calc.moreRows', '+1000', () => structure('rows', 'more'), 'tb-more-rows')))
  if (toolbar) onLang(() => toolbar.setAttribute('aria-label', t('toolbar')))

  // ---- sheet tabs ----------------------------------------------------------------------------
  const tabs = h('nav.sheet-tabs')
  function renderTabs () {
    clear(tabs)
    sids.forEach((sid, i) => {
      const name = lay.sheets[i] ? lay.sheets[i].name : sid
      const b = h('button.sheet-tab', {
        type: 'button',
        'aria-current': i === current ? 'page' : null,
        onclick: () => { if (current !== i) { current = i; refresh(); grid.select(0, 0) } },
        ondblclick: () => {
          if (readOnly) return
          const answer = window.prompt(t('calc.renameSheet'), name)
          if (answer && answer.trim()) ydoc.transact(() => { ensureAuthor(); D.sheetMap(ydoc, sid).set('name', answer.trim().slice(0, 31)) })
        }
      }, name)
      tabs.appendChild(b)
    })
    if (!readOnly) {
      const add = h('button.sheet-tab.sheet-add', {
        type: 'button',
        onclick: () => {
          ydoc.transact(() => { ensureAuthor(); D.addSheet(ydoc, `${t('calc.sheet')}${sids.length + 1}`) })
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

  conn.provider.on('sync', (synced) => {
    if (synced && !readOnly) {
      D.ensureFirstSheet(ydoc)
      refresh()
    }
  })

  // ---- layout --------------------------------------------------------------------------------
  const main = h('main.pad-main.calc-main', null,
    toolbar,
    h('div.formula-line', null, nameBox, bar),
    notice,
    grid.el,
    tabs)
  onLang(() => grid.focusEl.setAttribute('aria-label', t('calc.grid')))
  clear(app)
  app.classList.add('pad-app', 'calc-app')
  app.append(header, operatorNotice, h('div.pad-body', null, main, side))
  setSide(window.matchMedia('(min-width: 1200px)').matches)
  refresh()
  renderPeople()
  grid.select(0, 0)
  grid.focus()

  // For tests and debugging from the console: read-only handles, no secrets.
  window.ardoise = { ydoc, provider: conn.provider, grid, evaluate: evaluateNow, value: (r, c) => evaluation && evaluation.cell(current, r, c), pasteTsv }
}

main()
