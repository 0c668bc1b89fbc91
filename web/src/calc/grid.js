// The virtualised grid: only the cells in view exist in the DOM (a 10,000 × 50 sheet scrolls
// like a 10 × 5 one). Cells live inside the scrolling element at their real coordinates, so
// native scrolling moves them; the row and column headers are outside it and follow by a
// transform. Positions are set through the CSSOM (el.style.*), which the page's CSP allows;
// nothing here writes a style attribute or HTML.

import { h, clear } from '../common/dom.js'
import { colName } from './formula.js'

export const ROW_H = 24
export const HEAD_H = 24
export const ROWHEAD_W = 56
export const DEFAULT_W = 100
const MIN_W = 30
const MAX_W = 800

/**
 * @param {{
 *   size: () => {rows: number, cols: number},
 *   width: (c: number) => number,
 *   cell: (r: number, c: number) => ({text: string, number?: boolean, error?: boolean, bold?: boolean, italic?: boolean} | null),
 *   editText: (r: number, c: number) => string,
 *   remote: () => {client: number, name: string, r1: number, c1: number, r2: number, c2: number}[],
 *   readOnly: boolean,
 *   onSelect: (sel: {r: number, c: number, r2: number, c2: number}) => void,
 *   onCommit: (r: number, c: number, text: string) => void,
 *   onClear: (sel: object) => void,
 *   onKey: (e: KeyboardEvent) => boolean,
 *   onResize: (c: number, w: number) => void,
 *   onEditing: (text: string | null) => void,
 *   onMenu?: (at: {x: number, y: number, c: number}) => void,
 * }} opts
 */
