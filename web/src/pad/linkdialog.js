// The pad's link dialog (Ctrl+K, toolbar): an in-page <dialog> instead of window.prompt, so it
// is styled, translated, keyboard usable (Enter applies, Escape cancels, Tab reaches every
// button) and gives focus back to the editor when it closes.

import { h } from '../common/dom.js'
import { t, bindText, onLang } from '../common/i18n.js'
import { safeHref } from './rich.js'

/**
 * What a person typed, as a link target: http(s) and mailto only. A bare address gets the
 * scheme a person means ("example.org" → https, "ana@example.org" → mailto).
 * @returns {string | null}
 */
export function linkTarget (typed) {
  const s = String(typed ?? '').trim()
  if (s === '') return null
  if (/^[a-z][a-z0-9+.-]*:/i.test(s)) return safeHref(s)
  if (/^[^\s@/]+@[^\s@/]+\.[^\s@/]+$/.test(s)) return safeHref('mailto:' + s)
  if (/^[^\s/]+\.[^\s/]+/.test(s) && !/\s/.test(s)) return safeHref('https://' + s)
  return null
}

/**
 * Create the dialog (once per page). `open({text, current, apply, restore})`: `text` is the
 * linked text (shown), `current` the link already there (null if none); `apply(href|null)` is
 * called on OK (a URL) or on "Remove link" (null); `restore()` after every close.
 */
export function linkDialog () {
  const input = h('input#link-url', {
    type: 'text',
    inputmode: 'url',
    autocomplete: 'url',
    spellcheck: 'false',
    'aria-describedby': 'link-hint link-error'
  })
  const error = h('p#link-error.link-error', { 'aria-live': 'polite' })
  const textLine = h('p.link-text')
  const removeBtn = bindText(h('button.btn.link-remove', { type: 'button' }), 'link.remove')
  const cancelBtn = bindText(h('button.btn.link-cancel', { type: 'button' }), 'cancel')
  const okBtn = bindText(h('button.btn.btn-primary.link-ok', { type: 'submit' }), 'link.ok')
  const dlg = h('dialog.dialog.link-dialog', { 'aria-labelledby': 'link-title' })
  let state = null
  let restore = null
  let shownText = ''

  const showError = (key) => {
    error.textContent = key ? t(key) : ''
    if (key) input.setAttribute('aria-invalid', 'true')
    else input.removeAttribute('aria-invalid')
  }
  const finish = (href) => {
    const s = state
    state = null
    dlg.close()
    if (s && href !== undefined) s.apply(href)
  }
  const form = h('form', {
    method: 'dialog',
    novalidate: true,
    onsubmit: (e) => {
      e.preventDefault()
      if (input.value.trim() === '') {
        showError('link.empty')
        input.focus()
        return
      }
      const href = linkTarget(input.value)
      if (!href) {
        showError('link.invalid')
        input.focus()
        return
      }
      finish(href)
    }
  },
  bindText(h('h2#link-title'), 'link.title'),
  textLine,
  h('div.field', null,
    bindText(h('label', { for: 'link-url' }), 'link.url'),
    input,
    bindText(h('p#link-hint.hint'), 'link.hint'),
    error),
  h('div.dialog-actions', null, removeBtn, cancelBtn, okBtn))
  dlg.appendChild(form)
  removeBtn.addEventListener('click', () => finish(null))
  cancelBtn.addEventListener('click', () => finish(undefined))
  input.addEventListener('input', () => showError(null))
  // Escape (the dialog's own "cancel") and every other way out give the editor its focus back.
  dlg.addEventListener('close', () => {
    // The event is a task queued at the close: after an Escape it may run once the dialog is
    // open again (Ctrl+K at once, the browser having already put the focus back), and must
    // not drop that new opening's state and its "Remove link".
    if (dlg.open) return
    state = null
    const r = restore
    restore = null
    if (r) r()
  })
  onLang(() => { textLine.textContent = shownText ? t('link.text', { text: shownText }) : '' })
  document.body.appendChild(dlg)

  return {
    dialog: dlg,
    /** @param {{text: string, current: string | null, apply: (href: string | null) => void, restore: () => void}} o */
    open (o) {
      state = o
      restore = o.restore
      shownText = o.text.length > 80 ? o.text.slice(0, 79) + '…' : o.text
      textLine.textContent = shownText ? t('link.text', { text: shownText }) : ''
      input.value = o.current || ''
      input.placeholder = 'https://'
      removeBtn.hidden = !o.current
      showError(null)
      dlg.showModal()
      input.focus()
      input.select()
    }
  }
}
