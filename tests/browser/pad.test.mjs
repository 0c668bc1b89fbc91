// The pad page in real Chromium against the real server (issue 4): co-editing with formatting,
// authors' colours, labelled cursors and chat; a latecomer; read-only; reload; a stock Node
// y-websocket client; phone width; no console error or CSP violation anywhere.
//
// Run from the repo root:  ARDOISE_BIN=target/debug/ardoise node --test tests/browser/*.test.mjs
// (`cargo test` does it: tests/it/browser.rs). Screenshots go to target/screenshots/.
//
// The tests of this file share one server, one browser and one pad, in order: each builds on
// what the previous ones wrote.

import { test } from 'node:test'
import assert from 'node:assert/strict'

import {
  browserSuite, Y, openPad, waitConnected, waitText, typeAtEnd, lookOf, waitLook, sameHue, screenshot, makeClient, synced, waitFor, editorText, padName, WAIT_MS, assertClean
} from './helpers.mjs'

const T = { timeout: 120_000 }
const ALICE = { name: 'Alice', color: '#e6194b', id: 'a11ce0000000000000000000000000a1' }
const BOB = { name: 'Bob', color: '#3cb44b', id: 'b0b0000000000000000000000000b0b0' }
const CAROL = { name: 'Carol', color: '#4363d8', id: 'ca401000000000000000000000000ca4' }

const suite = browserSuite()
const person = suite.person
const pad = padName('classe')
let alice, bob

/** The shared pad's address (the server starts before the tests). */
const padUrl = () => `${suite.server.url}/p/${pad}`

test('two people on one pad see each other\'s text, bold, headings, colours, cursors and chat', T, async () => {
  alice = await person(ALICE)
  bob = await person(BOB)
  await openPad(alice, padUrl())
  await openPad(bob, padUrl())

  // Alice: a heading (toolbar button), then a paragraph with a bold word (Ctrl+B)
  const a = alice.page
  await a.click('.cm-content')
  await a.keyboard.type('Sortie au musée')
  await a.click('.toolbar button.tb-h >> nth=0') // Titre 1
  await a.keyboard.press('End')
  await a.keyboard.press('Enter')
  await a.keyboard.type('Rendez-vous ')
  await a.keyboard.press('Control+b')
  await a.keyboard.type('devant la gare')
  await a.keyboard.press('Control+b')
  await a.keyboard.type(' à 9 h.')

  const b = bob.page
  await waitText(b, 'Rendez-vous devant la gare à 9 h.')
  const heading = await waitLook(b, 'Sortie au musée', (l) => /\bcm-h1\b/.test(l.lineClasses), 'like a level-1 heading')
  const body = await lookOf(b, 'Rendez-vous')
  assert.ok(heading.lineFontSize > body.lineFontSize * 1.4, `heading font ${heading.lineFontSize}px vs body ${body.lineFontSize}px`)
  assert.ok(heading.fontWeight >= 700, `heading weight ${heading.fontWeight}`)
  const bold = await waitLook(b, 'devant la gare', (l) => l.fontWeight >= 700, 'bold')
  assert.ok(!/\bcm-h/.test(bold.lineClasses), 'the line after a heading is not a heading (Enter gives it plain format)')
  assert.ok((await lookOf(b, ' à 9 h.')).fontWeight < 700, 'text typed after Ctrl+B again is not bold')
  assert.ok(!(await editorText(b)).includes('*'), 'no markup characters')

  // Alice's text is shaded in Alice's colour on Bob's screen
  assert.ok(sameHue(body.backgroundColor, ALICE.color), `Alice's text background on Bob's page: ${body.backgroundColor}`)

  // Bob answers at the end; Alice sees it in Bob's colour, and Bob's labelled caret
  await typeAtEnd(b, ' Bob apporte le goûter')
  await waitText(a, 'Bob apporte le goûter')
  await waitLook(a, 'Bob apporte le goûter', (l) => sameHue(l.backgroundColor, BOB.color), `shaded in Bob's colour ${BOB.color}`)
  const caret = await a.waitForSelector('.yc-caret .yc-label', { timeout: WAIT_MS })
  assert.equal(await caret.textContent(), 'Bob')
  const caretColor = await a.evaluate(() => getComputedStyle(document.querySelector('.yc-caret')).borderLeftColor)
  assert.ok(sameHue(caretColor, BOB.color), `Bob's caret colour on Alice's page: ${caretColor}`)
  const labelBg = await a.evaluate(() => getComputedStyle(document.querySelector('.yc-label')).backgroundColor)
  assert.ok(sameHue(labelBg, BOB.color), `Bob's label colour: ${labelBg}`)

  // the user list on both sides: two people, with names
  for (const p of [a, b]) {
    await p.waitForFunction(() => document.querySelectorAll('.people li').length === 2, null, { timeout: WAIT_MS })
    const names = await p.$$eval('.people .person-name', (els) => els.map((e) => e.textContent).sort())
    assert.deepEqual(names, ['Alice', 'Bob'])
  }

  // chat: Alice writes (with HTML in it), Bob sees it as text, with her name
  await a.fill('#chat-input', 'On se retrouve à <b>9 h</b> <img src=x>')
  await a.press('#chat-input', 'Enter')
  await b.waitForFunction(() => document.querySelector('.chat-text')?.textContent.includes('9 h'), null, { timeout: WAIT_MS })
  const msg = await b.$eval('.chat-msg', (li) => ({
    text: li.querySelector('.chat-text').textContent,
    author: li.querySelector('.chat-author').textContent,
    elements: li.querySelector('.chat-text').children.length
  }))
  assert.equal(msg.text, 'On se retrouve à <b>9 h</b> <img src=x>')
  assert.equal(msg.author, 'Alice')
  assert.equal(msg.elements, 0, 'chat text is rendered as text, never HTML')

  await screenshot(a, 'pad-desktop')
  await assertClean(alice, bob)
})

