// The page around a document, shared by the pad and the calc: identity and the authors map,
// connection state, awareness (presence colours), header (share, identity, language, side
// toggle), people and chat side panel, share and identity dialogs. The editor itself (pad or
// grid) is the caller's.

import { h, clear } from './dom.js'
import { t, setLang, onLang, bindText, lang, withLang, LANGS } from './i18n.js'
import { loadIdentity, saveIdentity, validColor, cleanName, PALETTE, NAME_MAX, storageGet, storageSet } from './identity.js'
import { DynStyle } from './dynstyle.js'
import { styleAwareness, remoteUser } from './presence.js'
import { connect } from './connection.js'
import { chatPanel, CHAT_MAX } from './chat.js'
import { icon } from './icons.js'

/**
 * @param {{ ydoc: import('yjs').Doc, ds: DOMStringMap, nonce: string, readOnly: boolean,
 *   exportMenu?: HTMLElement | null, headerExtras?: HTMLElement | (HTMLElement | null)[] | null,
 *   peopleExtras?: HTMLElement | null, onGone?: (reason: string) => void }} opts
 *   `onGone` runs when the server says the document was erased (close 4410).
 */
export function pageChrome ({ ydoc, ds, nonce, readOnly, exportMenu = null, headerExtras = null, peopleExtras = null, onGone = null }) {
  const base = ds.base || '' // the server's --base-path ('' at the root)
  const padName = ds.name || ''
  const room = ds.room || padName
  const me = loadIdentity(t('anonymous'))
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
      if (st.state === 'gone') text = t(ds.kind === 'calc' ? 'status.gone.calc' : 'status.gone')
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
    if (s.state === 'gone' && onGone) onGone(s.reason)
    if (s.state === 'waiting') tick = setInterval(draw, 1000)
  }
  onLang(() => lastState && renderStatus(lastState))

  // ---- the operator's notice: a banner until it is withdrawn ---------------------------------------
  const notice = h('p.notice.pad-notice', { role: 'status', hidden: true })
  const showNotice = (text) => {
    notice.textContent = text
    notice.hidden = !text
  }

  // ---- awareness ---------------------------------------------------------------------------------
  conn = connect(ydoc, room, { readOnly, base, kind: ds.kind, onState: (s) => renderStatus(s), onNotice: showNotice })
  const awareness = conn.provider.awareness
  const setUser = () => awareness.setLocalStateField('user', { name: me.name, color: me.color, colorLight: me.color + '33' })
  setUser()
  styleAwareness(awareness, style, () => t('anonymous'))
  PALETTE.forEach((c, i) => style.set(`.sw-${i}`, { '--c': c }))

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

  // The toggle's accessible name is its own text (WCAG 2.5.3): "Chat · 1 unread · 2 people".
  // On a phone the words "Chat" and "people" are only visually hidden, so the name stays whole
  // while the button shows the icon and the numbers.
  const unreadBadge = h('span.badge', { hidden: true })
  const peopleNumber = h('span.count-n')
  const peopleWords = h('span.narrow-hidden')
  const sideToggle = h('button.btn.side-toggle', {
    type: 'button',
    'aria-expanded': 'false',
    'aria-controls': 'side',
    onclick: () => setSide(!sideOpen)
  }, icon('chat'), bindText(h('span.narrow-hidden'), 'side.toggle'), ' ', unreadBadge, ' ',
  h('span.count-pill', null, peopleNumber, peopleWords))
  let peopleCount = 0
  let unreadCount = 0
  const renderToggle = () => {
    const plural = (key, n) => (n === 1 ? t(key + '.one') : t(key, { n }))
    peopleNumber.textContent = String(peopleCount)
    // "2 people": the number is shown apart, the rest of the phrase follows it.
    peopleWords.textContent = plural('side.people', peopleCount).replace(String(peopleCount), '')
    unreadBadge.textContent = plural('side.unread', unreadCount)
    unreadBadge.hidden = unreadCount === 0
  }
  onLang(renderToggle)

  const shareBtn = h('button.btn.share-btn', { type: 'button', onclick: () => openShare() }, icon('share'), bindText(h('span.wide'), 'share'))
  bindText(shareBtn, 'share', 'aria-label')

  const brand = h('a.brand', { href: withLang(base + '/') }, bindText(h('span.visually-hidden'), 'home'), h('span', { 'aria-hidden': 'true' }, 'ardoise'))
  onLang(() => { brand.href = withLang(base + '/') })
  // The read-only page's title names no document: it says what the page is, in its language.
  if (!padName) onLang(() => { document.title = `${t(ds.kind === 'calc' ? 'title.readonly.calc' : 'title.readonly.pad')} · ardoise` })
  localizeExpiry(ds.kind === 'calc' ? 'calc' : 'pad')

  const header = h('header.pad-header', null,
    brand,
    padName ? h('h1.pad-name', { title: padName }, padName) : null,
    readOnly ? bindText(h(padName ? 'span.tag' : 'h1.tag'), 'readonly') : null,
    statusEl,
    h('div.header-actions', null, shareBtn, exportMenu, headerExtras, meButton, langSelect, sideToggle))

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
    peopleCount = rows.length
    renderToggle()
    meName.textContent = me.name
    meButton.setAttribute('aria-label', `${t('identity.button')}: ${me.name}`)
  }
  awareness.on('change', renderPeople)
  onLang(renderPeople)

  // ---- other people's changes, announced politely to screen readers ---------------------------
  const announce = announcer({
    nameOf: (client) => {
      const u = remoteUser(awareness.getStates().get(client), '')
      if (u && u.name) return u.name
      const a = authors.get(String(client))
      return a && typeof a.name === 'string' ? cleanName(a.name, t('anonymous')) : t('anonymous')
    }
  })
  // Who changed the document (not only the chat or the authors list) in a remote transaction.
  ydoc.on('afterTransaction', (tr) => {
    if (tr.local || !conn.everSynced()) return
    let content = false
    tr.changed.forEach((_keys, type) => { if (type !== chat && type !== authors) content = true })
    if (!content) return
    const clients = new Set()
    tr.afterState.forEach((clock, client) => {
      if (client !== ydoc.clientID && clock > (tr.beforeState.get(client) || 0)) clients.add(client)
    })
    tr.deleteSet.clients.forEach((_d, client) => { if (client !== ydoc.clientID) clients.add(client) })
    clients.forEach((c) => announce.edited(c))
  })
  // A person joins when their name first becomes known (a state may arrive before its user field).
  const named = new Set()
  awareness.on('change', ({ added, updated, removed }) => {
    for (const c of removed) named.delete(c)
    for (const c of [...added, ...updated]) {
      if (c === ydoc.clientID || named.has(c) || !remoteUser(awareness.getStates().get(c), '')) continue
      named.add(c)
      // Those already here when this page connected are not news.
      if (conn.everSynced()) announce.joined(c)
    }
  })

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
      unreadCount = n
      renderToggle()
    }
  })
  const side = h('aside#side.side', { hidden: true },
    h('div.side-head', null,
      h('button.btn.btn-small.side-close', { type: 'button', onclick: () => setSide(false) }, '×')),
    h('section.people-panel', null,
      peopleTitle,
      peopleExtras,
      peopleList,
      announce.toggle),
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

  // ---- dialogs -----------------------------------------------------------------------------------
  const closeButton = (dlg) => bindText(h('button.btn', { type: 'button', onclick: () => dlg.close() }), 'close')

  function linkRow (labelKey, url, qrSrc, id) {
    // A read-only text area, so the whole link shows (wrapped) even on a phone.
    const input = h('textarea.link-input', { readonly: true, rows: 2, spellcheck: 'false', id })
    input.value = url
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
      shareDlg.append(bindText(h('h2#share-title'), ds.kind === 'calc' ? 'share.title.calc' : 'share.title'), ...rows, h('div.dialog-actions', null, closeButton(shareDlg)))
      document.body.appendChild(shareDlg)
    }
    shareDlg.showModal()
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

  return { me, style, conn, awareness, header, notice, side, setSide, ensureAuthor, renderPeople, announce }
}

