// The calc page's File menu: downloads (CSV of the sheet on screen, ODS, XLSX, HTML) on the
// edit and read-only pages, and on the edit page "Replace from a file…", which uploads to the
// calc's import route. The server applies the file through the calc's room, so every open page,
// this one included, receives the new content as an ordinary update: nothing is reloaded here.

import { h } from '../common/dom.js'
import { t, bindText, onLang, lang } from '../common/i18n.js'
import { dropdownMenu } from '../common/chrome.js'

const EXPORTS = ['csv', 'ods', 'xlsx', 'html']

/**
 * @param {{ ds: DOMStringMap, readOnly: boolean, sheet: () => { index: number, name: string } }} opts
 *   `sheet` is the sheet on screen (0-based index in tab order, shown name), for the CSV.
 * @returns {HTMLElement | null} the menu, or null when the page has no export links.
 */
export function calcFileMenu ({ ds, readOnly, sheet }) {
  const exportBase = ds.exportBase || ''
  if (!exportBase) return null
  const links = EXPORTS.map((fmt) => h(`a.menu-item.export-${fmt}`, { download: '', href: exportBase + fmt }))
  const csv = links[0]
  const label = () => {
    const s = sheet()
    // The route takes a 1-based sheet number (a name could match another sheet's case-folded).
    csv.href = `${exportBase}csv?sheet=${s.index + 1}`
    csv.textContent = t('calc.export.csv', { sheet: s.name })
  }
  links.forEach((a, i) => { if (i > 0) bindText(a, `calc.export.${EXPORTS[i]}`) })
  onLang(label)
  // The sheet on screen may have changed since the menu was built.
  csv.addEventListener('click', label)

  const items = [bindText(h('p.menu-heading'), 'calc.export'), ...links]
  if (!readOnly && ds.name) {
    items.push(bindText(h('button.menu-item.menu-sep.replace-item', { type: 'button', onclick: () => openReplace(ds) }), 'calc.replace'))
  }
  return dropdownMenu({ labelKey: 'calc.file', items, onOpen: label, className: 'calc-file-menu' })
}

let dlg = null
/** The confirmation dialog of "Replace from a file…"; the server's refusal is shown in it. */
function openReplace (ds) {
  if (!dlg) {
    dlg = h('dialog.dialog.replace-dialog', { 'aria-labelledby': 'replace-title' })
    const file = h('input#replace-file', { type: 'file', accept: '.csv,.ods,.xlsx,text/csv' })
    const note = h('p.delete-note.replace-note', { 'aria-live': 'polite' })
    const cancel = bindText(h('button.btn', { type: 'button', onclick: () => dlg.close() }), 'cancel')
    const confirm = bindText(h('button.btn.btn-danger', {
      type: 'button',
      onclick: async () => {
        const chosen = file.files && file.files[0]
        if (!chosen) {
          note.textContent = t('calc.replace.none')
          return
        }
        confirm.disabled = true
        note.textContent = t('calc.replace.sending')
        const body = new FormData()
        body.append('file', chosen, chosen.name)
        let status = 0
        let message = ''
        try {
          const res = await fetch(`${ds.base || ''}/c/${encodeURIComponent(ds.name)}/import?lang=${lang()}`, {
            method: 'POST',
            headers: { Accept: 'application/json' },
            body,
            credentials: 'same-origin',
            cache: 'no-store'
          })
          status = res.status
          const answer = await res.json().catch(() => null)
          if (answer && typeof answer.message === 'string') message = answer.message
        } catch {}
        confirm.disabled = false
        if (status === 200) {
          note.textContent = ''
          file.value = ''
          dlg.close()
        } else if (status === 0) {
          note.textContent = t('calc.replace.network')
        } else {
          note.textContent = t('calc.replace.failed', { message: message || String(status) })
        }
      }
    }), 'calc.replace.confirm')
    dlg.append(
      bindText(h('h2#replace-title'), 'calc.replace.title'),
      bindText(h('p'), 'calc.replace.text'),
      h('div.field', null, bindText(h('label', { for: 'replace-file' }), 'calc.replace.file'), file),
      note,
      h('div.dialog-actions', null, cancel, confirm))
    dlg.addEventListener('close', () => { note.textContent = '' })
    document.body.appendChild(dlg)
  }
  dlg.showModal()
}