export function createGrid (opts) {
  const sel = { r: 0, c: 0, r2: 0, c2: 0 }
  let editing = null // {r, c}
  let xs = [0] // left edge of each column, then the total width
  let queued = false

  const colInner = h('div.grid-colheads-inner')
  const rowInner = h('div.grid-rowheads-inner')
  const colHeads = h('div.grid-colheads', { 'aria-hidden': 'true' }, colInner)
  const rowHeads = h('div.grid-rowheads', { 'aria-hidden': 'true' }, rowInner)
  const sizer = h('div.grid-sizer')
  const cells = h('div.grid-cells')
  const remoteLayer = h('div.grid-remote')
  const selBox = h('div.grid-sel')
  const cursorBox = h('div.grid-cursor')
  const editor = h('input.grid-editor', { type: 'text', spellcheck: false, autocomplete: 'off', hidden: true })
  const scroll = h('div.grid-scroll', { tabindex: '0', role: 'grid' }, sizer, cells, selBox, cursorBox, remoteLayer, editor)
  const el = h('div.grid', null, h('div.grid-corner'), colHeads, rowHeads, scroll)

  function layoutCols () {
    const { cols } = opts.size()
    xs = new Array(cols + 1)
    xs[0] = 0
    for (let c = 0; c < cols; c++) xs[c + 1] = xs[c] + opts.width(c)
  }
  /** The column under x (content coordinates). */
  function colAt (x) {
    let lo = 0
    let hi = xs.length - 2
    if (hi < 0) return 0
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (xs[mid] <= x) lo = mid
      else hi = mid - 1
    }
    return lo
  }
  const place = (node, x, y, w, hgt) => {
    node.style.transform = `translate(${x}px, ${y}px)`
    node.style.width = w + 'px'
    node.style.height = hgt + 'px'
  }
  const rectOf = (r1, c1, r2, c2) => {
    const [ra, rb] = [Math.min(r1, r2), Math.max(r1, r2)]
    const [ca, cb] = [Math.min(c1, c2), Math.max(c1, c2)]
    return { x: xs[ca], y: ra * ROW_H, w: xs[cb + 1] - xs[ca], h: (rb - ra + 1) * ROW_H }
  }

  function render () {
    queued = false
    const { rows, cols } = opts.size()
    if (xs.length !== cols + 1) layoutCols()
    const total = xs[cols] || 0
    sizer.style.width = total + 'px'
    sizer.style.height = rows * ROW_H + 'px'
    const top = scroll.scrollTop
    const left = scroll.scrollLeft
    const viewH = scroll.clientHeight || 600
    const viewW = scroll.clientWidth || 800
    const r0 = Math.max(0, Math.floor(top / ROW_H))
    const r1 = Math.min(rows - 1, Math.floor((top + viewH) / ROW_H))
    const c0 = cols ? colAt(left) : 0
    const c1 = cols ? colAt(left + viewW) : -1
    const frag = document.createDocumentFragment()
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        // Empty cells are drawn too: they are the grid lines.
        const v = opts.cell(r, c)
        const d = document.createElement('div')
        d.className = v ? 'cell' + (v.number ? ' num' : '') + (v.error ? ' err' : '') + (v.bold ? ' b' : '') + (v.italic ? ' i' : '') : 'cell'
        if (v) d.textContent = v.text
        place(d, xs[c], r * ROW_H, xs[c + 1] - xs[c], ROW_H)
        frag.appendChild(d)
      }
    }
    clear(cells).appendChild(frag)
    // headers
    const cf = document.createDocumentFragment()
    for (let c = c0; c <= c1; c++) {
      const d = h('div.colhead' + (c >= Math.min(sel.c, sel.c2) && c <= Math.max(sel.c, sel.c2) ? '.on' : ''), null, colName(c + 1))
      place(d, xs[c], 0, xs[c + 1] - xs[c], HEAD_H)
      if (!opts.readOnly && opts.onMenu) {
        // The column's menu (sort…); keyboard users reach the same menu with the ContextMenu
        // key or Shift+F10 on the grid, or the toolbar's sort button.
        const btn = h('span.col-menu', null, '▾')
        btn.addEventListener('mousedown', (e) => {
          e.preventDefault()
          e.stopPropagation()
          const box = btn.getBoundingClientRect()
          menuAt(box.left, box.bottom, c)
        })
        d.appendChild(btn)
        d.addEventListener('contextmenu', (e) => { e.preventDefault(); menuAt(e.clientX, e.clientY, c) })
      }
      if (!opts.readOnly) {
        const grip = h('span.col-grip')
        grip.addEventListener('mousedown', (e) => startResize(e, c))
        d.appendChild(grip)
      }
      cf.appendChild(d)
    }
    clear(colInner).appendChild(cf)
    colInner.style.transform = `translateX(${-left}px)`
    const rf = document.createDocumentFragment()
    for (let r = r0; r <= r1; r++) {
      const d = h('div.rowhead' + (r >= Math.min(sel.r, sel.r2) && r <= Math.max(sel.r, sel.r2) ? '.on' : ''), null, String(r + 1))
      place(d, 0, r * ROW_H, ROWHEAD_W, ROW_H)
      rf.appendChild(d)
    }
    clear(rowInner).appendChild(rf)
    rowInner.style.transform = `translateY(${-top}px)`
    // selection and cursor
    const s = rectOf(sel.r, sel.c, sel.r2, sel.c2)
    place(selBox, s.x, s.y, s.w, s.h)
    selBox.hidden = sel.r === sel.r2 && sel.c === sel.c2
    const k = rectOf(sel.r, sel.c, sel.r, sel.c)
    place(cursorBox, k.x, k.y, k.w, k.h)
    // others' selections
    const rf2 = document.createDocumentFragment()
    for (const o of opts.remote()) {
      if (o.r1 < 0 || o.c1 < 0) continue
      const b = rectOf(o.r1, o.c1, o.r2, o.c2)
      // On the first row the name goes below the outline: above it would be under the headers.
      const top = Math.min(o.r1, o.r2) === 0 ? '.at-top' : ''
      const box = h(`div.remote-sel.yc-${o.client}${top}`, { 'data-client': String(o.client) }, h('span.remote-name', null, o.name))
      place(box, b.x, b.y, b.w, b.h)
      rf2.appendChild(box)
    }
    clear(remoteLayer).appendChild(rf2)
    if (editing) {
      const e = rectOf(editing.r, editing.c, editing.r, editing.c)
      place(editor, e.x, e.y, Math.max(e.w, 120), e.h)
    }
  }
  const schedule = () => {
    if (queued) return
    queued = true
    requestAnimationFrame(render)
  }

  function scrollIntoView (r, c) {
    const rect = rectOf(r, c, r, c)
    const { clientWidth: w, clientHeight: hh } = scroll
    if (rect.y < scroll.scrollTop) scroll.scrollTop = rect.y
    else if (rect.y + rect.h > scroll.scrollTop + hh) scroll.scrollTop = rect.y + rect.h - hh
    if (rect.x < scroll.scrollLeft) scroll.scrollLeft = rect.x
    else if (rect.x + rect.w > scroll.scrollLeft + w) scroll.scrollLeft = rect.x + rect.w - w
  }

  // Where a run of Tabs started: Enter after it goes one row down in that column, as in
  // LibreOffice and Sheets (a form filled row by row). Any other move ends the run.
  let tabStart = null
  function tab (back) {
    const start = tabStart ?? sel.c
    select(sel.r, sel.c + (back ? -1 : 1))
    tabStart = start
  }
  function enterDown (back) {
    const c = back || tabStart === null ? sel.c : tabStart
    select(sel.r + (back ? -1 : 1), c)
  }

  function select (r, c, r2 = r, c2 = c) {
    tabStart = null
    const { rows, cols } = opts.size()
    const clampR = (v) => Math.max(0, Math.min(rows - 1, v))
    const clampC = (v) => Math.max(0, Math.min(cols - 1, v))
    sel.r = clampR(r); sel.c = clampC(c); sel.r2 = clampR(r2); sel.c2 = clampC(c2)
    scrollIntoView(sel.r2, sel.c2)
    opts.onSelect({ ...sel })
    schedule()
  }

  function startEdit (initial) {
    if (opts.readOnly) return
    editing = { r: sel.r, c: sel.c }
    editor.hidden = false
    editor.value = initial ?? opts.editText(sel.r, sel.c)
    render()
    editor.focus()
    const end = editor.value.length
    editor.setSelectionRange(end, end)
    opts.onEditing(editor.value)
  }
  function stopEdit (commit) {
    if (!editing) return
    const { r, c } = editing
    editing = null
    editor.hidden = true
    if (commit) opts.onCommit(r, c, editor.value)
    opts.onEditing(null)
    scroll.focus()
    schedule()
  }

  editor.addEventListener('input', () => opts.onEditing(editor.value))
  editor.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === 'Tab') {
      e.preventDefault()
      stopEdit(true)
      if (e.key === 'Enter') enterDown(e.shiftKey)
      else tab(e.shiftKey)
    } else if (e.key === 'Escape') {
      e.preventDefault()
      stopEdit(false)
    }
  })
  editor.addEventListener('blur', () => { if (editing) stopEdit(true) })

  scroll.addEventListener('scroll', schedule, { passive: true })
  window.addEventListener('resize', schedule)

  const cellAt = (e) => {
    const box = scroll.getBoundingClientRect()
    const x = e.clientX - box.left + scroll.scrollLeft
    const y = e.clientY - box.top + scroll.scrollTop
    const { rows } = opts.size()
    return { r: Math.max(0, Math.min(rows - 1, Math.floor(y / ROW_H))), c: colAt(x) }
  }
  let dragging = false
  scroll.addEventListener('mousedown', (e) => {
    if (e.target === editor || e.button !== 0) return
    if (editing) stopEdit(true)
    const { r, c } = cellAt(e)
    if (e.shiftKey) select(sel.r, sel.c, r, c)
    else select(r, c)
    dragging = true
    e.preventDefault()
    scroll.focus()
  })
  window.addEventListener('mousemove', (e) => {
    if (!dragging) return
    const { r, c } = cellAt(e)
    if (r !== sel.r2 || c !== sel.c2) select(sel.r, sel.c, r, c)
  })
  window.addEventListener('mouseup', () => { dragging = false })
  /** Opens the menu for column `c`, selecting it first unless the selection already covers it. */
  function menuAt (x, y, c) {
    if (editing) stopEdit(true)
    if (c < Math.min(sel.c, sel.c2) || c > Math.max(sel.c, sel.c2)) select(sel.r, c)
    opts.onMenu({ x, y, c })
  }
  scroll.addEventListener('contextmenu', (e) => {
    if (e.target === editor || opts.readOnly || !opts.onMenu) return
    e.preventDefault()
    const { r, c } = cellAt(e)
    const inside = r >= Math.min(sel.r, sel.r2) && r <= Math.max(sel.r, sel.r2) && c >= Math.min(sel.c, sel.c2) && c <= Math.max(sel.c, sel.c2)
    if (!inside) select(r, c)
    menuAt(e.clientX, e.clientY, c)
  })
  scroll.addEventListener('dblclick', (e) => {
    if (e.target === editor) return
    startEdit()
  })

  scroll.addEventListener('keydown', (e) => {
    if (e.target === editor) return
    if (opts.onKey(e)) { e.preventDefault(); return }
    if ((e.key === 'ContextMenu' || (e.key === 'F10' && e.shiftKey)) && !opts.readOnly && opts.onMenu) {
      e.preventDefault()
      const box = cursorBox.getBoundingClientRect()
      menuAt(box.left, box.bottom, sel.c)
      return
    }
    const { rows } = opts.size()
    const page = Math.max(1, Math.floor(scroll.clientHeight / ROW_H) - 1)
    const moves = {
      ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1],
      PageUp: [-page, 0], PageDown: [page, 0]
    }
    if (moves[e.key]) {
      e.preventDefault()
      let [dr, dc] = moves[e.key]
      if (e.ctrlKey || e.metaKey) { dr *= rows; dc *= 10000 }
      if (e.shiftKey) select(sel.r, sel.c, sel.r2 + dr, sel.c2 + dc)
      else select(sel.r + dr, sel.c + dc)
    } else if (e.key === 'Tab') {
      e.preventDefault()
      tab(e.shiftKey)
    } else if (e.key === 'Enter') {
      e.preventDefault()
      if (e.shiftKey) enterDown(true)
      else if (tabStart !== null) enterDown(false)
      else startEdit()
    } else if (e.key === 'F2') {
      e.preventDefault()
      startEdit()
    } else if (e.key === 'Home') {
      e.preventDefault()
      select(e.ctrlKey ? 0 : sel.r, 0)
    } else if (e.key === 'Delete' || e.key === 'Backspace') {
      e.preventDefault()
      if (!opts.readOnly) opts.onClear({ ...sel })
    } else if (e.key.length === 1 && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault()
      startEdit(e.key)
    }
  })

  function startResize (e, c) {
    e.preventDefault()
    e.stopPropagation()
    const x0 = e.clientX
    const w0 = xs[c + 1] - xs[c]
    const move = (ev) => {
      const w = Math.max(MIN_W, Math.min(MAX_W, Math.round(w0 + ev.clientX - x0)))
      xs = xs.slice(0, c + 1).concat(xs.slice(c + 1).map((x) => x - (xs[c + 1] - xs[c]) + w))
      schedule()
    }
    const up = (ev) => {
      window.removeEventListener('mousemove', move)
      window.removeEventListener('mouseup', up)
      const w = Math.max(MIN_W, Math.min(MAX_W, Math.round(w0 + ev.clientX - x0)))
      opts.onResize(c, w)
    }
    window.addEventListener('mousemove', move)
    window.addEventListener('mouseup', up)
  }

  return {
    el,
    focusEl: scroll,
    sel,
    select,
    startEdit,
    isEditing: () => editing !== null,
    /** Drops an edit in progress without writing it (the calc went read-only). */
    cancelEdit: () => stopEdit(false),
    /** Columns or their widths changed. */
    relayout () { layoutCols(); schedule() },
    refresh: schedule,
    renderNow: render,
    focus: () => scroll.focus()
  }
}
