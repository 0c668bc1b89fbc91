// Rich text on Y.Text in the Quill delta convention (DESIGN.md §3), bound to CodeMirror 6.
//
// Inline attributes: bold, italic, underline, strike, link. Line attributes live on the "\n" that
// ends the line: header (1-3), list (bullet/ordered). This module reads attributes by walking the
// Y.Text items (EDITOR.md trap 8: never toDelta() per keystroke) and implements the editing
// commands that must write attributes explicitly (traps 4 and 5).

import * as Y from 'yjs'
import { EditorSelection } from '@codemirror/state'
import { ySyncFacet, ySyncAnnotation } from 'y-codemirror.next'

export const INLINE_KEYS = ['bold', 'italic', 'underline', 'strike', 'link']
export const LINE_KEYS = ['header', 'list']
/** What a non-string item (embed, nested type) shows as, one per position: EDITOR.md trap 6. */
export const OBJECT_CHAR = '\uFFFC'

/** header attribute → 1..3, or 0 when absent/invalid (y-quill writes numbers; accept "1".."3"). */
export function headerLevel (v) {
  const n = typeof v === 'string' ? Number(v) : v
  return n === 1 || n === 2 || n === 3 ? n : 0
}

/** list attribute → 'bullet' | 'ordered' | '' */
export function listKind (v) {
  return v === 'bullet' || v === 'ordered' ? v : ''
}

/** A link target that is safe to put in href: http(s) and mailto only, else null. */
export function safeHref (v) {
  if (typeof v !== 'string' || v.length > 2048) return null
  const s = v.trim()
  if (/^(https?:\/\/|mailto:)/i.test(s)) {
    try {
      const u = new URL(s)
      if (u.protocol === 'http:' || u.protocol === 'https:' || u.protocol === 'mailto:') return u.href
    } catch {}
  }
  return null
}

/**
 * Walk the countable items of `ytext` overlapping [from, to), in order, with the attributes
 * in force. Calls cb(start, end, str, attrs, item): `str` is the string slice, or null for a
 * non-string item (counts one position per unit of length). `attrs` is live: copy it to keep it.
 * Returning false from cb stops the walk.
 */
export function scan (ytext, from, to, cb) {
  const attrs = new Map()
  let pos = 0
  for (let item = ytext._start; item !== null && pos < to; item = item.right) {
    if (item.deleted) continue
    const c = item.content
    if (c instanceof Y.ContentFormat) {
      if (c.value === null) attrs.delete(c.key)
      else attrs.set(c.key, c.value)
      continue
    }
    if (!item.countable) continue
    const len = item.length
    if (pos + len > from) {
      const s = Math.max(from, pos)
      const e = Math.min(to, pos + len)
      const str = c instanceof Y.ContentString ? c.str.slice(s - pos, e - pos) : null
      if (cb(s, e, str, attrs, item) === false) return
    }
    pos += len
  }
}

/** Attributes of the character at `pos` (a plain object, copy). */
export function attrsOfChar (ytext, pos) {
  let out = {}
  if (pos < 0) return out
  scan(ytext, pos, pos + 1, (s, e, str, attrs) => {
    out = Object.fromEntries(attrs)
    return false
  })
  return out
}

/** The document text as CodeMirror shows it: strings as they are, anything else as U+FFFC. */
export function textOf (ytext) {
  const parts = []
  scan(ytext, 0, Infinity, (s, e, str) => {
    parts.push(str ?? OBJECT_CHAR.repeat(e - s))
  })
  return parts.join('')
}

/**
 * Make a Y.Text safe and correct for y-codemirror.next's sync plugin:
 * - inserts without explicit attributes (that is, typing) keep the inline formatting at the
 *   cursor but never the line attributes header/list (trap 4), and take a pending format
 *   (Ctrl+B on an empty selection) into account;
 * - observers see embeds and other non-string inserts as U+FFFC characters (trap 6), so
 *   CodeMirror is never handed an object as text.
 * @param {Y.Text} ytext
 * @param {{ pendingAt: (index: number) => (object | null), beforeWrite: () => void }} hooks
 */
