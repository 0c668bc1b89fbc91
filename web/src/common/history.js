// The History panel of pad and calc pages: a slider and a list over the revisions loaded so far
// (newest page first, older pages on request: never the whole history at once), a read-only
// preview of the chosen version (fetched on demand, debounced while the slider moves, cached by
// revision), that version's export links and, on the edit page only, "Restore this version"
// behind a confirmation. The preview itself is drawn by the page's area (pad or calc): this file
// only hands it the version as a Y.Doc and the authors' colour classes.

import * as Y from 'yjs'

import { h, clear } from './dom.js'
import { t, onLang, bindText, lang, withLang } from './i18n.js'
import { DynStyle } from './dynstyle.js'
import { validColor, cleanName } from './identity.js'
import { icon } from './icons.js'

/** Revisions asked for per page (the server allows 1 to 500). */
export const PAGE = 100
/** Milliseconds the slider must rest before its revision's preview is fetched. */
export const PREVIEW_DEBOUNCE_MS = 150
/** Versions kept decoded-ready (their bytes) in memory. */
const CACHE_MAX = 40
/** Milliseconds after the document's last change before the open panel looks for new revisions
 * (a revision is made once edits pause for a second). */
const NEWER_AFTER_MS = 1500
/** After a restore, how often and how many times to look for the new revision. */
const RESTORE_POLL_MS = 1200
const RESTORE_POLLS = 4

/**
 * The history base of a page (`…/p/{name}/history`, `…/r/{token}/history`) from its export base
 * (`…/p/{name}/export/`), which the server already gives every document page.
 * @returns {string | null}
 */
export function historyBase (exportBase) {
  return typeof exportBase === 'string' && exportBase.endsWith('/export/') ? exportBase.slice(0, -'export/'.length) + 'history' : null
}

/** Keep the revisions a server page gave: numbered, timed, named; anything else is dropped. */
export function cleanRevisions (list) {
  if (!Array.isArray(list)) return []
  const out = []
  for (const r of list) {
    if (!r || !Number.isSafeInteger(r.rev) || r.rev < 0 || typeof r.time !== 'number' || !Number.isFinite(r.time)) continue
    const authors = Array.isArray(r.authors) ? r.authors.filter((a) => typeof a === 'string').slice(0, 50).map((a) => cleanName(a, '')).filter(Boolean) : []
    const from = Number.isSafeInteger(r.restored_from) ? r.restored_from : null
    out.push({ rev: r.rev, time: r.time, authors, restoredFrom: from })
  }
  return out
}

/**
 * @param {{ ds: DOMStringMap, ydoc: Y.Doc, nonce: string, readOnly: boolean, exports: string[],
 *   exportLabel: (fmt: string) => string,
 *   render: (doc: Y.Doc, host: HTMLElement, authorClass: (client: number) => string) => void }} opts
 *   `exports` are the formats of this kind (`exportLabel` says each in words); `render` draws a
 *   version, read-only, into `host`. While the panel is open, changes to `ydoc` make it look for
 *   the revisions they become.
 * @returns {{ button: HTMLElement, panel: HTMLElement } | null} null when the page has no history.
 */
