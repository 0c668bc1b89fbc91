// The admin page (/admin): asks for the admin token, keeps it in memory only (no cookie, no
// storage: closing the tab forgets it) and drives the JSON API under /admin/api/ with
// `Authorization: Bearer`. Every text from the server is set with textContent, never as HTML.

const root = document.getElementById('admin')
const $ = (id) => document.getElementById(id)
let token = ''
let after = null

const say = (key) => (root && root.dataset[key]) || key

async function api (method, path, body) {
  const init = { method, headers: { Authorization: 'Bearer ' + token }, cache: 'no-store' }
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json'
    init.body = JSON.stringify(body)
  }
  const res = await fetch((root.dataset.base || '') + '/admin/api/' + path, init)
  let data = null
  try { data = await res.json() } catch {}
  if (!res.ok) {
    const err = new Error((data && data.error) || String(res.status))
    err.status = res.status
    throw err
  }
  return data
}

function showError (e) {
  const p = $('error')
  p.textContent = say('failed') + ' ' + e.message
  p.hidden = false
}

/** A size in the page's language: "7.3 KiB", "7,3 Kio". */
function fmtBytes (n, lang = document.documentElement.lang, unit = say) {
  const one = new Intl.NumberFormat(lang, { maximumFractionDigits: 1, minimumFractionDigits: 1 })
  const nbsp = '\u00a0'
  if (n < 1024) return n + nbsp + unit('unitB')
  if (n < 1024 * 1024) return one.format(n / 1024) + nbsp + unit('unitKib')
  return one.format(n / 1024 / 1024) + nbsp + unit('unitMib')
}

/** A number in the page's language (decimal comma in French). */
function fmtNumber (v) {
  return new Intl.NumberFormat(document.documentElement.lang, { maximumFractionDigits: 1 }).format(v)
}

/** The words for a counter or signal of the stats API, by its JSON key. */
const statName = (k) => (root && root.dataset['stat' + k[0].toUpperCase() + k.slice(1)]) || k

function fmtTime (secs) {
  return secs ? new Date(secs * 1000).toLocaleString(document.documentElement.lang) : ''
}

/** A table row; `labels` name each cell for the narrow layout, where each row is a card. */
function row (cells, labels = []) {
  const tr = document.createElement('tr')
  cells.forEach((c, i) => {
    const td = document.createElement('td')
    if (labels[i]) td.dataset.label = labels[i]
    if (c instanceof Node) td.append(c)
    else td.textContent = String(c)
    tr.append(td)
  })
  return tr
}

function renderStats (s) {
  const dl = $('stats')
  dl.replaceChildren()
  for (const [k, v] of [
    ['connections', s.connections], ['rooms', s.rooms], ['stored_documents', s.stored_documents]
  ]) {
    const dt = document.createElement('dt')
    dt.textContent = statName(k)
    const dd = document.createElement('dd')
    dd.textContent = String(v)
    dl.append(dt, dd)
  }
  const body = $('signals').tBodies[0]
  body.replaceChildren()
  for (const [name, sig] of Object.entries(s.signals)) {
    const value = sig.value === null ? '?' : fmtNumber(sig.value)
    body.append(row([statName(name), value, '≥\u00a0' + fmtNumber(sig.high), '<\u00a0' + fmtNumber(sig.low)]))
  }
  renderCreation(s.creation)
  $('notice').value = s.notice || ''
}

function renderCreation (c) {
  let text = say(c.open ? 'isOpen' : 'isClosed') + ' — ' + say(c.mode)
  if (c.cause) text += ' (' + statName(c.cause.signal) + '\u00a0=\u00a0' + fmtNumber(c.cause.value) + ')'
  $('creation-state').textContent = text
  for (const b of document.querySelectorAll('button[data-mode]')) {
    b.setAttribute('aria-pressed', String(b.dataset.mode === c.mode))
  }
}

/** "5 seconds ago", "il y a 5 secondes", "now": the browser words it in the page's language. */
function fmtAgo (secs, lang = document.documentElement.lang) {
  const rtf = new Intl.RelativeTimeFormat(lang, { numeric: 'auto' })
  if (secs < 60) return rtf.format(-secs, 'second')
  if (secs < 3600) return rtf.format(-Math.floor(secs / 60), 'minute')
  if (secs < 86400) return rtf.format(-Math.floor(secs / 3600), 'hour')
  return rtf.format(-Math.floor(secs / 86400), 'day')
}

/** A node's name with its state in words (not only a colour): this node, not answering. */
function nodeCell (n) {
  const th = document.createElement('th')
  th.scope = 'row'
  th.dataset.label = say('node')
  const name = document.createElement('span')
  name.className = 'node-name'
  name.textContent = n.id === null ? say('thisServer') : n.id
  th.append(name)
  const mark = n.this_node && n.id !== null ? say('thisNode') : n.alive ? '' : say('notAnswering')
  if (mark) {
    const tag = document.createElement('span')
    tag.className = 'node-mark'
    tag.textContent = mark
    th.append(' ', tag)
  }
  return th
}