test('a latecomer sees everything, each author in their own colour', T, async () => {
  const carol = await person(CAROL)
  await openPad(carol, padUrl())
  const c = carol.page
  await waitText(c, 'Bob apporte le goûter')
  await waitLook(c, 'Sortie au musée', (l) => /\bcm-h1\b/.test(l.lineClasses) && sameHue(l.backgroundColor, ALICE.color), 'a heading in Alice\'s colour')
  await waitLook(c, 'devant la gare', (l) => l.fontWeight >= 700 && sameHue(l.backgroundColor, ALICE.color), 'bold in Alice\'s colour')
  await waitLook(c, 'Bob apporte le goûter', (l) => sameHue(l.backgroundColor, BOB.color), 'in Bob\'s colour')
  await c.waitForFunction(() => document.querySelector('.chat-text')?.textContent.includes('9 h'), null, { timeout: WAIT_MS })
  await c.waitForFunction(() => document.querySelectorAll('.people li').length === 3, null, { timeout: WAIT_MS })

  // the "author colours" switch turns shading off and on
  await c.uncheck('#author-colors')
  const off = await lookOf(c, 'Bob apporte le goûter')
  assert.ok(!sameHue(off.backgroundColor, BOB.color), `shading off: ${off.backgroundColor}`)
  await c.check('#author-colors')
  await waitLook(c, 'Bob apporte le goûter', (l) => sameHue(l.backgroundColor, BOB.color), 'shaded again')

  await assertClean(carol)
  await carol.context.close()
})

test('a read-only viewer sees the pad live but cannot change it', T, async () => {
  const roPath = await alice.page.getAttribute('#app', 'data-readonly-path')
  assert.match(roPath ?? '', /^\/r\/[A-Za-z0-9_-]{16,}$/, 'the editable page gives the read-only link')
  assert.ok(!roPath.includes(pad), 'the read-only token is not derived from the name')
  const viewer = await person({ name: 'Viewer', color: '#911eb4' })
  await openPad(viewer, suite.server.url + roPath)
  const v = viewer.page
  await waitText(v, 'Bob apporte le goûter')
  await waitLook(v, 'Sortie au musée', (l) => /\bcm-h1\b/.test(l.lineClasses), 'a heading')
  assert.equal(await v.$('.toolbar'), null, 'no toolbar in read-only view')
  assert.equal(await v.getAttribute('.cm-content', 'contenteditable'), 'false')
  assert.equal(await v.$('#chat-input'), null, 'no chat input in read-only view')

  const before = await editorText(v)
  await v.click('.cm-content')
  await v.keyboard.type('VANDALISME')
  await v.keyboard.press('Enter')
  await v.keyboard.press('Control+b')
  assert.equal(await editorText(v), before, 'typing changes nothing')

  // even a doctored client cannot write: the server drops updates from read-only connections
  await v.evaluate(() => window.ardoise.ydoc.getText('content').insert(0, 'PIRATE '))
  await typeAtEnd(alice.page, ' Fin.')
  await waitText(v, 'goûter Fin.') // the viewer still receives live edits
  assert.ok(!(await editorText(alice.page)).includes('PIRATE'), 'a read-only client\'s update reached an editor')
  await viewer.page.reload()
  await waitConnected(v)
  await waitText(v, 'goûter Fin.')
  assert.ok(!(await editorText(v)).includes('PIRATE'), 'a read-only client\'s update was stored')

  await screenshot(v, 'pad-readonly')
  await assertClean(viewer)
  await viewer.context.close()
})