export function guardText (ytext, hooks) {
  const proto = Object.getPrototypeOf(ytext)
  const wrapped = new WeakMap()
  ytext.observe = (f) => {
    const g = (event, tr) => f(neutralised(event), tr)
    wrapped.set(f, g)
    proto.observe.call(ytext, g)
  }
  ytext.unobserve = (f) => {
    const g = wrapped.get(f)
    if (g) {
      wrapped.delete(f)
      proto.unobserve.call(ytext, g)
    }
  }
  ytext.insert = (index, text, attributes) => {
    hooks.beforeWrite()
    if (attributes === undefined) attributes = typingAttrs(ytext, index, hooks.pendingAt(index))
    // undefined → Yjs inherits the attributes at `index` itself (and can use its search markers)
    return proto.insert.call(ytext, index, text, attributes)
  }
}

/**
 * The attributes typed text gets at `index`, or undefined when plain inheritance is right.
 * Text typed at the end of a link is not part of it (as in every editor): the link would
 * otherwise grow with each character, and a line typed after it would become a link too. Inside
 * a link (same link on both sides) typing stays in it; bold and the like continue everywhere.
 */
export function typingAttrs (ytext, index, pending) {
  const before = index > 0 ? attrsOfChar(ytext, index - 1) : {}
  const hasLine = LINE_KEYS.some((k) => k in before)
  const endsLink = before.link != null && attrsOfChar(ytext, index).link !== before.link
  if (!hasLine && !pending && !endsLink) return undefined
  const attrs = {}
  for (const [k, v] of Object.entries(before)) {
    if (!LINE_KEYS.includes(k)) attrs[k] = v
  }
  // An explicit null: Yjs would otherwise inherit the link from the format marker before.
  if (endsLink) attrs.link = null
  if (pending) Object.assign(attrs, pending)
  return attrs
}

function neutralised (event) {
  const delta = event.delta
  if (!delta.some((d) => d.insert != null && typeof d.insert !== 'string')) return event
  return {
    target: event.target,
    transaction: event.transaction,
    changes: event.changes,
    delta: delta.map((d) => (d.insert != null && typeof d.insert !== 'string'
      ? { ...d, insert: OBJECT_CHAR } // an embed or a type has length 1
      : d))
  }
}

// ---------------------------------------------------------------------------------------------
// Editing commands. Each writes to the Y.Text in a transaction whose origin is the y-codemirror
// sync config (so y-codemirror.next's undo manager tracks it and its sync plugin ignores it),
// then, when the text changed, dispatches the same change to CodeMirror with ySyncAnnotation.

function conf (view) {
  return view.state.facet(ySyncFacet)
}

function transact (view, fn) {
  const c = conf(view)
  c.ytext.doc.transact(fn, c)
}

/** Line attributes of a CodeMirror line (those of its ending "\n", none for an unterminated last line). */
export function lineAttrs (ytext, line, doc) {
  if (line.to >= doc.length) return {}
  const a = attrsOfChar(ytext, line.to)
  const out = {}
  const hl = headerLevel(a.header)
  if (hl) out.header = hl
  const lk = listKind(a.list)
  if (lk) out.list = lk
  return out
}

/**
 * Whether every character in [from, to) has attribute `key` (truthy). For an empty range: the
 * attribute typing would get there (pending format first).
 */
export function rangeHas (ytext, from, to, key, pending) {
  if (from === to) {
    if (pending && key in pending) return !!pending[key]
    return from > 0 && !!attrsOfChar(ytext, from - 1)[key]
  }
  let all = true
  scan(ytext, from, to, (s, e, str, attrs) => {
    if (!attrs.get(key)) {
      all = false
      return false
    }
  })
  return all
}