function renderNodes (view) {
  const body = $('nodes').tBodies[0]
  body.replaceChildren()
  const labels = [
    say('address'), say('roomsCol'), say('connectionsCol'), say('creationCol'), say('loadCol'), say('lastSeen')
  ]
  for (const n of view.nodes) {
    let creation = say(n.creation.open ? 'isOpen' : 'isClosed')
    if (n.creation.cause) creation += ' · ' + statName(n.creation.cause.signal)
    const cpu = n.cpu_percent === null ? '?' : fmtNumber(n.cpu_percent) + '\u00a0%'
    const mem = n.memory_mib === null ? '?' : fmtNumber(n.memory_mib) + '\u00a0' + say('unitMib')
    const tr = row([n.url, n.rooms, n.connections, creation, cpu + ' · ' + mem, fmtAgo(n.seen_secs_ago)], labels)
    tr.prepend(nodeCell(n))
    if (!n.alive) tr.classList.add('node-down')
    body.append(tr)
  }
  $('nodes-unread').hidden = !view.others_unavailable
}

async function refresh () {
  // One after the other: a refused token (a wrong one at sign-in) is then one 401, and the page
  // says so once every request it made has ended.
  renderStats(await api('GET', 'stats'))
  renderNodes(await api('GET', 'nodes'))
}

async function search (more) {
  if (!more) {
    after = null
    $('docs').tBodies[0].replaceChildren()
  }
  const q = new URLSearchParams({ prefix: $('prefix').value.trim(), limit: '50' })
  if (after) q.set('after', after)
  const page = await api('GET', 'documents?' + q)
  const body = $('docs').tBodies[0]
  const labels = [say('name'), say('kind'), say('size'), say('lastEdit'), say('connectionsCol'), '']
  for (const d of page.documents) {
    const del = document.createElement('button')
    del.type = 'button'
    del.className = 'btn-danger'
    del.textContent = say('delete')
    del.setAttribute('aria-label', say('delete') + ' ' + d.name)
    del.addEventListener('click', () => askRemove(d.name, del))
    const kind = d.kind === 'calc' ? say('kindCalc') : d.kind === 'pad' ? say('kindPad') : d.kind
    body.append(row([d.name, kind, fmtBytes(d.bytes), fmtTime(d.last_edit), d.connections, del], labels))
  }
  after = page.next
  $('more').hidden = !after
}

// The document the open delete dialog is about, and its row's button (focus goes back to it).
let pending = null

/** Asks in the page's own dialog (not prompt(), which cannot be styled, translated or tested). */
function askRemove (name, button) {
  pending = { name, button }
  $('delete-title').textContent = say('deleteTitle').replace('{name}', name)
  $('delete-message').value = ''
  $('delete-dialog').showModal()
}

async function remove () {
  if (!pending) return
  const { name, button } = pending
  pending = null
  const message = $('delete-message').value
  $('delete-dialog').close()
  await api('DELETE', 'documents/' + encodeURIComponent(name), { message })
  const tr = button.closest('tr')
  const next = tr.nextElementSibling || tr.previousElementSibling
  tr.remove()
  const focusTo = next && next.querySelector('button')
  if (focusTo) focusTo.focus()
  await refresh()
}

function run (step) {
  return (e) => {
    if (e) e.preventDefault()
    $('error').hidden = true
    step().catch(showError)
  }
}

function main () {
  if (!root) return
  $('login').addEventListener('submit', async (e) => {
    e.preventDefault()
    token = $('token').value.trim()
    try {
      await refresh()
    } catch (err) {
      const p = $('login-error')
      p.textContent = err.status === 401 ? say('badToken') : say('failed') + ' ' + err.message
      p.hidden = false
      return
    }
    $('token').value = ''
    $('login-card').hidden = true
    $('panel').hidden = false
    await search(false).catch(showError)
  })
  $('refresh').addEventListener('click', run(refresh))
  for (const b of document.querySelectorAll('button[data-mode]')) {
    b.addEventListener('click', run(async () => renderCreation(await api('PUT', 'creation', { mode: b.dataset.mode }))))
  }
  $('notice-form').addEventListener('submit', run(async () => {
    await api('PUT', 'notice', { message: $('notice').value })
    await refresh()
  }))
  $('notice-clear').addEventListener('click', run(async () => {
    await api('DELETE', 'notice')
    await refresh()
  }))
  $('search').addEventListener('submit', run(() => search(false)))
  $('delete-form').addEventListener('submit', run(remove))
  $('delete-cancel').addEventListener('click', () => $('delete-dialog').close())
  $('delete-dialog').addEventListener('close', () => {
    if (pending) pending.button.focus()
    pending = null
  })
  $('more').addEventListener('click', run(() => search(true)))
}

main()
