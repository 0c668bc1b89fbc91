// The chat side panel on Y.Array "chat" of {author, text, ts}. Messages from the network are
// validated and rendered with textContent only.

import { h, clear } from './dom.js'
import { t, lang, onLang, bindText } from './i18n.js'
import { cleanName } from './identity.js'

export const CHAT_MAX = 1000
const SHOWN_MAX = 500

/** A chat entry from untrusted data, or null. */
export function cleanMessage (m, anonymous) {
  if (!m || typeof m !== 'object' || typeof m.text !== 'string') return null
  const text = m.text.slice(0, CHAT_MAX)
  if (!text.trim()) return null
  const ts = typeof m.ts === 'number' && Number.isFinite(m.ts) ? m.ts : null
  return { author: cleanName(m.author, anonymous), text, ts }
}

/**
 * @param {{ chat: import('yjs').Array<any>, readOnly: boolean, me: {name: string},
 *   send: (text: string) => void, colorClassFor: (name: string) => string | null,
 *   isVisible: () => boolean, countsUnread: () => boolean, onUnread: (n: number) => void }} opts
 */
export function chatPanel (opts) {
  const list = h('ol.chat-list', { 'aria-live': 'polite', 'aria-relevant': 'additions' })
  const empty = bindText(h('p.chat-empty'), 'chat.empty')
  let unread = 0

  const input = h('textarea.chat-input', {
    rows: 2,
    maxlength: String(CHAT_MAX),
    id: 'chat-input'
  })
  const counter = h('span.chat-limit')
  const form = opts.readOnly
    ? null
    : h('form.chat-form', {
      onsubmit: (e) => {
        e.preventDefault()
        submit()
      }
    },
    bindText(h('label.visually-hidden', { for: 'chat-input' }), 'chat.label'),
    input,
    h('div.chat-row', null, counter, bindText(h('button.btn.btn-primary', { type: 'submit' }), 'chat.send')))

  onLang(() => {
    input.placeholder = t('chat.placeholder')
    counter.textContent = t('chat.limit', { n: CHAT_MAX })
  })

  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault()
      submit()
    }
  })

  function submit () {
    const text = input.value.slice(0, CHAT_MAX)
    if (!text.trim()) return
    opts.send(text)
    input.value = ''
  }

  const timeFmt = () => new Intl.DateTimeFormat(lang(), { hour: '2-digit', minute: '2-digit' })

  function render () {
    const fmt = timeFmt()
    const items = opts.chat.toArray()
    const start = Math.max(0, items.length - SHOWN_MAX)
    clear(list)
    let count = 0
    for (let i = start; i < items.length; i++) {
      const m = cleanMessage(items[i], t('anonymous'))
      if (!m) continue
      count++
      const cls = opts.colorClassFor(m.author)
      const who = h('span.chat-author', null, h('span.chip' + (cls ? '.' + cls : '')), m.author)
      const when = m.ts !== null ? h('time.chat-time', { datetime: new Date(m.ts).toISOString() }, fmt.format(new Date(m.ts))) : null
      list.appendChild(h('li.chat-msg', null, h('div.chat-meta', null, who, when), h('p.chat-text', { text: m.text })))
    }
    empty.hidden = count > 0
    list.scrollTop = list.scrollHeight
  }

  opts.chat.observe((event) => {
    render()
    // history received with the first sync is not "unread"
    if (!event.transaction.local && opts.countsUnread() && !opts.isVisible()) {
      let added = 0
      for (const d of event.changes.delta) if (d.insert) added += d.insert.length
      if (added) {
        unread += added
        opts.onUnread(unread)
      }
    }
  })
  onLang(render)

  const panel = h('section.chat', { 'aria-labelledby': 'chat-title' },
    bindText(h('h2#chat-title.side-title'), 'chat'),
    empty,
    list,
    form)

  return {
    el: panel,
    render,
    focus: () => input.focus(),
    markRead () {
      if (unread) {
        unread = 0
        opts.onUnread(0)
      }
      list.scrollTop = list.scrollHeight
    }
  }
}
