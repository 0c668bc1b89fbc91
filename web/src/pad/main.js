// The pad page: CodeMirror 6 bound to Y.Text "content" with y-codemirror.next, formatting and
// authors' colours as decorations, labelled remote cursors, chat, sharing, connection state.
// The server's HTML shell gives <div id="app" data-…> and <meta name="csp-nonce">.

import * as Y from 'yjs'
import { EditorState, EditorSelection, Prec, Compartment } from '@codemirror/state'
import { EditorView, keymap, placeholder } from '@codemirror/view'
import { defaultKeymap } from '@codemirror/commands'
import { yCollab, yUndoManagerKeymap } from 'y-codemirror.next'

import { h, clear } from '../common/dom.js'
import { t, initLang, onLang, bindText, lang, withLang } from '../common/i18n.js'
import { storageGet, storageSet } from '../common/identity.js'
import {
  guardText, textOf, rangeHas, lineAttrs, toggleInline, toggleLine, clearInline, setLink,
  linkRange, attrsOfChar, enter, backspace, safeHref, INLINE_KEYS
} from './rich.js'
import { linkDialog } from './linkdialog.js'
import { richDecorations, refresher } from './decorations.js'
import { remoteCursors } from './cursors.js'
import { icon } from '../common/icons.js'
import { pageChrome, dropdownMenu } from '../common/chrome.js'
import { creatorDelete, goneKey } from '../common/creator.js'
import { historyPanel } from '../common/history.js'
import { renderPadVersion } from './historyview.js'
import { importMenuItem } from './importdialog.js'

const AUTHOR_COLORS_KEY = 'ardoise.authorColors'
const EXPORTS = ['txt', 'md', 'html', 'odt', 'docx']

function main () {
  const app = document.getElementById('app')
  if (!app) return
  const ds = app.dataset
  const nonce = document.querySelector('meta[name="csp-nonce"]')?.getAttribute('content') || ''
  const readOnly = ds.readonly === 'true'
  initLang(ds.lang)

  const ydoc = new Y.Doc()
  const ytext = ydoc.getText('content')

  // export menu
  const exportBase = ds.exportBase || ''
  const colorsBox = h('input', { type: 'checkbox', id: 'export-colors', checked: true })
  const exportLinks = EXPORTS.map((fmt) => bindText(h('a.menu-item', { download: '' }), `export.${fmt}`))
  const updateExportLinks = () => {
    EXPORTS.forEach((fmt, i) => {
      // The export's own words (headings, authors) follow the page's language.
      exportLinks[i].href = withLang(exportBase + fmt + (colorsBox.checked ? '' : '?colors=0'))
    })
  }
  colorsBox.addEventListener('change', updateExportLinks)
  onLang(updateExportLinks)
  // Import a file (edit page only): replaces the content, the previous one stays in the history.
  // With it the menu is the File menu, as the calc page's: its exports under a heading, then Import.
  const importItem = !readOnly && ds.name
    ? importMenuItem({ ds, restore: () => { if (view) view.focus() } })
    : null
  const exportMenu = exportBase
    ? dropdownMenu({
      labelKey: importItem ? 'calc.file' : 'export',
      items: [
        importItem ? bindText(h('p.menu-heading'), 'export') : null,
        ...exportLinks,
        h('label.check', { for: 'export-colors' }, colorsBox, bindText(h('span'), 'export.colors')),
        importItem
      ]
    })
    : null

  // author colours toggle, in the people panel
  const authorColorsOn = storageGet(AUTHOR_COLORS_KEY) !== '0'
  const authorColorsBox = h('input', { type: 'checkbox', id: 'author-colors', checked: authorColorsOn })
  const authorColorsLabel = h('label.check', { for: 'author-colors' }, authorColorsBox, bindText(h('span'), 'authorColors'))

  // delete, offered only to the browser that created the pad
  const creator = creatorDelete({ ds, kind: 'pad', readOnly, onDeleted: () => showGone('deleted by its creator') })
  const deleteBtn = creator.button

  // History: every earlier version, previewed, exported and (edit page) restored
  const history = historyPanel({ ds, ydoc, nonce, readOnly, exports: EXPORTS, exportLabel: (fmt) => t(`export.${fmt}`), render: renderPadVersion })

  const { conn, awareness, header, notice, side, setSide, ensureAuthor, renderPeople } =
    pageChrome({ ydoc, ds, nonce, readOnly, exportMenu, headerExtras: [history && history.button, deleteBtn], peopleExtras: authorColorsLabel, onGone: showGone })

  // ---- an erased pad: say why, stop editing ------------------------------------------------------
  let goneBanner = null
  function showGone (reason) {
    const key = goneKey(reason, 'pad')
    if (!goneBanner) {
      goneBanner = h('div.gone', { role: 'alert' }, h('p.gone-text'), bindText(h('a', { href: withLang((ds.base || '') + '/') }), 'gone.home'))
      app.prepend(goneBanner)
      creator.forget()
      if (view) view.dispatch({ effects: editableCompartment.reconfigure(editable(false)) })
      document.getElementById('expiry')?.remove()
      onLang(() => { goneBanner.querySelector('.gone-text').textContent = t(key, { reason }) })
    }
  }
  const authors = ydoc.getMap('authors')

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
  let linkDlg = null
  /** Ctrl+K / toolbar: the link dialog for the selection, the link around the caret, or its word. */
  const runLink = (view) => {
    if (readOnly) return false
    let range = view.state.selection.main
    if (range.empty) range = linkRange(ytext, range.head) || view.state.wordAt(range.head)
    if (!range || range.empty) return true
    const { from, to } = range
    const current = attrsOfChar(ytext, from).link
    linkDlg ??= linkDialog()
    linkDlg.open({
      text: view.state.sliceDoc(from, to),
      current: typeof current === 'string' ? current : null,
      apply: (href) => {
        view.dispatch({ selection: EditorSelection.single(from, Math.min(to, view.state.doc.length)) })
        step((v) => setLink(v, href))(view)
      },
      restore: () => view.focus()
    })
    return true
  }
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
    // Named by its visible text first, "H1 — Heading 1" (WCAG 2.5.3; issue 18, helper D).
    onLang(() => b.setAttribute('aria-label', `${t('tb.h')}${n} — ${t(`tb.h${n}`).replace(/ \(.*\)$/, '')}`))
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

  const applyAuthorColors = () => {
    editorHost.classList.toggle('authors-on', authorColorsBox.checked)
    storageSet(AUTHOR_COLORS_KEY, authorColorsBox.checked ? '1' : '0')
  }
  authorColorsBox.addEventListener('change', applyAuthorColors)
  applyAuthorColors()

  const main = h('main.pad-main', null,
    toolbar,
    h('div.editor-scroll', { id: 'editor' }, editorHost))
  // the server's sentence saying when the pad is erased if nobody edits it
  const expiry = document.getElementById('expiry')
  if (expiry) main.appendChild(expiry)

  clear(app)
  app.classList.add('pad-app')
  app.append(header, notice, h('div.pad-body', null, main, history && history.panel, side))
  setSide(window.matchMedia('(min-width: 900px)').matches)

  scheduleToolbar()
  renderPeople()
  if (!readOnly) view.focus()

  // For tests and debugging from the console: read-only handles, no secrets.
  window.ardoise = { ydoc, view, provider: conn.provider }
}

main()