test('reloading keeps the text and everyone\'s colours', T, async () => {
  const a = alice.page
  await a.reload()
  await waitConnected(a)
  await waitText(a, 'goûter Fin.')
  await waitLook(a, 'Sortie au musée', (l) => /\bcm-h1\b/.test(l.lineClasses) && sameHue(l.backgroundColor, ALICE.color), 'heading, Alice\'s colour')
  await waitLook(a, 'Bob apporte le goûter', (l) => sameHue(l.backgroundColor, BOB.color), 'Bob\'s colour')
  // after the reload Alice has a new Yjs clientID but the same identity and colour
  await typeAtEnd(a, ' Merci !')
  await waitText(bob.page, 'Merci !')
  await waitLook(bob.page, 'Merci !', (l) => sameHue(l.backgroundColor, ALICE.color), 'Alice\'s colour after her reload')
  await assertClean(alice, bob)
})

test('formatted text from a stock y-websocket client is rendered formatted', T, async () => {
  const room = padName('stock')
  const person = await personFor(room)
  const client = makeClient(suite.server.wsUrl, room, { label: 'Robot' })
  try {
    await synced(client)
    const { doc } = client
    const ytext = doc.getText('content')
    doc.transact(() => {
      doc.getMap('authors').set(String(doc.clientID), { id: 'node0000000000000000', name: 'Robot', color: '#f58231' })
      ytext.insert(0, 'Programme', {})
      ytext.insert(9, '\n', { header: 2 })
      ytext.insert(10, 'lecture', { italic: true, link: 'https://example.org/lire' })
      ytext.insert(17, ' et ', {})
      ytext.insert(21, 'calcul', { underline: true, strike: true })
      ytext.insert(27, '\n', { list: 'bullet' })
      ytext.insert(28, 'premier', {})
      ytext.insert(35, '\n', { list: 'ordered' })
      ytext.insert(36, 'second', {})
      ytext.insert(42, '\n', { list: 'ordered' })
      ytext.insert(43, 'piège', { link: 'javascript:alert(1)' })
      ytext.insert(48, '\n', {})
    })
    const p = person.page
    await waitText(p, 'piège')
    await waitLook(p, 'Programme', (l) => /\bcm-h2\b/.test(l.lineClasses), 'a level-2 heading')
    const link = await waitLook(p, 'lecture', (l) => l.fontStyle === 'italic' && l.href === 'https://example.org/lire', 'an italic link')
    assert.equal(link.tag, 'a')
    assert.match(link.lineClasses, /\bcm-li-bullet\b/)
    const deco = await lookOf(p, 'calcul')
    assert.match(deco.textDecoration, /underline/)
    assert.match(deco.textDecoration, /line-through/)
    assert.ok(sameHue(deco.backgroundColor, '#f58231'), `the stock client's colour from the authors map: ${deco.backgroundColor}`)
    assert.equal((await lookOf(p, 'premier')).lineBefore, 'counter(ol) "."')
    const trap = await lookOf(p, 'piège')
    assert.equal(trap.href, null, 'a javascript: link is not made clickable')

    // the browser's edits reach the stock client with Quill-convention attributes
    await p.click('.cm-content')
    await p.keyboard.press('Control+End')
    await p.keyboard.type('Titre du navigateur')
    await p.keyboard.press('Control+Alt+3')
    await waitFor(() => ytext.toDelta().some((d) => d.insert === '\n' && d.attributes?.header === 3), 'a header 3 from the browser')
    const delta = ytext.toDelta()
    const i = delta.findIndex((d) => d.insert === '\n' && d.attributes?.header === 3)
    assert.ok(delta[i - 1].insert.endsWith('Titre du navigateur'))
    assert.equal(delta[i - 1].attributes, undefined, 'typed text after a plain line carries no attribute')

    // hostile values from another client are ignored (trap 7): no style string, no crash
    doc.getMap('authors').set(String(doc.clientID), { id: 'x', name: 'Robot', color: 'red;background:url(//evil.example/x)' })
    client.provider.awareness.setLocalStateField('user', { name: '<img src=x onerror=alert(1)>', color: 'url(//evil.example)' })
    ytext.insert(0, 'Encore ', {})
    await waitText(p, 'Encore Programme')

    // an embed (not part of the pad schema) must not crash the page (trap 6)
    ytext.insertEmbed(0, { image: 'https://evil.example/x.png' })
    ytext.insert(0, 'après-embed ', {})
    await waitText(p, 'après-embed')
    await typeAtEnd(p, ' toujours vivant')
    await waitFor(() => ytext.toString().includes('toujours vivant'), 'the page to keep working after an embed')
    assert.equal(await p.$$eval('img', (imgs) => imgs.filter((i) => i.closest('.cm-content')).length), 0)
  } finally {
    client.destroy()
  }
  await assertClean(person)
  await person.context.close()
})

