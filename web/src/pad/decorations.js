// Formatting and authorship as CodeMirror decorations, built for the viewport only by walking
// the Y.Text items (EDITOR.md trap 8), rebuilt when Yjs reports a change of the text (including
// format-only changes) or of the authors map (trap 3).

import { Decoration, ViewPlugin } from '@codemirror/view'
import { StateEffect } from '@codemirror/state'
import { scan, headerLevel, listKind, safeHref } from './rich.js'

/** Dispatched (on a microtask) when Yjs changed something CodeMirror cannot see. */
export const refreshEffect = StateEffect.define()

const MARK_CLASSES = [['bold', 'f-b'], ['italic', 'f-i'], ['underline', 'f-u'], ['strike', 'f-s']]

/**
 * @param {import('yjs').Text} ytext
 * @returns {import('@codemirror/state').Extension}
 */
export function richDecorations (ytext) {
  const markCache = new Map()
  const lineCache = new Map()

  const mark = (cls, href) => {
    const key = href === null ? cls : `${cls}\u0000${href}`
    let d = markCache.get(key)
    if (!d) {
      d = href === null
        ? Decoration.mark({ class: cls })
        : Decoration.mark({ class: cls, tagName: 'a', attributes: { href, rel: 'noopener noreferrer nofollow', target: '_blank' } })
      if (markCache.size > 5000) markCache.clear()
      markCache.set(key, d)
    }
    return d
  }
  const lineDeco = (cls) => {
    let d = lineCache.get(cls)
    if (!d) {
      d = Decoration.line({ class: cls })
      lineCache.set(cls, d)
    }
    return d
  }

  function build (view) {
    const { from, to } = view.viewport
    const doc = view.state.doc
    const ranges = []
    // pending merged mark segment
    let segFrom = -1
    let segTo = -1
    let segCls = ''
    let segHref = null
    const flush = () => {
      if (segFrom >= 0 && segTo > segFrom) ranges.push(mark(segCls, segHref).range(segFrom, segTo))
      segFrom = -1
    }
    // walk one past the viewport so that the "\n" ending the last visible line is seen
    const end = Math.min(doc.length, to + 1)
    scan(ytext, from, end, (s, e, str, attrs, item) => {
      let cls = `au a-${item.id.client}`
      for (const [key, c] of MARK_CLASSES) if (attrs.get(key)) cls += ` ${c}`
      const href = attrs.has('link') ? safeHref(attrs.get('link')) : null
      if (href !== null || attrs.has('link')) cls += ' f-a'
      if (segFrom >= 0 && segTo === s && segCls === cls && segHref === href) {
        segTo = e
      } else {
        flush()
        segFrom = s
        segTo = e
        segCls = cls
        segHref = href
      }
      if (str !== null) {
        const hl = headerLevel(attrs.get('header'))
        const lk = listKind(attrs.get('list'))
        if (hl || lk) {
          for (let i = str.indexOf('\n'); i >= 0; i = str.indexOf('\n', i + 1)) {
            const line = doc.lineAt(s + i)
            ranges.push(lineDeco(hl ? `cm-h cm-h${hl}` : `cm-li cm-li-${lk}`).range(line.from))
          }
        }
      }
    })
    flush()
    return Decoration.set(ranges, true)
  }

  const plugin = ViewPlugin.fromClass(class {
    constructor (view) {
      this.decorations = ytext.length === view.state.doc.length ? build(view) : Decoration.none
    }

    update (u) {
      const refresh = u.transactions.some((tr) => tr.effects.some((e) => e.is(refreshEffect)))
      if (!refresh && !u.docChanged && !u.viewportChanged) return
      // The sync plugin runs first and has already written local edits to the Y.Text; if the two
      // still disagree, map the old decorations and wait for the refresh Yjs will trigger.
      if (ytext.length === u.state.doc.length) this.decorations = build(u.view)
      else this.decorations = this.decorations.map(u.changes)
    }
  }, { decorations: (v) => v.decorations })

  // ordered lists are numbered by a CSS counter (app.css), reset by any other line
  return plugin
}

/**
 * Call view.dispatch({effects: refreshEffect}) on the next microtask after Yjs events: a
 * dispatch from inside a Yjs observer that runs during a CodeMirror update would throw.
 */
export function refresher (view) {
  let queued = false
  return () => {
    if (queued) return
    queued = true
    queueMicrotask(() => {
      queued = false
      if (view.dom.isConnected || view.dom.parentNode) view.dispatch({ effects: refreshEffect.of(null) })
    })
  }
}
