// A past version of a pad, read-only, in the History panel: the version's Y.Text "content" as
// text, each run shaded in its author's colour (the clientID that inserted it, as the editor's
// decorations do) with bold, italic, underline and strike kept, and a legend naming the authors.

import { h } from '../common/dom.js'
import { t } from '../common/i18n.js'
import { cleanName } from '../common/identity.js'
import { scan, OBJECT_CHAR } from './rich.js'

/** Characters of a version drawn at most (a longer one says it is cut; exports have it all). */
export const PREVIEW_MAX_CHARS = 200000

const MARKS = [['bold', 'f-b'], ['italic', 'f-i'], ['underline', 'f-u'], ['strike', 'f-s']]

/**
 * Draw `doc`'s text into `host`. `authorClass(client)` is the colour class of an author of this
 * version ('' when they have no valid colour).
 * @param {import('yjs').Doc} doc
 * @param {HTMLElement} host
 * @param {(client: number) => string} authorClass
 */
export function renderPadVersion (doc, host, authorClass) {
  const ytext = doc.getText('content')
  const authors = doc.getMap('authors')
  const body = h('div.history-text')
  const clients = new Set()
  let run = null
  let runCls = ''
  let count = 0
  scan(ytext, 0, Math.min(ytext.length, PREVIEW_MAX_CHARS), (s, e, str, attrs, item) => {
    const client = item.id.client
    clients.add(client)
    let cls = `au ${authorClass(client)}`.trim()
    for (const [key, c] of MARKS) if (attrs.get(key)) cls += ` ${c}`
    const text = str === null ? OBJECT_CHAR : str
    count += e - s
    if (run && runCls === cls) run.appendChild(document.createTextNode(text))
    else {
      run = h('span', { class: cls }, text)
      runCls = cls
      body.appendChild(run)
    }
  })
  if (count === 0) body.appendChild(h('p.history-blank', null, t('history.blank')))
  const legend = h('ul.history-legend')
  for (const client of clients) {
    const v = authors.get(String(client))
    const name = v && typeof v === 'object' ? cleanName(v.name, '') : ''
    if (!name) continue
    legend.appendChild(h('li', null, h(`span.chip.${authorClass(client) || 'no-color'}`, { 'aria-hidden': 'true' }), name))
  }
  if (legend.childElementCount) host.appendChild(legend)
  host.appendChild(body)
  if (ytext.length > PREVIEW_MAX_CHARS) host.appendChild(h('p.history-cut', null, t('history.cut')))
}
