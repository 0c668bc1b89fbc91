// Deleting a document from the browser that created it, shared by the pad and the calc pages.
// The creator secret arrives once: in the URL fragment after the home form (a fragment never
// reaches a server or a log), or in the page that created the document by opening its name
// (data-creator). It is kept in localStorage and sent with POST /{p|c}/{name}/delete.

import { h } from './dom.js'
import { icon } from './icons.js'
import { t, bindText } from './i18n.js'
import { storageGet, storageSet, storageRemove } from './identity.js'

/** The creator secret of each document this browser created: 'ardoise.creator.' + name. */
export const CREATOR_KEY = 'ardoise.creator.'

/** The close reason of a document its creator deleted (the server's DELETED_REASON). */
export const DELETED_REASON = 'deleted by its creator'

/**
 * Keeps a freshly handed secret and offers deletion to the browser holding one.
 * `kind` is 'pad' or 'calc' (the route prefix and the words); `onDeleted` runs after the server
 * erased the document (the page then shows it as gone, as for any other reader).
 * @param {{ ds: DOMStringMap, kind: 'pad' | 'calc', readOnly: boolean, onDeleted: () => void }} opts
 * @returns {{ button: HTMLElement | null, forget: () => void }} `forget` drops the secret and
 *   the button once the document is gone.
 */
export function creatorDelete ({ ds, kind, readOnly, onDeleted }) {
  const name = ds.name || ''
  const key = CREATOR_KEY + name
  const fromHash = /^#creator=([0-9a-f]{32})$/.exec(location.hash)
  const fresh = fromHash ? fromHash[1] : (ds.creator || '')
  if (name && fresh) storageSet(key, fresh)
  // Out of the address bar, so it is not copied along with the link.
  if (fromHash) history.replaceState(null, '', location.pathname + location.search)

  const secret = name && !readOnly ? storageGet(key) : null
  const words = (k) => (kind === 'calc' ? k + '.calc' : k)
  const button = secret
    ? bindText(h('button.btn.delete-btn', { type: 'button', onclick: () => open() }, icon('trash'), bindText(h('span.wide'), 'delete')), 'delete', 'aria-label')
    : null

  const forget = () => {
    if (name) storageRemove(key)
    if (button) button.hidden = true
  }

  let dlg = null
  function open () {
    if (!dlg) {
      dlg = h('dialog.dialog', { 'aria-labelledby': 'delete-title' })
      const note = h('p.delete-note', { 'aria-live': 'polite' })
      const confirmBtn = bindText(h('button.btn.btn-danger', {
        type: 'button',
        onclick: async () => {
          confirmBtn.disabled = true
          note.textContent = ''
          let status = 0
          try {
            const prefix = kind === 'calc' ? 'c' : 'p'
            const res = await fetch(`${ds.base || ''}/${prefix}/${encodeURIComponent(name)}/delete`, {
              method: 'POST',
              headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
              body: JSON.stringify({ secret: storageGet(key) || '' }),
              credentials: 'same-origin',
              cache: 'no-store'
            })
            status = res.status
          } catch {}
          confirmBtn.disabled = false
          if (status === 200) {
            forget()
            dlg.close()
            onDeleted()
          } else if (status === 403 || status === 404) {
            forget()
            note.textContent = t(words('delete.forbidden'))
          } else {
            note.textContent = t('delete.failed')
          }
        }
      }), 'delete.confirm')
      dlg.append(
        bindText(h('h2#delete-title'), words('delete.title')),
        bindText(h('p'), words('delete.text')),
        note,
        h('div.dialog-actions', null,
          bindText(h('button.btn', { type: 'button', onclick: () => dlg.close() }), 'cancel'),
          confirmBtn))
      document.body.appendChild(dlg)
    }
    dlg.showModal()
  }

  return { button, forget }
}

/** The i18n key of the sentence shown when the document was erased for `reason`. */
export function goneKey (reason, kind) {
  const base = reason === 'expired' ? 'gone.expired' : reason === DELETED_REASON ? 'gone.deleted' : 'gone.other'
  return base !== 'gone.other' && kind === 'calc' ? base + '.calc' : base
}
