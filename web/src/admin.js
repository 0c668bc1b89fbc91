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

function fmtBytes (n) {
  if (n < 1024) return n + ' B'
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KiB'
  return (n / 1024 / 1024).toFixed(1) + ' MiB'
}

function fmtTime (secs) {
  return secs ? new Date(secs * 1000).toLocaleString(document.documentElement.lang) : ''
}

function row (cells) {
  const tr = document.createElement('tr')
  for (const c of cells) {
    const td = document.createElement('td')
    if (c instanceof Node) td.append(c)
    else td.textContent = String(c)
    tr.append(td)
  }
  return tr
}

function renderStats (s) {
  const dl = $('stats')
  dl.replaceChildren()
  for (const [k, v] of [
    ['connections', s.connections], ['rooms', s.rooms], ['stored_documents', s.stored_documents]
  ]) {
    const dt = document.createElement('dt')
    dt.textContent = k
    const dd = document.createElement('dd')
    dd.textContent = String(v)
    dl.append(dt, dd)
  }
  const body = $('signals').tBodies[0]
  body.replaceChildren()
  for (const [name, sig] of Object.entries(s.signals)) {
    const value = sig.value === null ? '?' : (Math.round(sig.value * 10) / 10)
    body.append(row([name, value, '≥ ' + sig.high, '≤ ' + sig.low]))
  }
  renderCreation(s.creation)
  $('notice').value = s.notice || ''
}

function renderCreation (c) {
  let text = say(c.open ? 'isOpen' : 'isClosed') + ' — ' + say(c.mode)
  if (c.cause) text += ' (' + c.cause.signal + ' = ' + Math.round(c.cause.value * 10) / 10 + ')'
  $('creation-state').textContent = text
  for (const b of document.querySelectorAll('button[data-mode]')) {
    b.setAttribute('aria-pressed', String(b.dataset.mode === c.mode))
  }
}

async function refresh () {
  renderStats(await api('GET', 'stats'))
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
  for (const d of page.documents) {
    const del = document.createElement('button')
    del.type = 'button'
    del.textContent = say('delete')
    del.addEventListener('click', () => remove(d.name, del).catch(showError))
    body.append(row([d.name, d.kind, fmtBytes(d.bytes), fmtTime(d.last_edit), d.connections, del]))
  }
  after = page.next
  $('more').hidden = !after
}

async function remove (name, button) {
  const message = window.prompt(say('deletePrompt') + '\n' + name, '')
  if (message === null) return
  await api('DELETE', 'documents/' + encodeURIComponent(name), { message })
  button.closest('tr').remove()
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
    $('login').hidden = true
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
  $('more').addEventListener('click', run(() => search(true)))
}

main()
