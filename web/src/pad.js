// The pad page: CodeMirror 6 bound to Y.Text "content" with y-codemirror.next, formatting and
// authors' colours as decorations, labelled remote cursors, chat, sharing, connection state.
// The server's HTML shell gives <div id="app" data-…> and <meta name="csp-nonce">.

import * as Y from 'yjs'
import { EditorState, Prec, Compartment } from '@codemirror/state'
import { EditorView, keymap, placeholder } from '@codemirror/view'
import { defaultKeymap } from '@codemirror/commands'
import { yCollab, yUndoManagerKeymap } from 'y-codemirror.next'

import { h, clear } from './dom.js'
import { t, initLang, setLang, onLang, bindText, lang, LANGS } from './i18n.js'
import { loadIdentity, saveIdentity, validColor, cleanName, PALETTE, NAME_MAX, storageGet, storageSet, storageRemove } from './identity.js'
import { DynStyle } from './dynstyle.js'
import {
  guardText, textOf, rangeHas, lineAttrs, toggleInline, toggleLine, clearInline, setLink, linkAt,
  enter, backspace, safeHref, INLINE_KEYS
} from './rich.js'
import { richDecorations, refresher } from './decorations.js'
import { remoteCursors, styleAwareness, remoteUser } from './cursors.js'
import { connect } from './connection.js'
import { chatPanel, CHAT_MAX } from './chat.js'
import { icon } from './icons.js'

const AUTHOR_COLORS_KEY = 'ardoise.authorColors'
/** The creator secret of each pad this browser created: 'ardoise.creator.' + name. */
const CREATOR_KEY = 'ardoise.creator.'
const EXPORTS = ['txt', 'md', 'html', 'odt', 'docx']