/** Insert "\n" at the end of an unterminated last line so that it can carry line attributes. */
function terminateLastLine (view, ytext, attrs) {
  const end = view.state.doc.length
  ytext.insert(end, '\n', attrs)
  return { from: end, insert: '\n' }
}

/**
 * Toggle a line format on every line touched by the selection: header 1..3 or list kind.
 * Header and list are exclusive, as in Quill.
 */
export function toggleLine (view, key, value) {
  const { state } = view
  const ytext = conf(view).ytext
  const lines = []
  for (const r of state.selection.ranges) {
    for (let pos = r.from; ;) {
      const line = state.doc.lineAt(pos)
      if (!lines.some((l) => l.number === line.number)) lines.push(line)
      if (line.to >= r.to) break
      pos = line.to + 1
    }
  }
  const all = lines.every((l) => lineAttrs(ytext, l, state.doc)[key] === value)
  const attrs = key === 'header'
    ? { header: all ? null : value, list: null }
    : { list: all ? null : value, header: null }
  const changes = []
  transact(view, () => {
    for (const line of lines) {
      if (line.to < state.doc.length) ytext.format(line.to, 1, attrs)
      else if (!all) changes.push(terminateLastLine(view, ytext, attrs))
    }
  })
  if (changes.length) {
    view.dispatch({ changes, annotations: [ySyncAnnotation.of(conf(view))], selection: state.selection })
  }
  view.focus()
  return true
}

/**
 * Toggle an inline format (bold, italic, underline, strike) on the selection; on an empty
 * selection, set a pending format for the next typed character.
 * @param {(pos: number, attrs: object) => void} setPending
 * @param {(pos: number) => object | null} getPending
 */
export function toggleInline (view, key, getPending, setPending) {
  const { state } = view
  const ytext = conf(view).ytext
  const ranges = state.selection.ranges.filter((r) => !r.empty)
  if (!ranges.length) {
    const pos = state.selection.main.head
    const pending = getPending(pos)
    const on = rangeHas(ytext, pos, pos, key, pending)
    setPending(pos, { ...(pending || {}), [key]: on ? null : true })
    view.focus()
    return true
  }
  const all = ranges.every((r) => rangeHas(ytext, r.from, r.to, key))
  transact(view, () => {
    for (const r of ranges) ytext.format(r.from, r.to - r.from, { [key]: all ? null : true })
  })
  view.focus()
  return true
}

/** Remove the inline formats from the selection. */
export function clearInline (view) {
  const ytext = conf(view).ytext
  const nulls = Object.fromEntries(INLINE_KEYS.map((k) => [k, null]))
  transact(view, () => {
    for (const r of view.state.selection.ranges) {
      if (!r.empty) ytext.format(r.from, r.to - r.from, nulls)
    }
  })
  view.focus()
  return true
}

/** Set (href) or remove (null) the link on the selection. */
export function setLink (view, href) {
  const ytext = conf(view).ytext
  transact(view, () => {
    for (const r of view.state.selection.ranges) {
      if (!r.empty) ytext.format(r.from, r.to - r.from, { link: href })
    }
  })
  view.focus()
  return true
}

/**
 * The extent {from, to} of the link the caret at `pos` touches (the character after it, else
 * the one before), or null when there is none.
 */
export function linkRange (ytext, pos) {
  let href = attrsOfChar(ytext, pos).link
  if (typeof href !== 'string') href = attrsOfChar(ytext, pos - 1).link
  if (typeof href !== 'string') return null
  let stretch = null // the current run of characters with this link
  let hit = null
  scan(ytext, 0, Infinity, (s, e, str, attrs) => {
    if (attrs.get('link') === href) {
      if (stretch) stretch.to = e
      else stretch = { from: s, to: e }
      if (stretch.from <= pos && pos <= stretch.to) hit = stretch
    } else {
      if (hit) return false
      stretch = null
    }
  })
  return hit
}