async function personFor (room) {
  const p = await person({ name: 'Dora', color: '#469990' })
  await openPad(p, `${suite.server.url}/p/${room}`)
  return p
}

test('a 375 px phone: the toolbar wraps, the chat is collapsed, nothing overflows', T, async () => {
  const phone = await person({ name: 'Eve', color: '#f032e6', phone: true })
  await openPad(phone, padUrl())
  const p = phone.page
  await waitText(p, 'Merci !')
  const layout = await p.evaluate(() => {
    const tb = document.querySelector('.toolbar').getBoundingClientRect()
    const btn = document.querySelector('.toolbar .tb').getBoundingClientRect()
    return {
      scrollWidth: document.documentElement.scrollWidth,
      toolbarRight: tb.right,
      toolbarRows: Math.round(tb.height / btn.height),
      sideHidden: document.getElementById('side').hidden
    }
  })
  assert.ok(layout.scrollWidth <= 375, `page is ${layout.scrollWidth}px wide`)
  assert.ok(layout.toolbarRight <= 375)
  assert.ok(layout.toolbarRows >= 2, 'the toolbar wraps onto several rows')
  assert.ok(layout.sideHidden, 'the chat panel starts collapsed on a phone')
  await screenshot(p, 'pad-phone')

  // a new chat message while collapsed shows an unread count; opening the panel clears it
  await alice.page.fill('#chat-input', 'Tout le monde a vu ?')
  await alice.page.press('#chat-input', 'Enter')
  await p.waitForFunction(() => { const b = document.querySelector('.side-toggle .badge'); return b && !b.hidden && /^1 /.test(b.textContent) }, null, { timeout: WAIT_MS })
  await p.click('.side-toggle')
  assert.equal(await p.isHidden('#side'), false)
  await p.waitForFunction(() => document.querySelector('.side-toggle .badge').hidden, null, { timeout: WAIT_MS })
  await screenshot(p, 'pad-phone-chat')
  await p.click('.side-close')
  assert.equal(await p.isHidden('#side'), true)
  await assertClean(phone, alice)
})

test('the pad works by keyboard alone', T, async () => {
  const kb = await person({ name: 'Frank', color: '#9a6324' })
  const room = padName('clavier')
  await openPad(kb, `${suite.server.url}/p/${room}`)
  const p = kb.page
  // the editor has focus on load; write, then reach the toolbar with Tab from the page start
  await p.keyboard.type('clavier')
  await p.keyboard.press('Shift+Home')
  const seen = []
  await p.evaluate(() => document.activeElement.blur())
  for (let i = 0; i < 30; i++) {
    await p.keyboard.press('Tab')
    const label = await p.evaluate(() => document.activeElement?.getAttribute('aria-label') || document.activeElement?.className || '')
    seen.push(label)
    if (/^Gras|^Bold/.test(label)) break
  }
  assert.ok(seen.some((l) => /^Gras|^Bold/.test(l)), `Tab reaches the bold button; went through ${seen.join(' | ')}`)
  await p.keyboard.press('Enter')
  await waitLook(p, 'clavier', (l) => l.fontWeight >= 700, 'bold (toolbar by keyboard)')
  // undo (Ctrl+Z in the editor) takes the bold back, redo puts it again
  await p.focus('.cm-content')
  await p.keyboard.press('Control+z')
  await waitLook(p, 'clavier', (l) => l.fontWeight < 700, 'not bold after undo')
  await p.keyboard.press('Control+y')
  await waitLook(p, 'clavier', (l) => l.fontWeight >= 700, 'bold again after redo')
  await assertClean(kb)
})

