// Other people's carets and selections, labelled with their name, from awareness
// (`user: {name, color, colorLight}` as y-codemirror.next expects, `cursor: {anchor, head}` as
// Yjs relative positions). Unlike y-codemirror.next's yRemoteSelections this sets no inline
// style: each client's colours are custom properties on a class in the nonce'd stylesheet
// (EDITOR.md trap 2, common/presence.js), after validation (trap 7).

import * as Y from 'yjs'
import { Decoration, ViewPlugin, WidgetType } from '@codemirror/view'
import { Annotation } from '@codemirror/state'
import { remoteUser } from '../common/presence.js'

const remoteAnnotation = Annotation.define()

/**
 * How long a remote caret's name stays shown after that person moved or typed. The rest of the
 * time the label is hidden (shown on hover) so that it never covers the line above for long.
 */
export const LABEL_MS = 2500

class CaretWidget extends WidgetType {
  constructor (client, name, recent) {
    super()
    this.client = client
    this.name = name
    this.recent = recent
  }

  toDOM () {
    const caret = document.createElement('span')
    caret.className = `yc-caret yc-${this.client}` + (this.recent ? ' yc-recent' : '')
    caret.setAttribute('aria-hidden', 'true')
    caret.appendChild(document.createTextNode('\u2060'))
    const label = document.createElement('span')
    label.className = 'yc-label'
    label.textContent = this.name
    caret.appendChild(label)
    caret.appendChild(document.createTextNode('\u2060'))
    return caret
  }

  eq (other) {
    return other.client === this.client && other.name === this.name && other.recent === this.recent
  }

  get estimatedHeight () { return -1 }

  ignoreEvent () { return true }
}

/**
 * @param {import('yjs').Text} ytext
 * @param {any} awareness
 * @param {{readOnly: boolean, fallbackName: () => string}} opts
 */
export function remoteCursors (ytext, awareness, opts) {
  const ydoc = ytext.doc
  return ViewPlugin.fromClass(class {
    constructor (view) {
      this.decorations = Decoration.none
      /** client → {key: its cursor as sent, at: when it last changed} */
      this.moves = new Map()
      this.timer = null
      this.view = view
      this.listener = ({ added, updated, removed }) => {
        const clients = added.concat(updated, removed)
        if (clients.some((id) => id !== ydoc.clientID)) {
          queueMicrotask(() => view.dispatch({ annotations: [remoteAnnotation.of(true)] }))
        }
      }
      awareness.on('change', this.listener)
      // Typing does not always move a relative cursor (it stays before the same character), so
      // a remote edit also counts as that person's activity.
      this.onTransaction = (tr) => {
        if (tr.local) return
        let edited = false
        tr.afterState.forEach((clock, client) => {
          if (client !== ydoc.clientID && clock !== tr.beforeState.get(client)) {
            const seen = this.moves.get(client)
            this.moves.set(client, { key: seen ? seen.key : null, at: Date.now() })
            edited = true
          }
        })
        if (edited) queueMicrotask(() => view.dispatch({ annotations: [remoteAnnotation.of(true)] }))
      }
      ydoc.on('afterTransaction', this.onTransaction)
    }

    destroy () {
      awareness.off('change', this.listener)
      ydoc.off('afterTransaction', this.onTransaction)
      clearTimeout(this.timer)
    }

    /** Whether `client`'s caret moved within LABEL_MS (its name is then shown). */
    recent (client, cursor, now) {
      const key = JSON.stringify(cursor)
      const seen = this.moves.get(client)
      if (!seen || seen.key !== key) {
        // A first sight, a move, or (key null) an edit just recorded with its own time.
        this.moves.set(client, { key, at: seen && seen.key === null ? seen.at : now })
        return now - this.moves.get(client).at < LABEL_MS
      }
      return now - seen.at < LABEL_MS
    }

    /** Redraw once the next shown label is due to hide. */
    scheduleHide (now) {
      let next = Infinity
      for (const { at } of this.moves.values()) {
        if (now - at < LABEL_MS) next = Math.min(next, at + LABEL_MS - now)
      }
      clearTimeout(this.timer)
      this.timer = next === Infinity
        ? null
        : setTimeout(() => this.view.dispatch({ annotations: [remoteAnnotation.of(true)] }), next + 20)
    }

    update (u) {
      this.publishLocal(u)
      this.decorations = this.build(u.view)
    }

    /** Share our own selection while the editor has focus. */
    publishLocal (u) {
      if (opts.readOnly) return
      const local = awareness.getLocalState()
      if (local == null) return
      const hasFocus = u.view.hasFocus && u.view.dom.ownerDocument.hasFocus()
      if (!hasFocus) return
      if (!u.selectionSet && !u.docChanged && !u.focusChanged && local.cursor != null) return
      const sel = u.state.selection.main
      const anchor = Y.createRelativePositionFromTypeIndex(ytext, sel.anchor)
      const head = Y.createRelativePositionFromTypeIndex(ytext, sel.head)
      const cur = local.cursor
      if (cur == null ||
        !Y.compareRelativePositions(Y.createRelativePositionFromJSON(cur.anchor), anchor) ||
        !Y.compareRelativePositions(Y.createRelativePositionFromJSON(cur.head), head)) {
        awareness.setLocalStateField('cursor', { anchor, head })
      }
    }

    build (view) {
      const decos = []
      const doc = view.state.doc
      const now = Date.now()
      const states = awareness.getStates()
      for (const client of this.moves.keys()) {
        if (!states.has(client)) this.moves.delete(client)
      }
      states.forEach((state, client) => {
        if (client === ydoc.clientID) return
        const cursor = state.cursor
        if (!cursor || cursor.anchor == null || cursor.head == null) return
        const user = remoteUser(state, opts.fallbackName())
        if (!user) return
        let anchor, head
        try {
          anchor = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(cursor.anchor), ydoc)
          head = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(cursor.head), ydoc)
        } catch {
          return
        }
        if (!anchor || !head || anchor.type !== ytext || head.type !== ytext) return
        const a = Math.min(anchor.index, doc.length)
        const hd = Math.min(head.index, doc.length)
        const from = Math.min(a, hd)
        const to = Math.max(a, hd)
        if (from < to) {
          decos.push(Decoration.mark({ class: `yc-sel yc-${client}` }).range(from, to))
        }
        decos.push(Decoration.widget({
          side: hd - a > 0 ? -1 : 1,
          widget: new CaretWidget(client, user.name, this.recent(client, cursor, now))
        }).range(hd))
      })
      this.scheduleHide(now)
      return Decoration.set(decos, true)
    }
  }, { decorations: (v) => v.decorations })
}