/** The link at the selection (first character), if any. */
export function linkAt (view) {
  const r = view.state.selection.main
  const ytext = conf(view).ytext
  const pos = r.empty ? r.from - 1 : r.from
  const v = attrsOfChar(ytext, pos).link
  return typeof v === 'string' ? v : null
}

/**
 * Enter with correct line formats (trap 5): splitting a heading or list line keeps the format
 * on both halves, a new line after a heading is plain, a new line before it too, and Enter on an
 * empty list item ends the list. Typing on the new line keeps the inline formats of the
 * character before the break (through a pending format).
 */
export function enter (view, setPending) {
  const { state } = view
  if (state.readOnly || state.selection.ranges.length > 1) return false
  const ytext = conf(view).ytext
  const sel = state.selection.main
  const line = state.doc.lineAt(sel.to)
  const startLine = state.doc.lineAt(sel.from)
  const la = lineAttrs(ytext, line, state.doc)
  if (sel.empty && la.list && line.from === line.to) {
    transact(view, () => ytext.format(line.to, 1, { list: null }))
    return true
  }
  const inline = {}
  if (sel.from > 0) {
    for (const [k, v] of Object.entries(attrsOfChar(ytext, sel.from - 1))) {
      if (INLINE_KEYS.includes(k) && k !== 'link') inline[k] = v
    }
  }
  const nlNull = Object.fromEntries(INLINE_KEYS.map((k) => [k, null]))
  const atLineEnd = sel.to === line.to
  const atLineStart = sel.from === startLine.from && line.from !== line.to
  let changes
  let cursor
  if (la.header && atLineEnd && sel.empty && line.to + 1 === state.doc.length) {
    // The heading ends the text and is followed by the empty, unterminated last line (made
    // when the heading's "\n" was added): that line already is the new plain line.
    view.dispatch({ selection: EditorSelection.cursor(state.doc.length), scrollIntoView: true, userEvent: 'select' })
    return true
  }
  if (la.header && atLineEnd && line.to < state.doc.length) {
    // "Title|\n(h1)" → "Title\n(h1)" + "\n"(plain): the new empty line is plain text
    transact(view, () => {
      if (!sel.empty) ytext.delete(sel.from, sel.to - sel.from)
      ytext.insert(sel.from + 1, '\n', { ...nlNull, header: null, list: null })
    })
    changes = [{ from: sel.from, to: sel.to }, { from: sel.to + 1, insert: '\n' }]
    cursor = sel.from + 1
  } else {
    let lineFmt = { header: null, list: null }
    if (la.list) lineFmt = { header: null, list: la.list }
    else if (la.header && !atLineStart) lineFmt = { header: la.header, list: null }
    transact(view, () => {
      if (!sel.empty) ytext.delete(sel.from, sel.to - sel.from)
      ytext.insert(sel.from, '\n', { ...nlNull, ...lineFmt })
    })
    changes = [{ from: sel.from, to: sel.to, insert: '\n' }]
    cursor = sel.from + 1
  }
  view.dispatch({
    changes,
    selection: EditorSelection.cursor(cursor),
    annotations: [ySyncAnnotation.of(conf(view))],
    scrollIntoView: true,
    userEvent: 'input'
  })
  if (Object.keys(inline).length) setPending(cursor, inline)
  return true
}

/** Backspace at the start of a heading or list line removes that format first (as in Quill). */
export function backspace (view) {
  const { state } = view
  if (state.readOnly || state.selection.ranges.length > 1) return false
  const sel = state.selection.main
  if (!sel.empty) return false
  const line = state.doc.lineAt(sel.head)
  if (sel.head !== line.from) return false
  const ytext = conf(view).ytext
  const la = lineAttrs(ytext, line, state.doc)
  if (!la.header && !la.list) return false
  transact(view, () => ytext.format(line.to, 1, { header: null, list: null }))
  return true
}
