// One-off measurement (not a test): how long the calc page takes to re-evaluate a 10,000-row ×
// 10-column sheet of numbers with a SUM column after one cell edit, and after inserting a row,
// in Debian's Chromium against the real server. Prints medians in milliseconds.
//
// Run from the repo root:
//   ARDOISE_BIN=target/debug/ardoise node tests/browser/bench/calc_eval.mjs

import { startServer, launchBrowser, newPerson, padName } from '../helpers.mjs'

const ROWS = 10_000
const RUNS = 7
const LONG = 600_000

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const server = await startServer()
const browser = await launchBrowser()
try {
  const p = await newPerson(browser, { name: 'Bench', lang: 'en' })
  const page = p.page
  page.setDefaultTimeout(LONG)
  await page.goto(`${server.url}/c/${padName('bench')}?lang=en`)
  await page.waitForFunction(() => document.querySelector('.status')?.dataset.state === 'connected' && document.querySelector('.calc-notice')?.hidden)
  for (let i = 0; i < 9; i++) await page.click('.tb-more-rows')
  await page.waitForFunction((n) => window.ardoise.grid && document.querySelectorAll('.rowhead').length > 0 &&
    window.ardoise.ydoc.getMap('sheet:' + window.ardoise.ydoc.getArray('sheets').get(0)).get('rows').length >= n, ROWS)

  // Fill: A..J numbers, K = SUM of the row, pasted in two blocks (a paste is capped at 100,000 cells).
  const fillStart = Date.now()
  await page.evaluate((rows) => {
    const block = (from, to) => {
      const lines = []
      for (let r = from; r < to; r++) {
        const nums = Array.from({ length: 10 }, (_, c) => String(r * 10 + c))
        lines.push([...nums, `=SUM(A${r + 1}:J${r + 1})`].join('\t'))
      }
      return lines.join('\n')
    }
    const half = rows / 2
    window.ardoise.grid.select(0, 0)
    window.ardoise.pasteTsv(block(0, half))
    window.ardoise.grid.select(half, 0)
    window.ardoise.pasteTsv(block(half, rows))
  }, ROWS)
  const lastSum = String(Array.from({ length: 10 }, (_, c) => (ROWS - 1) * 10 + c).reduce((a, b) => a + b, 0))
  await page.waitForFunction(([r, want]) => { const v = window.ardoise.value(r, 10); return v && v.text.replace(/,/g, '') === want }, [ROWS - 1, lastSum])
  const fillMs = Date.now() - fillStart

  // One cell edit, then the evaluation the page would run next.
  const edit = await page.evaluate((runs) => {
    const ydoc = window.ardoise.ydoc
    const sheet = ydoc.getMap('sheet:' + ydoc.getArray('sheets').get(0))
    const rows = sheet.get('rows').toArray()
    const cols = sheet.get('cols').toArray()
    const cells = sheet.get('cells')
    const out = { write: [], evaluate: [] }
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now()
      ydoc.transact(() => cells.set(rows[5000 + i] + ':' + cols[0], { v: 1000 + i }))
      const t1 = performance.now()
      window.ardoise.evaluate()
      const t2 = performance.now()
      out.write.push(t1 - t0)
      out.evaluate.push(t2 - t1)
    }
    return out
  }, RUNS)
  const check = await page.evaluate(() => window.ardoise.value(5000 + 6, 10).text)

  // A structural change: a row inserted at the top.
  const insert = await page.evaluate((runs) => {
    const ydoc = window.ardoise.ydoc
    const rowsArr = ydoc.getMap('sheet:' + ydoc.getArray('sheets').get(0)).get('rows')
    const out = []
    for (let i = 0; i < runs; i++) {
      ydoc.transact(() => rowsArr.insert(0, ['bench' + i]))
      const t1 = performance.now()
      window.ardoise.evaluate()
      out.push(performance.now() - t1)
    }
    return out
  }, RUNS)

  console.log(JSON.stringify({
    rows: ROWS,
    fillAndFirstEvaluationMs: fillMs,
    editWriteMedianMs: Math.round(median(edit.write)),
    editEvaluateMedianMs: Math.round(median(edit.evaluate)),
    editEvaluateRunsMs: edit.evaluate.map(Math.round),
    insertRowEvaluateMedianMs: Math.round(median(insert)),
    sumAfterEdits: check
  }, null, 1))
  const problems = await p.problems()
  if (problems.length) console.error(problems.join('\n'))
  await p.context.close()
} finally {
  await browser.close()
  await server.stop()
}