/** localStorage key of the announcements' switch ('off' when turned off). */
export const ANNOUNCE_KEY = 'ardoise.announce'
/** At most one announcement per this many milliseconds; what happens meanwhile is coalesced. */
export const ANNOUNCE_EVERY_MS = 4000

/**
 * One `aria-live="polite"` region saying who edited or joined ("Alice edited the document."),
 * coalesced so that a screen reader hears at most one sentence every ANNOUNCE_EVERY_MS, and a
 * checkbox (kept in localStorage) to turn it off. The region is in the page even when off, so
 * turning it back on needs no new element (live regions must exist before they speak).
 * @param {{ nameOf: (client: number) => string }} opts
 */
export function announcer ({ nameOf }) {
  const region = h('div.visually-hidden.announcer', { 'aria-live': 'polite', 'aria-atomic': 'true' })
  document.body.appendChild(region)
  let on = storageGet(ANNOUNCE_KEY) !== 'off'
  const box = h('input', { type: 'checkbox', id: 'announce-toggle', checked: on ? true : null })
  box.addEventListener('change', () => {
    on = box.checked
    storageSet(ANNOUNCE_KEY, on ? 'on' : 'off')
    if (!on) {
      editors.clear()
      arrivals.clear()
      clearTimeout(timer)
      timer = 0
      region.textContent = ''
    }
  })
  const toggle = h('p.announce-line', null, box, bindText(h('label', { for: 'announce-toggle' }), 'announce.toggle'))

  const editors = new Set()
  const arrivals = new Set()
  let last = -Infinity
  let timer = 0
  const list = (names) => {
    const all = [...names]
    return all.length < 2 ? all.join('') : all.slice(0, -1).join(', ') + t('announce.and') + all[all.length - 1]
  }
  function flush () {
    timer = 0
    if (!on || (!editors.size && !arrivals.size)) return
    const parts = []
    if (arrivals.size) parts.push(t(arrivals.size > 1 ? 'announce.joinedMany' : 'announce.joined', { names: list(arrivals) }))
    if (editors.size) parts.push(t(editors.size > 1 ? 'announce.editedMany' : 'announce.edited', { names: list(editors) }))
    editors.clear()
    arrivals.clear()
    last = Date.now()
    const text = parts.join(' ')
    // The same sentence twice in a row would not be read again: make it differ.
    region.textContent = region.textContent === text ? text + '\u00a0' : text
  }
  function schedule () {
    if (!on || timer) return
    const wait = Math.max(0, last + ANNOUNCE_EVERY_MS - Date.now())
    timer = setTimeout(flush, wait)
  }
  return {
    region,
    toggle,
    edited (client) {
      if (!on) return
      editors.add(nameOf(client))
      schedule()
    },
    joined (client) {
      if (!on) return
      arrivals.add(nameOf(client))
      schedule()
    }
  }
}