export function historyPanel ({ ds, ydoc, nonce, readOnly, exports, exportLabel, render }) {
  const base = historyBase(ds.exportBase)
  if (!base) return null
  const kind = ds.kind === 'calc' ? 'calc' : 'pad'
  const style = new DynStyle(nonce)
  const styled = new Set()

  /** Revisions loaded so far, oldest first; `older` is the server's cursor for the page before. */
  let revs = []
  let older = null
  let selected = -1 // index in revs
  let loading = false
  let previewTimer = 0
  let newerTimer = 0
  let previewToken = 0
  const cache = new Map() // rev → Promise<Uint8Array>

  const button = h('button.btn.history-btn', {
    type: 'button',
    'aria-expanded': 'false',
    'aria-controls': 'history-panel',
    onclick: () => (panel.hidden ? open() : close())
  }, icon('history'), bindText(h('span.wide'), 'history'))
  bindText(button, 'history', 'aria-label')

  const title = bindText(h('h2#history-title.history-title'), 'history')
  const closeBtn = h('button.btn.btn-small.history-close', { type: 'button', onclick: () => close() }, '×')
  bindText(closeBtn, 'history.close', 'aria-label')
  const empty = bindText(h('p.history-empty', { hidden: true }), 'history.empty')
  const status = h('p.history-status', { role: 'status' })
  const announcer = h('p.visually-hidden.history-live', { 'aria-live': 'polite', 'aria-atomic': 'true' })

  const slider = h('input#history-slider.history-slider', { type: 'range', min: '0', max: '0', step: '1', value: '0' })
  const sliderLabel = bindText(h('label.history-slider-label', { for: 'history-slider' }), 'history.slider')
  const ends = h('div.history-ends', { 'aria-hidden': 'true' }, h('span.history-end-old'), h('span.history-end-new'))
  const olderBtn = bindText(h('button.btn.btn-small.history-older', { type: 'button', hidden: true, onclick: () => loadOlder() }), 'history.older')
  const chosen = h('p.history-chosen')
  const preview = h('div.history-preview', { tabindex: '0', role: 'document' })
  onLang(() => preview.setAttribute('aria-label', t(kind === 'calc' ? 'history.preview.calc' : 'history.preview.pad')))
  const previewNote = h('p.history-note', { hidden: true })
  const exportLinks = exports.map((fmt) => h(`a.btn.btn-small.history-export.history-export-${fmt}`, { download: '' }))
  const exportsBox = h('div.history-exports', { role: 'group', 'aria-labelledby': 'history-exports-label' },
    bindText(h('span#history-exports-label.history-exports-label'), 'history.download'), ...exportLinks)
  const restoreBtn = readOnly ? null : bindText(h('button.btn.btn-primary.history-restore', { type: 'button', onclick: () => confirmRestore() }), 'history.restore')
  const list = h('ol.history-list')
  const listTitle = bindText(h('h3.history-list-title'), 'history.list')
  const selectedBlock = h('div.history-selected', null,
    h('div.history-slider-box', null, sliderLabel, slider, ends),
    chosen, preview, previewNote,
    h('div.history-actions', null, exportsBox, restoreBtn))

  const panel = h('section#history-panel.history-panel', { hidden: true, 'aria-labelledby': 'history-title' },
    h('div.history-head', null, title, closeBtn),
    empty, status, announcer,
    selectedBlock,
    listTitle, list, olderBtn)
  onLang(() => {
    exportLinks.forEach((a, i) => {
      a.textContent = exports[i].toUpperCase()
      a.title = exportLabel(exports[i])
    })
    if (revs.length) {
      renderList()
      showSelected(false, true)
    }
  })
  panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !e.defaultPrevented) {
      e.preventDefault()
      close()
    }
  })

  // ---- words -----------------------------------------------------------------------------------
  // One formatter per language, not one per revision drawn (a list may hold thousands).
  let fmtLang = null
  let dates = null
  let names = null
  const formatters = () => {
    if (fmtLang !== lang()) {
      fmtLang = lang()
      dates = new Intl.DateTimeFormat(fmtLang, { dateStyle: 'medium', timeStyle: 'medium' })
      names = new Intl.ListFormat(fmtLang, { type: 'conjunction' })
    }
  }
  const when = (r) => {
    formatters()
    return dates.format(new Date(r.time * 1000))
  }
  /** Who made it; a restore nobody is named for says only what it restored. */
  const who = (r) => {
    formatters()
    if (r.authors.length) return names.format(r.authors)
    return r.restoredFrom === null ? t('history.nobody') : ''
  }
  const byRev = (rev) => revs.find((r) => r.rev === rev)
  /** "restored from the version of <time>" (or its number when that page is not loaded). */
  const restoredWords = (r) => {
    if (r.restoredFrom === null) return ''
    const from = byRev(r.restoredFrom)
    return from ? t('history.restoredFrom', { when: when(from) }) : t('history.restoredFromRev', { rev: r.restoredFrom })
  }
  const describe = (r) => [when(r), who(r), restoredWords(r)].filter(Boolean).join(' — ')

  // ---- loading pages -----------------------------------------------------------------------------
  async function getJson (url) {
    const res = await fetch(withLang(url), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status })
    return res.json()
  }
  const failWords = (e) => t(e && e.status === 503 ? 'history.busy' : e && e.status === 404 ? 'history.gone' : 'history.failed')

  /** The newest page; `selectNewest`: select its last revision (else keep the revision shown). */
  async function loadNewest (selectNewest = true) {
    if (loading) return
    loading = true
    status.textContent = t('history.loading')
    const keep = selected >= 0 ? revs[selected].rev : null
    try {
      const page = await getJson(`${base}?limit=${PAGE}`)
      revs = cleanRevisions(page.revisions)
      older = Number.isSafeInteger(page.previous) ? page.previous : null
      status.textContent = ''
      const i = !selectNewest && keep !== null ? revs.findIndex((r) => r.rev === keep) : -1
      selected = i >= 0 ? i : revs.length - 1
      renderAll()
    } catch (e) {
      status.textContent = failWords(e)
    } finally {
      loading = false
    }
  }

  /** The revisions made since the newest one shown, added at the newest end; the selection stays. */
  async function loadNewer () {
    if (panel.hidden) return
    if (loading) {
      // A page is on its way: look again once it is there.
      newerTimer = setTimeout(loadNewer, NEWER_AFTER_MS)
      return
    }
    if (!revs.length) return loadNewest(true)
    loading = true
    try {
      const page = await getJson(`${base}?after=${revs[revs.length - 1].rev}&limit=${PAGE}`)
      const got = cleanRevisions(page.revisions).filter((r) => r.rev > revs[revs.length - 1].rev)
      if (got.length) {
        revs = revs.concat(got)
        renderAll(false)
      }
      if (Number.isSafeInteger(page.next)) newerTimer = setTimeout(loadNewer, 0)
    } catch {
      // The next change asks again; the list shown stays right as far as it goes.
    } finally {
      loading = false
    }
  }
  ydoc.on('update', () => {
    if (panel.hidden) return
    clearTimeout(newerTimer)
    newerTimer = setTimeout(loadNewer, NEWER_AFTER_MS)
  })

  async function loadOlder () {
    if (loading || older === null) return
    loading = true
    olderBtn.disabled = true
    status.textContent = t('history.loading')
    try {
      const page = await getJson(`${base}?before=${older}&limit=${PAGE}`)
      const got = cleanRevisions(page.revisions).filter((r) => revs.length === 0 || r.rev < revs[0].rev)
      older = Number.isSafeInteger(page.previous) && got.length ? page.previous : null
      revs = got.concat(revs)
      selected += got.length
      status.textContent = ''
      renderAll(false)
      // Focus goes to the oldest one just loaded, so the keyboard carries on from there.
      const first = list.querySelector('li:last-child button')
      if (got.length && first) first.focus()
      else if (olderBtn.hidden) slider.focus()
    } catch (e) {
      status.textContent = failWords(e)
    } finally {
      loading = false
      olderBtn.disabled = false
    }
  }

  // ---- drawing -----------------------------------------------------------------------------------
  /** Everything from `revs`; `preview`: show the selected version again (false: keep it). */
  function renderAll (preview = true) {
    const none = revs.length === 0
    empty.hidden = !none
    selectedBlock.hidden = none
    listTitle.hidden = none
    olderBtn.hidden = older === null
    slider.max = String(Math.max(0, revs.length - 1))
    renderList()
    showSelected(true, preview)
  }

  /** The loaded revisions, newest first: as many items as pages loaded, never more. */
  function renderList () {
    clear(list)
    for (let i = revs.length - 1; i >= 0; i--) {
      const r = revs[i]
      const restored = restoredWords(r)
      const item = h('button.history-item', {
        type: 'button',
        'data-rev': String(r.rev),
        'aria-current': i === selected ? 'true' : null,
        onclick: () => select(i, true)
      },
      h('time.history-time', { datetime: new Date(r.time * 1000).toISOString() }, when(r)),
      who(r) ? h('span.history-authors', null, who(r)) : null,
      restored ? h('span.history-restored', null, restored) : null)
      list.appendChild(h('li', null, item))
    }
  }

  /** Show revision `i` as selected; `fromList`: fetch its preview now (no slider to wait for). */
  function select (i, fromList) {
    if (i < 0 || i >= revs.length) return
    selected = i
    slider.value = String(i)
    for (const b of list.querySelectorAll('.history-item')) {
      if (Number(b.dataset.rev) === revs[i].rev) b.setAttribute('aria-current', 'true')
      else b.removeAttribute('aria-current')
    }
    showSelected(fromList)
  }

  /** `now`: fetch its preview at once (else after the slider rests); `again`: even if shown. */
  function showSelected (now, again = false) {
    if (selected < 0 || selected >= revs.length) return
    const r = revs[selected]
    const text = describe(r)
    slider.value = String(selected)
    slider.setAttribute('aria-valuetext', text)
    ends.firstChild.textContent = revs.length ? when(revs[0]) : ''
    ends.lastChild.textContent = revs.length ? when(revs[revs.length - 1]) : ''
    chosen.textContent = t('history.chosen', { n: selected + 1, total: revs.length }) + ' ' + text
    exportLinks.forEach((a, i) => { a.href = withLang(`${base}/${r.rev}/export/${exports[i]}`) })
    clearTimeout(previewTimer)
    if (!again && preview.dataset.rev === String(r.rev)) {
      // Back on the version shown: a preview still on its way is no longer wanted.
      previewToken++
      preview.removeAttribute('aria-busy')
      return
    }
    if (now) showPreview(r)
    else previewTimer = setTimeout(() => showPreview(r), PREVIEW_DEBOUNCE_MS)
  }

  /** The version's bytes, fetched once per revision (bounded cache, oldest use dropped first). */
  function versionBytes (rev) {
    let p = cache.get(rev)
    if (p) {
      cache.delete(rev)
      cache.set(rev, p)
      return p
    }
    p = fetch(withLang(`${base}/${rev}`), { credentials: 'same-origin' }).then(async (res) => {
      if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status })
      return new Uint8Array(await res.arrayBuffer())
    })
    p.catch(() => cache.delete(rev))
    cache.set(rev, p)
    if (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value)
    return p
  }

  async function showPreview (r) {
    const token = ++previewToken
    preview.setAttribute('aria-busy', 'true')
    previewNote.hidden = true
    let bytes
    try {
      bytes = await versionBytes(r.rev)
    } catch (e) {
      if (token !== previewToken) return
      preview.removeAttribute('aria-busy')
      previewNote.textContent = failWords(e)
      previewNote.hidden = false
      return
    }
    if (token !== previewToken) return
    const doc = new Y.Doc({ gc: true })
    try {
      Y.applyUpdate(doc, bytes)
    } catch {
      preview.removeAttribute('aria-busy')
      previewNote.textContent = t('history.failed')
      previewNote.hidden = false
      return
    }
    styleAuthors(doc)
    clear(preview)
    render(doc, preview, authorClass)
    doc.destroy()
    preview.removeAttribute('aria-busy')
    preview.dataset.rev = String(r.rev)
    announce(t('history.showing', { what: describe(r) }))
  }

  const authorClass = (client) => (styled.has(String(client)) ? `ha-${client}` : '')
  /** One class per author of a version, with their colour (validated #rrggbb only). */
  function styleAuthors (doc) {
    doc.getMap('authors').forEach((v, k) => {
      if (!/^\d+$/.test(k)) return
      const c = v && validColor(v.color)
      if (!c) return
      style.set(`.ha-${k}`, { '--a': c + '59', '--c': c })
      styled.add(k)
    })
  }

  function announce (text) {
    announcer.textContent = announcer.textContent === text ? text + '\u00a0' : text
  }

  slider.addEventListener('input', () => select(Number(slider.value), false))

  // ---- open and close ----------------------------------------------------------------------------
  function open () {
    panel.hidden = false
    button.setAttribute('aria-expanded', 'true')
    document.body.classList.add('history-open')
    title.setAttribute('tabindex', '-1')
    title.focus()
    loadNewest(true)
  }
  function close () {
    panel.hidden = true
    button.setAttribute('aria-expanded', 'false')
    document.body.classList.remove('history-open')
    clearTimeout(previewTimer)
    clearTimeout(newerTimer)
    previewToken++
    delete preview.dataset.rev
    button.focus()
  }

  // ---- restore (edit page only) ------------------------------------------------------------------
  let dlg = null
  let dlgText = null
  let dlgNote = null
  let dlgOk = null
  function confirmRestore () {
    if (readOnly || selected < 0) return
    const r = revs[selected]
    if (!dlg) {
      dlgText = h('p#history-confirm-text')
      dlgNote = h('p.delete-note.history-confirm-note', { 'aria-live': 'polite' })
      const cancel = bindText(h('button.btn.history-cancel', { type: 'button', onclick: () => dlg.close() }), 'cancel')
      dlgOk = bindText(h('button.btn.btn-primary.history-confirm-ok', { type: 'button', onclick: () => restore(Number(dlg.dataset.rev)) }), 'history.restore.ok')
      dlg = h('dialog.dialog.history-confirm', { 'aria-labelledby': 'history-confirm-title', 'aria-describedby': 'history-confirm-text' },
        bindText(h('h2#history-confirm-title'), 'history.restore.title'),
        dlgText, dlgNote,
        h('div.dialog-actions', null, cancel, dlgOk))
      // Tab and Shift+Tab go round the dialog's own buttons (the page behind is inert anyway).
      dlg.addEventListener('keydown', (e) => {
        if (e.key !== 'Tab') return
        const items = [...dlg.querySelectorAll('button:not([disabled])')]
        if (!items.length) return
        const first = items[0]
        const last = items[items.length - 1]
        if (e.shiftKey && document.activeElement === first) {
          e.preventDefault()
          last.focus()
        } else if (!e.shiftKey && document.activeElement === last) {
          e.preventDefault()
          first.focus()
        }
      })
      dlg.addEventListener('close', () => { if (restoreBtn && !panel.hidden) restoreBtn.focus() })
      document.body.appendChild(dlg)
    }
    dlg.dataset.rev = String(r.rev)
    dlgText.textContent = t(kind === 'calc' ? 'history.restore.text.calc' : 'history.restore.text', { when: when(r) })
    dlgNote.textContent = ''
    dlgOk.disabled = false
    dlg.showModal()
    dlg.querySelector('.history-cancel').focus()
  }

  async function restore (rev) {
    if (readOnly) return
    dlgOk.disabled = true
    dlgNote.textContent = t('history.restoring')
    let res = null
    try {
      res = await fetch(withLang(`${base}/${rev}/restore`), { method: 'POST', credentials: 'same-origin' })
    } catch {}
    if (!res || !res.ok) {
      dlgOk.disabled = false
      dlgNote.textContent = failWords(res ? { status: res.status } : null)
      return
    }
    let made = null
    try { made = (await res.json()).rev } catch {}
    dlg.close()
    announce(t('history.restored'))
    status.textContent = t('history.restored')
    // The restore is a revision once a second passes without edits: look for it a few times.
    for (let i = 0; i < RESTORE_POLLS; i++) {
      delete preview.dataset.rev
      await loadNewest(true)
      if (!Number.isSafeInteger(made) || revs.some((r) => r.rev >= made)) break
      await new Promise((resolve) => setTimeout(resolve, RESTORE_POLL_MS))
    }
    status.textContent = t('history.restored')
  }

  return { button, panel }
}
