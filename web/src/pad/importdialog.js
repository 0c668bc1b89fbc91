// The pad page's "Import a file…" (edit page only): a dialog that uploads a text, Markdown, HTML,
// ODT, DOCX or Etherpad file to the pad's import route. The server replaces the pad's content
// through its room, so this page (and every other one open on the pad) receives the new content
// as an ordinary update; the content before it stays a revision of the history. The dialog says
// what the file held that a pad cannot (images, links, other elements: left out, counted).
// Its words live here, in both languages, and follow the page's language switch.

import { h } from '../common/dom.js'
import { t, onLang, lang } from '../common/i18n.js'

/** What the file picker offers: the pad formats the server reads. */
const ACCEPT = '.txt,.md,.markdown,.html,.htm,.odt,.docx,.etherpad,text/plain,text/markdown,text/html'

const STRINGS = {
  fr: {
    item: 'Importer un fichier…',
    title: 'Importer un fichier',
    warning: 'Le contenu du fichier remplace celui du pad, pour tout le monde. Rien n’est perdu : le contenu actuel reste dans l’historique.',
    file: 'Fichier texte, Markdown, HTML, ODT, DOCX ou Etherpad',
    ok: 'Importer',
    close: 'Fermer',
    none: 'Choisissez d’abord un fichier.',
    sending: 'Import en cours…',
    done: 'Fichier importé.',
    tooLarge: 'Fichier refusé, trop gros : {message}',
    failed: 'L’import a échoué : {message}',
    network: 'Le serveur n’a pas pu être joint. Réessayez dans un moment.',
    'images.one': '1 image n’a pas été importée.',
    'images.many': '{n} images n’ont pas été importées.',
    'links.one': '1 lien n’a pas été gardé (seuls http, https et mailto le sont) ; son texte est resté.',
    'links.many': '{n} liens n’ont pas été gardés (seuls http, https et mailto le sont) ; leur texte est resté.',
    'other.one': '1 autre élément (commentaire, note, champ…) n’a pas été importé.',
    'other.many': '{n} autres éléments (commentaires, notes, champs…) n’ont pas été importés.'
  },
  en: {
    item: 'Import a file…',
    title: 'Import a file',
    warning: 'The file’s content replaces the pad’s, for everyone. Nothing is lost: the current content stays in the history.',
    file: 'Text, Markdown, HTML, ODT, DOCX or Etherpad file',
    ok: 'Import',
    close: 'Close',
    none: 'Choose a file first.',
    sending: 'Importing…',
    done: 'File imported.',
    tooLarge: 'File refused, too large: {message}',
    failed: 'The import failed: {message}',
    network: 'The server could not be reached. Try again in a moment.',
    'images.one': '1 image was not imported.',
    'images.many': '{n} images were not imported.',
    'links.one': '1 link was not kept (only http, https and mailto links are); its text was.',
    'links.many': '{n} links were not kept (only http, https and mailto links are); their text was.',
    'other.one': '1 other element (a comment, a note, a field…) was not imported.',
    'other.many': '{n} other elements (comments, notes, fields…) were not imported.'
  }
}

/** This dialog's words in the page's language, `{name}` replaced by vars.name. */
export function tr (key, vars) {
  let s = (STRINGS[lang()] || STRINGS.fr)[key] ?? STRINGS.fr[key] ?? key
  if (vars) s = s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''))
  return s
}

/** Keep `el`'s text (or an attribute) in the page's language. */
function bind (el, key, attr) {
  onLang(() => {
    if (attr) el.setAttribute(attr, tr(key))
    else el.textContent = tr(key)
  })
  return el
}

/**
 * What an import left out, from the server's `dropped` counts, as the keys (and counts) of
 * the sentences saying it.
 * @param {{ images?: number, links?: number, other?: number } | null | undefined} dropped
 * @returns {[string, { n: number }][]}
 */
export function droppedLines (dropped) {
  const out = []
  for (const kind of ['images', 'links', 'other']) {
    const n = dropped && Number.isSafeInteger(dropped[kind]) ? dropped[kind] : 0
    if (n > 0) out.push([`${kind}.${n === 1 ? 'one' : 'many'}`, { n }])
  }
  return out
}

/**
 * The menu entry that opens the dialog, for the pad's edit page (`ds.name` set).
 * @param {{ ds: DOMStringMap, restore: () => void }} opts `restore` gives the focus back after the dialog closes.
 * @returns {HTMLElement}
 */
export function importMenuItem ({ ds, restore }) {
  let dialog = null
  return bind(h('button.menu-item.menu-sep.import-item', {
    type: 'button',
    onclick: () => {
      dialog ??= importDialog(ds, restore)
      dialog.open()
    }
  }), 'item')
}

/** The dialog, made once per page. */
function importDialog (ds, restore) {
  const dlg = h('dialog.dialog.import-dialog', { 'aria-labelledby': 'import-title', 'aria-describedby': 'import-warning' })
  const file = h('input#import-file', { type: 'file', accept: ACCEPT })
  const note = h('div.import-note', { 'aria-live': 'polite' })
  const cancel = h('button.btn.import-cancel', { type: 'button', onclick: () => dlg.close() })
  const ok = bind(h('button.btn.btn-primary.import-ok', { type: 'button', onclick: () => send() }), 'ok')
  let done = false
  // The notice shown, as a key and its vars, so a language switch says it again.
  let shown = []
  const show = (lines) => {
    shown = lines
    note.replaceChildren(...lines.map(([key, vars]) => h('p', null, tr(key, vars))))
  }
  const setDone = (on) => {
    done = on
    ok.hidden = on
    cancel.textContent = on ? tr('close') : t('cancel')
  }
  onLang(() => {
    setDone(done)
    if (shown.length) show(shown)
  })

  async function send () {
    const chosen = file.files && file.files[0]
    if (!chosen) {
      show([['none']])
      file.focus()
      return
    }
    ok.disabled = true
    show([['sending']])
    const body = new FormData()
    body.append('file', chosen, chosen.name)
    let status = 0
    let answer = null
    try {
      const res = await fetch(`${ds.base || ''}/p/${encodeURIComponent(ds.name)}/import?lang=${lang()}`, {
        method: 'POST',
        headers: { Accept: 'application/json' },
        body,
        credentials: 'same-origin',
        cache: 'no-store'
      })
      status = res.status
      answer = await res.json().catch(() => null)
    } catch {}
    ok.disabled = false
    const message = answer && typeof answer.message === 'string' ? answer.message : String(status)
    if (status === 200) {
      file.value = ''
      show([['done'], ...droppedLines(answer && answer.dropped)])
      setDone(true)
      cancel.focus()
    } else if (status === 0) {
      show([['network']])
    } else if (status === 413) {
      show([['tooLarge', { message }]])
    } else {
      show([['failed', { message }]])
    }
  }

  dlg.append(
    bind(h('h2#import-title'), 'title'),
    bind(h('p#import-warning.import-warning'), 'warning'),
    h('div.field', null, bind(h('label', { for: 'import-file' }), 'file'), file),
    note,
    h('div.dialog-actions', null, cancel, ok))
  // Escape (the dialog's own cancel) and every other way out give the focus back.
  dlg.addEventListener('close', () => {
    show([])
    setDone(false)
    restore()
  })
  document.body.appendChild(dlg)

  return {
    open () {
      show([])
      setDone(false)
      dlg.showModal()
      file.focus()
    }
  }
}