function main () {
  const app = document.getElementById('app')
  if (!app) return
  const ds = app.dataset
  const nonce = document.querySelector('meta[name="csp-nonce"]')?.getAttribute('content') || ''
  const readOnly = ds.readonly === 'true'
  const padName = ds.name || ''
  const room = ds.room || padName
  initLang(ds.lang)
  // The creator secret arrives once: in the fragment after the home form (never sent to a
  // server), or in the page that created the pad. Keep it, and take it out of the address bar.
  const fromHash = /^#creator=([0-9a-f]{32})$/.exec(location.hash)
  const freshSecret = fromHash ? fromHash[1] : (ds.creator || '')
  if (padName && freshSecret) storageSet(CREATOR_KEY + padName, freshSecret)
  if (fromHash) history.replaceState(null, '', location.pathname + location.search)

  const me = loadIdentity(t('anonymous'))
  const ydoc = new Y.Doc()
  const ytext = ydoc.getText('content')
  const authors = ydoc.getMap('authors')
  const chat = ydoc.getArray('chat')
  const style = new DynStyle(nonce)
  const myKey = String(ydoc.clientID)

  // ---- authors: who typed what -----------------------------------------------------------------
  let registered = false
  /** Put this browser's identity under our clientID, in the current transaction (before a write). */
  const ensureAuthor = () => {
    if (readOnly || registered) return
    registered = true
    authors.set(myKey, { id: me.id, name: me.name, color: me.color })
  }
  /** After a rename or colour change: every clientID this author ever used. */
  const updateMyAuthorEntries = () => {
    if (readOnly) return
    ydoc.transact(() => {
      authors.forEach((v, k) => {
        if (v && v.id === me.id && (v.name !== me.name || v.color !== me.color)) {
          authors.set(k, { id: me.id, name: me.name, color: me.color })
        }
      })
    })
  }
  const styleAuthor = (key) => {
    if (!/^\d+$/.test(key)) return
    const v = authors.get(key)
    const c = v && validColor(v.color)
    if (c) style.set(`.a-${key}`, { '--a': c + '59', '--c': c })
  }
  authors.forEach((_v, k) => styleAuthor(k))
  authors.observe((e) => e.keysChanged.forEach(styleAuthor))
  /** The colour class of an author name (chat), from the authors map. */
  const colorClassFor = (name) => {
    let found = null
    authors.forEach((v, k) => {
      if (!found && v && v.name === name && validColor(v.color) && /^\d+$/.test(k)) found = `a-${k}`
    })
    return found
  }

  let conn = null
  // ---- connection state (always visible) ---------------------------------------------------------
  const statusText = h('span.status-text')
  const retryBtn = bindText(h('button.btn.btn-small', { type: 'button', hidden: true, onclick: () => conn && conn.retryNow() }), 'status.retryNow')
  const statusEl = h('div.status', { role: 'status', 'aria-live': 'polite', 'data-state': 'connecting' },
    h('span.status-dot', { 'aria-hidden': 'true' }), statusText, retryBtn)

  let lastState = null
  let tick = 0
  function renderStatus (s) {
    lastState = s
    clearInterval(tick)
    const draw = () => {
      const st = lastState
      let text
      if (st.state === 'gone') text = t('status.gone')
      else if (st.state === 'connected') text = t('status.connected')
      else if (st.state === 'connecting') text = st.everSynced ? t('status.retrying') : t('status.connecting')
      else if (st.state === 'offline') text = t('status.offline')
      else {
        const secs = Math.max(0, Math.ceil((st.retryAt - Date.now()) / 1000))
        text = t(st.busy ? 'status.busy' : 'status.reconnecting', { s: secs })
      }
      if (st.unsaved && st.state !== 'connected') text += ' — ' + t('status.unsaved')
      statusText.textContent = text
      statusEl.dataset.state = st.state === 'connected' ? 'connected' : (st.unsaved ? 'unsaved' : st.state)
      retryBtn.hidden = !(st.state === 'waiting' || st.state === 'offline')
    }
    draw()
    if (s.state === 'gone') showGone(s.reason)
    if (s.state === 'waiting') tick = setInterval(draw, 1000)
  }
  onLang(() => lastState && renderStatus(lastState))

  // ---- the operator's notice: a banner until it is withdrawn ---------------------------------------
  const noticeEl = h('p.notice.pad-notice', { role: 'status', hidden: true })
  const showNotice = (text) => {
    noticeEl.textContent = text
    noticeEl.hidden = !text
  }

  // ---- awareness ---------------------------------------------------------------------------------
  // ---- an erased pad: say why, stop editing ------------------------------------------------------
  let goneBanner = null
  function showGone (reason) {
    const key = reason === 'expired' ? 'gone.expired' : reason === 'deleted by its creator' ? 'gone.deleted' : 'gone.other'
    if (!goneBanner) {
      goneBanner = h('div.gone', { role: 'alert' }, h('p.gone-text'), bindText(h('a', { href: (ds.base || '') + '/' }), 'gone.home'))
      app.prepend(goneBanner)
      if (padName) storageRemove(CREATOR_KEY + padName)
      if (editableCompartment) view.dispatch({ effects: editableCompartment.reconfigure(editable(false)) })
      if (deleteBtn) deleteBtn.hidden = true
      document.getElementById('expiry')?.remove()
      onLang(() => { goneBanner.querySelector('.gone-text').textContent = t(key, { reason }) })
    }
  }

  conn = connect(ydoc, room, { readOnly, base: ds.base || '', onState: (s) => renderStatus(s), onNotice: showNotice })
  const awareness = conn.provider.awareness
  const setUser = () => awareness.setLocalStateField('user', { name: me.name, color: me.color, colorLight: me.color + '33' })
  setUser()
  styleAwareness(awareness, style, () => t('anonymous'))
  PALETTE.forEach((c, i) => style.set(`.sw-${i}`, { '--c': c }))

  // ---- editor ------------------------------------------------------------------------------------
  let pending = null // {pos, attrs}: a format chosen with an empty selection, for the next typed text
  const setPending = (pos, attrs) => {
    pending = { pos, attrs }
    scheduleToolbar()
  }
  const getPending = (pos) => (pending && pending.pos === pos ? pending.attrs : null)
  guardText(ytext, { pendingAt: getPending, beforeWrite: ensureAuthor })

  const undoManager = readOnly ? false : new Y.UndoManager(ytext)
  /** Formatting is its own undo step, apart from the typing around it. */
  const step = (fn) => (view) => {
    if (readOnly) return false
    if (undoManager) undoManager.stopCapturing()
    const done = fn(view)
    if (undoManager) undoManager.stopCapturing()
    return done
  }
  const runInline = (key) => step((view) => toggleInline(view, key, getPending, setPending))
  const runLine = (key, value) => step((view) => toggleLine(view, key, value))
  const runLink = step((view) => {
    const sel = view.state.selection.main
    if (sel.empty) return true
    const current = linkAt(view)
    const answer = window.prompt(t('link.prompt'), current || 'https://')
    if (answer === null) return true
    const trimmed = answer.trim()
    if (trimmed === '' || trimmed === 'https://') return setLink(view, null)
    const href = safeHref(trimmed)
    if (!href) {
      window.alert(t('link.invalid'))
      return true
    }
    return setLink(view, href)
  })
  const padKeymap = [
    { key: 'Enter', run: (v) => enter(v, setPending) },
    { key: 'Backspace', run: backspace },
    { key: 'Mod-b', run: runInline('bold'), preventDefault: true },
    { key: 'Mod-i', run: runInline('italic'), preventDefault: true },
    { key: 'Mod-u', run: runInline('underline'), preventDefault: true },
    { key: 'Mod-Shift-x', run: runInline('strike'), preventDefault: true },
    { key: 'Mod-k', run: runLink, preventDefault: true },
    { key: 'Mod-Alt-1', run: runLine('header', 1), preventDefault: true },
    { key: 'Mod-Alt-2', run: runLine('header', 2), preventDefault: true },
    { key: 'Mod-Alt-3', run: runLine('header', 3), preventDefault: true },
    { key: 'Mod-Shift-8', run: runLine('list', 'bullet'), preventDefault: true },
    { key: 'Mod-Shift-7', run: runLine('list', 'ordered'), preventDefault: true }
  ]

  let toolbar = null // built with the layout below
  let deleteBtn = null // shown when this browser created the pad
  const toolButtons = []
  let toolbarQueued = false
  const langCompartment = new Compartment()
  const editableCompartment = new Compartment()
  const editable = (on) => [EditorState.readOnly.of(!on), EditorView.editable.of(on)]
  const langExtensions = () => [
    readOnly ? [] : placeholder(t('editor.placeholder')),
    EditorView.contentAttributes.of({ 'aria-label': t('editor') })
  ]
  const editorHost = h('div.paper')
  const view = new EditorView({
    parent: editorHost,
    state: EditorState.create({
      doc: textOf(ytext),
      extensions: [
        EditorView.cspNonce.of(nonce),
        Prec.highest(keymap.of(padKeymap)),
        yCollab(ytext, null, { undoManager }),
        readOnly ? [] : keymap.of(yUndoManagerKeymap),
        keymap.of(defaultKeymap),
        EditorView.lineWrapping,
        editableCompartment.of(editable(!readOnly)),
        richDecorations(ytext),
        remoteCursors(ytext, awareness, { readOnly, fallbackName: () => t('anonymous') }),
        langCompartment.of(langExtensions()),
        EditorView.updateListener.of((u) => {
          if (pending && (u.state.selection.main.head !== pending.pos || !u.state.selection.main.empty)) {
            pending = null
          }
          if (u.selectionSet || u.docChanged || u.transactions.length) scheduleToolbar()
        }),
        EditorView.domEventHandlers({
          click (e) {
            const a = e.target instanceof Element ? e.target.closest('a.f-a[href]') : null
            if (!a) return false
            if (readOnly || e.ctrlKey || e.metaKey) {
              const href = safeHref(a.getAttribute('href'))
              if (href) window.open(href, '_blank', 'noopener,noreferrer')
              e.preventDefault()
              return true
            }
            e.preventDefault() // editing: a plain click places the caret
            return false
          }
        })
      ]
    })
  })
  let langApplied = lang()
  onLang((l) => {
    if (l === langApplied) return
    langApplied = l
    view.dispatch({ effects: langCompartment.reconfigure(langExtensions()) })
  })
  const refresh = refresher(view)
  ytext.observe(() => refresh())
  authors.observe(() => refresh())

  // ---- layout ------------------------------------------------------------------------------------

  // toolbar
  const tb = (key, labelKey, glyph, run, cls) => {
    const b = h('button.tb' + (cls ? '.' + cls : ''), {
      type: 'button',
      'aria-pressed': key ? 'false' : null,
      onmousedown: (e) => e.preventDefault(), // keep the editor's selection
      onclick: () => run(view)
    }, typeof glyph === 'string' ? h('span', { 'aria-hidden': 'true' }, glyph) : glyph)
    onLang(() => {
      b.setAttribute('aria-label', t(labelKey).replace(/ \(.*\)$/, ''))
      b.title = t(labelKey)
    })
    if (key) toolButtons.push([b, key])
    return b
  }
  const hGlyph = (n) => {
    const s = h('span', { 'aria-hidden': 'true' })
    onLang(() => { s.textContent = t('tb.h') + n })
    return s
  }
  const headingButton = (n) => {
    const b = tb(`header:${n}`, `tb.h${n}`, '', runLine('header', n), 'tb-h')
    clear(b).appendChild(hGlyph(n))
    return b
  }
  toolbar = readOnly
    ? null
    : h('div.toolbar', { role: 'toolbar', 'aria-controls': 'editor' },
      h('div.tb-group', null,
        tb('bold', 'tb.bold', 'B', runInline('bold'), 'tb-bold'),
        tb('italic', 'tb.italic', 'I', runInline('italic'), 'tb-italic'),
        tb('underline', 'tb.underline', 'U', runInline('underline'), 'tb-underline'),
        tb('strike', 'tb.strike', 'S', runInline('strike'), 'tb-strike'),
        tb('link', 'tb.link', icon('link'), runLink, 'tb-link'),
        tb(null, 'tb.clear', icon('clear'), step(clearInline), 'tb-clear')),
      h('div.tb-group', null, headingButton(1), headingButton(2), headingButton(3)),
      h('div.tb-group', null,
        tb('list:bullet', 'tb.bullet', icon('bullet'), runLine('list', 'bullet'), 'tb-list'),
        tb('list:ordered', 'tb.ordered', icon('ordered'), runLine('list', 'ordered'), 'tb-list')),
      h('div.tb-group', null,
        tb(null, 'tb.undo', icon('undo'), () => { undoManager && undoManager.undo(); view.focus() }, 'tb-undo'),
        tb(null, 'tb.redo', icon('redo'), () => { undoManager && undoManager.redo(); view.focus() }, 'tb-redo')))
  if (toolbar) onLang(() => toolbar.setAttribute('aria-label', t('toolbar')))

  function scheduleToolbar () {
    if (!toolbar || toolbarQueued) return
    toolbarQueued = true
    requestAnimationFrame(() => {
      toolbarQueued = false
      const { state } = view
      const sel = state.selection.main
      const line = lineAttrs(ytext, state.doc.lineAt(sel.head), state.doc)
      for (const [b, key] of toolButtons) {
        let on
        if (key.startsWith('header:')) on = line.header === Number(key.slice(7))
        else if (key.startsWith('list:')) on = line.list === key.slice(5)
        else if (INLINE_KEYS.includes(key)) on = rangeHas(ytext, sel.from, sel.to, key, getPending(sel.head))
        b.setAttribute('aria-pressed', on ? 'true' : 'false')
      }
    })
  }

  // header
  const langSelect = h('select.lang', {
    onchange: (e) => setLang(e.target.value)
  }, ...LANGS.map(([code, label]) => h('option', { value: code, title: label, selected: code === lang() ? true : null }, code.toUpperCase())))
  onLang(() => {
    langSelect.setAttribute('aria-label', t('lang'))
    langSelect.value = lang()
  })

  const meChip = h('span.chip.yc-' + ydoc.clientID, { 'aria-hidden': 'true' })
  const meName = h('span.me-name.wide')
  const meButton = h('button.btn.me', { type: 'button', onclick: () => openIdentity() }, meChip, meName)
  onLang(() => {
    meButton.title = t('identity.button')
    meButton.setAttribute('aria-label', `${t('identity.button')}: ${me.name}`)
  })

  const unreadBadge = h('span.badge', { hidden: true })
  const sideToggle = h('button.btn.side-toggle', {
    type: 'button',
    'aria-expanded': 'false',
    'aria-controls': 'side',
    onclick: () => setSide(!sideOpen)
  }, icon('chat'), bindText(h('span.wide'), 'side.toggle'), h('span.count-pill', null, ''), unreadBadge)
  onLang(() => sideToggle.setAttribute('aria-label', t('side.toggle')))
  const peopleCountPill = sideToggle.querySelector('.count-pill')

  const shareBtn = h('button.btn.share-btn', { type: 'button', onclick: () => openShare() }, icon('share'), bindText(h('span.wide'), 'share'))
  bindText(shareBtn, 'share', 'aria-label')

  // export menu
  const exportBase = ds.exportBase || ''
  const colorsBox = h('input', { type: 'checkbox', id: 'export-colors', checked: true })
  const exportLinks = EXPORTS.map((fmt) => bindText(h('a.menu-item', { download: '' }), `export.${fmt}`))
  const updateExportLinks = () => {
    EXPORTS.forEach((fmt, i) => {
      exportLinks[i].href = exportBase + fmt + (colorsBox.checked ? '' : '?colors=0')
    })
  }
  colorsBox.addEventListener('change', updateExportLinks)
  updateExportLinks()
  const exportMenu = exportBase
    ? h('details.menu', null,
      bindText(h('summary.btn', null, icon('download'), bindText(h('span.wide'), 'export')), 'export', 'aria-label'),
      h('div.menu-body', null,
        ...exportLinks,
        h('label.check', { for: 'export-colors' }, colorsBox, bindText(h('span'), 'export.colors'))))
    : null
  if (exportMenu) {
    // a menu: Escape or a click elsewhere closes it
    exportMenu.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && exportMenu.open) {
        exportMenu.open = false
        exportMenu.querySelector('summary').focus()
      }
    })
    document.addEventListener('click', (e) => {
      if (exportMenu.open && !(e.target instanceof Node && exportMenu.contains(e.target) && !(e.target instanceof Element && e.target.closest('a')))) {
        exportMenu.open = false
      }
    })
  }

  // delete, offered only to the browser that created the pad
  const creatorSecret = padName && !readOnly ? storageGet(CREATOR_KEY + padName) : null
  deleteBtn = creatorSecret
    ? bindText(h('button.btn.delete-btn', { type: 'button', onclick: () => openDelete() }), 'delete')
    : null

  const header = h('header.pad-header', null,
    h('a.brand', { href: (ds.base || '') + '/' }, bindText(h('span.visually-hidden'), 'home'), h('span', { 'aria-hidden': 'true' }, 'ardoise')),
    padName ? h('h1.pad-name', { title: padName }, padName) : null,
    readOnly ? bindText(h(padName ? 'span.tag' : 'h1.tag'), 'readonly') : null,
    statusEl,
    h('div.header-actions', null, shareBtn, exportMenu, deleteBtn, meButton, langSelect, sideToggle))

  // people + author colours toggle
  const authorColorsOn = storageGet(AUTHOR_COLORS_KEY) !== '0'
  const authorColorsBox = h('input', { type: 'checkbox', id: 'author-colors', checked: authorColorsOn })
  const applyAuthorColors = () => {
    editorHost.classList.toggle('authors-on', authorColorsBox.checked)
    storageSet(AUTHOR_COLORS_KEY, authorColorsBox.checked ? '1' : '0')
  }
  authorColorsBox.addEventListener('change', applyAuthorColors)
  applyAuthorColors()

  const peopleList = h('ul.people')
  const peopleTitle = h('h2.side-title')
  const renderPeople = () => {
    clear(peopleList)
    const rows = []
    awareness.getStates().forEach((state, client) => {
      const u = remoteUser(state, t('anonymous'))
      if (!u) return
      rows.push([client, u])
    })
    rows.sort((a, b) => (a[0] === ydoc.clientID ? -1 : b[0] === ydoc.clientID ? 1 : a[1].name.localeCompare(b[1].name)))
    for (const [client, u] of rows) {
      peopleList.appendChild(h('li', null,
        h('span.chip.yc-' + client, { 'aria-hidden': 'true' }),
        h('span.person-name', null, u.name),
        client === ydoc.clientID ? h('span.you', null, `(${t('you').toLowerCase()})`) : null))
    }
    peopleTitle.textContent = `${t('people')} (${rows.length})`
    peopleCountPill.textContent = String(rows.length)
    meName.textContent = me.name
    meButton.setAttribute('aria-label', `${t('identity.button')}: ${me.name}`)
  }
  awareness.on('change', renderPeople)
  onLang(renderPeople)

  // side panel: people and chat
  let sideOpen = false
  const chatUi = chatPanel({
    chat,
    readOnly,
    me,
    send: (text) => ydoc.transact(() => {
      ensureAuthor()
      chat.push([{ author: me.name, text: text.slice(0, CHAT_MAX), ts: Date.now() }])
    }),
    colorClassFor,
    isVisible: () => sideOpen && !document.hidden,
    countsUnread: () => conn.everSynced(),
    onUnread: (n) => {
      unreadBadge.hidden = n === 0
      unreadBadge.textContent = String(n)
      unreadBadge.setAttribute('aria-label', t('chat.unread', { n }))
    }
  })
  const side = h('aside#side.side', { hidden: true },
    h('div.side-head', null,
      h('button.btn.btn-small.side-close', { type: 'button', onclick: () => setSide(false) }, '×')),
    h('section.people-panel', null,
      peopleTitle,
      h('label.check', { for: 'author-colors' }, authorColorsBox, bindText(h('span'), 'authorColors')),
      peopleList),
    chatUi.el)
  onLang(() => side.querySelector('.side-close').setAttribute('aria-label', t('side.close')))
  function setSide (open) {
    sideOpen = open
    side.hidden = !open
    sideToggle.setAttribute('aria-expanded', open ? 'true' : 'false')
    document.body.classList.toggle('side-open', open)
    if (open) chatUi.markRead()
  }
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && sideOpen) chatUi.markRead()
  })

  const main = h('main.pad-main', null,
    toolbar,
    h('div.editor-scroll', { id: 'editor' }, editorHost))
  // the server's sentence saying when the pad is erased if nobody edits it
  const expiry = document.getElementById('expiry')
  if (expiry) main.appendChild(expiry)

  clear(app)
  app.classList.add('pad-app')
  app.append(header, noticeEl, h('div.pad-body', null, main, side))
  setSide(window.matchMedia('(min-width: 900px)').matches)

  // ---- dialogs -----------------------------------------------------------------------------------
  const closeButton = (dlg) => bindText(h('button.btn', { type: 'button', onclick: () => dlg.close() }), 'close')

  function linkRow (labelKey, url, qrSrc, id) {
    const input = h('input.link-input', { type: 'text', readonly: true, value: url, id })
    const copyBtn = bindText(h('button.btn.btn-primary', { type: 'button' }), 'copy')
    const note = h('span.copy-note', { 'aria-live': 'polite' })
    copyBtn.addEventListener('click', async () => {
      let ok = false
      try {
        await navigator.clipboard.writeText(url)
        ok = true
      } catch {
        input.focus()
        input.select()
        try { ok = document.execCommand('copy') } catch {}
      }
      note.textContent = ok ? t('copied') : t('copy.failed')
      setTimeout(() => { note.textContent = '' }, 3000)
    })
    const img = h('img.qr', { alt: '', width: 220, height: 220, hidden: true })
    onLang(() => { img.alt = t('qr.alt') })
    const qrBtn = bindText(h('button.btn', {
      type: 'button',
      'aria-expanded': 'false',
      onclick: () => {
        if (!img.getAttribute('src')) img.src = qrSrc
        img.hidden = !img.hidden
        qrBtn.setAttribute('aria-expanded', img.hidden ? 'false' : 'true')
      }
    }), 'qr.show')
    return h('div.link-row', null,
      bindText(h('label', { for: id }), labelKey),
      h('div.link-line', null, input, copyBtn, qrBtn),
      note,
      img)
  }

  let shareDlg = null
  function openShare () {
    if (!shareDlg) {
      shareDlg = h('dialog.dialog', { 'aria-labelledby': 'share-title' })
      const here = location.origin + location.pathname
      const qrBase = ds.qrBase || location.pathname.replace(/\/$/, '')
      const rows = []
      if (!readOnly) {
        rows.push(linkRow('share.edit', here, qrBase + '/qr.svg', 'share-edit'))
        if (ds.readonlyPath) rows.push(linkRow('share.read', location.origin + ds.readonlyPath, ds.readonlyPath + '/qr.svg', 'share-read'))
        rows.push(bindText(h('p.hint'), 'share.hint'))
      } else {
        rows.push(linkRow('share.read', here, qrBase + '/qr.svg', 'share-read'))
      }
      shareDlg.append(bindText(h('h2#share-title'), 'share.title'), ...rows, h('div.dialog-actions', null, closeButton(shareDlg)))
      document.body.appendChild(shareDlg)
    }
    shareDlg.showModal()
  }

  let delDlg = null
  function openDelete () {
    if (!delDlg) {
      delDlg = h('dialog.dialog', { 'aria-labelledby': 'delete-title' })
      const note = h('p.delete-note', { 'aria-live': 'polite' })
      const confirmBtn = bindText(h('button.btn.btn-danger', {
        type: 'button',
        onclick: async () => {
          confirmBtn.disabled = true
          note.textContent = ''
          let status = 0
          try {
            const res = await fetch(`${ds.base || ''}/p/${encodeURIComponent(padName)}/delete`, {
              method: 'POST',
              headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
              body: JSON.stringify({ secret: storageGet(CREATOR_KEY + padName) || '' }),
              credentials: 'same-origin',
              cache: 'no-store'
            })
            status = res.status
          } catch {}
          confirmBtn.disabled = false
          if (status === 200) {
            storageRemove(CREATOR_KEY + padName)
            delDlg.close()
            showGone('deleted by its creator')
          } else if (status === 403 || status === 404) {
            storageRemove(CREATOR_KEY + padName)
            if (deleteBtn) deleteBtn.hidden = true
            note.textContent = t('delete.forbidden')
          } else {
            note.textContent = t('delete.failed')
          }
        }
      }), 'delete.confirm')
      delDlg.append(
        bindText(h('h2#delete-title'), 'delete.title'),
        bindText(h('p'), 'delete.text'),
        note,
        h('div.dialog-actions', null,
          bindText(h('button.btn', { type: 'button', onclick: () => delDlg.close() }), 'cancel'),
          confirmBtn))
      document.body.appendChild(delDlg)
    }
    delDlg.showModal()
  }

  let idDlg = null
  let fillIdentity = () => {}
  function openIdentity () {
    if (!idDlg) {
      idDlg = h('dialog.dialog', { 'aria-labelledby': 'id-title' })
      const nameInput = h('input', { type: 'text', id: 'id-name', maxlength: String(NAME_MAX), required: true, autocomplete: 'nickname' })
      const colorInput = h('input', { type: 'color', id: 'id-color' })
      const swatches = h('div.swatches', { role: 'group' }, ...PALETTE.map((c, i) => h(`button.sw.sw-${i}`, {
        type: 'button',
        'aria-label': c,
        onclick: () => { colorInput.value = c }
      })))
      const form = h('form', {
        method: 'dialog',
        onsubmit: (e) => {
          e.preventDefault()
          me.name = cleanName(nameInput.value, me.name)
          me.color = validColor(colorInput.value) || me.color
          saveIdentity(me)
          setUser()
          updateMyAuthorEntries()
          renderPeople()
          idDlg.close()
        }
      },
      bindText(h('h2#id-title'), 'identity.title'),
      bindText(h('p.hint'), 'identity.hint'),
      h('div.field', null, bindText(h('label', { for: 'id-name' }), 'identity.name'), nameInput),
      h('div.field', null, bindText(h('label', { for: 'id-color' }), 'identity.color'), h('div.color-line', null, colorInput, swatches)),
      h('div.dialog-actions', null,
        bindText(h('button.btn', { type: 'button', onclick: () => idDlg.close() }), 'cancel'),
        bindText(h('button.btn.btn-primary', { type: 'submit' }), 'save')))
      idDlg.appendChild(form)
      fillIdentity = () => {
        nameInput.value = me.name
        colorInput.value = me.color
      }
      document.body.appendChild(idDlg)
    }
    fillIdentity()
    idDlg.showModal()
  }

  scheduleToolbar()
  renderPeople()
  if (!readOnly) view.focus()

  // For tests and debugging from the console: read-only handles, no secrets.
  window.ardoise = { ydoc, view, provider: conn.provider }
}

main()
