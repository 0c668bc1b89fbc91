// Who else is here, from awareness, as every page shows it: each person's validated name and
// colours (`user: {name, color, colorLight}`, as y-codemirror.next expects), and a class per
// client in the nonce'd stylesheet whose custom properties colour their caret, selection and
// label (EDITOR.md traps 2 and 7). The pad's carets themselves are pad/cursors.js.

import { validColor, cleanName, textOn } from './identity.js'

/**
 * The user part of a remote awareness state, validated; null when unusable.
 * @returns {{name: string, color: string, colorLight: string} | null}
 */
export function remoteUser (state, fallbackName) {
  const u = state && state.user
  if (!u || typeof u !== 'object') return null
  const color = validColor(u.color) || '#888888'
  const name = cleanName(u.name, fallbackName)
  return { name, color, colorLight: color + '33' }
}

/**
 * Keep a `.yc-<clientID>` rule per awareness client: --c (caret), --cl (selection), --cf (label text).
 * @param {import('./dynstyle.js').DynStyle} style
 */
export function styleAwareness (awareness, style, fallbackName) {
  const apply = () => {
    awareness.getStates().forEach((state, client) => {
      const u = remoteUser(state, fallbackName())
      if (!u) return
      style.set(`.yc-${client}`, { '--c': u.color, '--cl': u.color + '40', '--cf': textOn(u.color) })
    })
  }
  awareness.on('change', apply)
  apply()
}