/**
 * A header drop-down menu (`<details class="menu">`), as the pad's and the calc's export menus
 * use: `labelKey` names it, `items` are its entries (links, buttons, checkboxes). Escape, a click
 * elsewhere or a click on an entry closes it; `onOpen` runs each time it opens (to refresh links
 * that depend on the page's state).
 * @param {{ labelKey: string, iconName?: string, items: (Node | null)[], onOpen?: () => void, className?: string }} opts
 */
export function dropdownMenu ({ labelKey, iconName = 'download', items, onOpen = null, className = '' }) {
  const menu = h('details.menu' + (className ? '.' + className : ''), null,
    bindText(h('summary.btn', null, icon(iconName), bindText(h('span.wide'), labelKey)), labelKey, 'aria-label'),
    h('div.menu-body', null, ...items))
  menu.addEventListener('toggle', () => { if (menu.open && onOpen) onOpen() })
  menu.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && menu.open) {
      menu.open = false
      menu.querySelector('summary').focus()
    }
  })
  // Entries that act (a link, a button) close the menu; a checkbox inside keeps it open.
  document.addEventListener('click', (e) => {
    if (!menu.open) return
    const inside = e.target instanceof Node && menu.contains(e.target)
    const acts = e.target instanceof Element && e.target.closest('a, button')
    if (!inside || acts) menu.open = false
  })
  return menu
}

/**
 * The server's sentence saying when the document is erased if nobody edits it (`#expiry`, in
 * UTC and the server's choice of language), said again in the page's language with the moment
 * in the reader's own time zone, and again after every language switch.
 * @param {'pad' | 'calc'} kind
 */
function localizeExpiry (kind) {
  const el = document.getElementById('expiry')
  if (!el) return
  const m = /^(\d+)([smhd])$/.exec(el.dataset.lifetime || '')
  const iso = el.dataset.expiresAt
  const at = iso ? new Date(iso) : null
  if (at && Number.isNaN(at.getTime())) return
  onLang((l) => {
    const doc = t('expiry.doc.' + kind)
    if (!at) {
      el.textContent = t('expiry.forever', { doc })
      return
    }
    if (!m) return
    const n = Number(m[1])
    const lifetime = `${n} ${t(`unit.${m[2]}.${n === 1 ? 'one' : 'many'}`)}`
    const [before, after = ''] = t('expiry.at', { doc, lifetime, when: '{when}' }).split('{when}')
    const when = new Intl.DateTimeFormat(l, { dateStyle: 'long', timeStyle: 'short' }).format(at)
    el.replaceChildren(before, h('time', { datetime: iso }, when), after)
  })
}