test('the share dialog gives both links and their QR codes', T, async () => {
  const a = alice.page
  await a.click('.share-btn')
  const dlg = await a.waitForSelector('dialog[open]', { timeout: WAIT_MS })
  const links = await dlg.$$eval('.link-input', (els) => els.map((e) => e.value))
  assert.equal(links[0], padUrl())
  assert.match(links[1], new RegExp(`^${suite.server.url}/r/`))
  await dlg.$$eval('.link-row button[aria-expanded]', (bs) => bs.forEach((b) => b.click()))
  await a.waitForFunction(() => [...document.querySelectorAll('dialog img.qr')].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: WAIT_MS })
  const srcs = await dlg.$$eval('img.qr', (imgs) => imgs.map((i) => new URL(i.src).pathname))
  assert.equal(srcs[0], `/p/${pad}/qr.svg`)
  assert.match(srcs[1], /^\/r\/[^/]+\/qr\.svg$/)
  await screenshot(a, 'pad-share')
  await a.keyboard.press('Escape')
  await assertClean(alice)
})

test('changing one\'s name and colour updates the list, the caret and the shading of one\'s text', T, async () => {
  const b = bob.page
  await b.click('button.me')
  await b.waitForSelector('dialog[open] #id-name')
  await b.fill('#id-name', 'Robert')
  await b.fill('#id-color', '#911eb4')
  await b.click('dialog[open] button[type="submit"]')
  const a = alice.page
  await a.waitForFunction(() => [...document.querySelectorAll('.people .person-name')].some((e) => e.textContent === 'Robert'), null, { timeout: WAIT_MS })
  // the text Bob typed before (under an older clientID too) now shows his new colour
  await waitLook(a, 'Bob apporte le goûter', (l) => sameHue(l.backgroundColor, '#911eb4'), 'shaded in Bob\'s new colour')
  await typeAtEnd(b, ' (Robert)')
  await a.waitForFunction(() => [...document.querySelectorAll('.yc-label')].some((e) => e.textContent === 'Robert'), null, { timeout: WAIT_MS })
  const caret = await a.evaluate(() => {
    const label = [...document.querySelectorAll('.yc-label')].find((e) => e.textContent === 'Robert')
    return getComputedStyle(label.closest('.yc-caret')).borderLeftColor
  })
  assert.ok(sameHue(caret, '#911eb4'), `Robert's caret: ${caret}`)
  await b.reload()
  await waitConnected(b)
  assert.equal(await b.textContent('button.me .me-name'), 'Robert', 'the identity is kept in the browser')
  await assertClean(alice, bob)
})

test('the interface switches between French and English and remembers it', T, async () => {
  const b = bob.page
  assert.equal(await b.getAttribute('.share-btn', 'aria-label'), 'Partager')
  await b.selectOption('select.lang', 'en')
  assert.equal(await b.getAttribute('.share-btn', 'aria-label'), 'Share')
  assert.equal(await b.getAttribute('html', 'lang'), 'en')
  assert.match(await b.getAttribute('.toolbar .tb-bold', 'title'), /^Bold/)
  await b.reload()
  await waitConnected(b)
  assert.equal(await b.getAttribute('.share-btn', 'aria-label'), 'Share')
  assert.match(await b.textContent('.status'), /Connected/)
  await assertClean(bob)
})

test('the export menu links every format, with or without authors\' colours', T, async () => {
  const a = alice.page
  await a.click('details.menu > summary')
  const hrefs = async () => a.$$eval('details.menu a.menu-item', (as) => as.map((x) => new URL(x.href).pathname + new URL(x.href).search))
  assert.deepEqual(await hrefs(), ['txt', 'md', 'html', 'odt', 'docx'].map((f) => `/p/${pad}/export/${f}?lang=fr`))
  await a.uncheck('#export-colors')
  assert.deepEqual(await hrefs(), ['txt', 'md', 'html', 'odt', 'docx'].map((f) => `/p/${pad}/export/${f}?colors=0&lang=fr`))
  await a.check('#export-colors')
  // the text export has what was typed in the browser
  const res = await a.request.get(`${padUrl()}/export/txt`)
  assert.equal(res.status(), 200)
  assert.match(await res.text(), /Rendez-vous devant la gare/)
  await a.keyboard.press('Escape')
  assert.equal(await a.$eval('details.menu', (d) => d.open), false, 'Escape closes the menu')
  await assertClean(alice)
})
