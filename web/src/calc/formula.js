// Formulas between what people type and what is stored: the browser's twin of
// src/doc/calc/formula/ (read mod.rs for the stored form). Both are checked against the same
// cases, src/doc/calc/formula_cases.json (tests/node/calc_formula.test.mjs runs this side).

import { toEnglish, fromEnglish, errorsOf, decimalOf, listOf } from './locale.js'

const MAX_A1_COL = 16384
const MAX_A1_ROW = 1048576
const REF_ERROR = '#REF!'
export const MAX_RANGE_CELLS = 1000000

/**
 * Where every sheet, row and column is.
 * @param {{id: string, name: string, rows: string[], cols: string[], used?: [number, number]}[]} sheets
 * @param {boolean} [forEngine]  cut huge ranges to the used extent (as the server does)
 * @param {string} [unnamed]  the viewer's word for "Sheet", for sheets nobody named
 */
export function layout (sheets, forEngine = false, unnamed = 'Sheet') {
  const names = displayNames(sheets.map((s) => s.name), unnamed)
  return {
    forEngine,
    sheets: sheets.map((s, i) => ({
      id: s.id,
      name: names[i],
      rows: s.rows,
      cols: s.cols,
      rowIndex: indexOf(s.rows),
      colIndex: indexOf(s.cols),
      used: s.used || [0, 0]
    }))
  }
}

function indexOf (ids) {
  const m = new Map()
  ids.forEach((id, i) => { if (!m.has(id)) m.set(id, i) })
  return m
}

/** Unique, valid sheet names (same rules as the server; `unnamed` + position for empty ones). */
export function displayNames (raw, unnamed = 'Sheet') {
  const taken = []
  return raw.map((name, i) => {
    let cleaned = Array.from(name || '').filter((c) => !'[]:*?/\\'.includes(c) && !/\p{Cc}/u.test(c)).slice(0, 31).join('')
    cleaned = cleaned.trim().replace(/^'+|'+$/g, '').trim()
    const base = cleaned || `${unnamed}${i + 1}`
    let out = base
    let k = 2
    while (taken.includes(out.toLowerCase())) out = `${base} (${k++})`
    taken.push(out.toLowerCase())
    return out
  })
}

export function colName (n) {
  let out = ''
  while (n > 0) {
    const rem = (n - 1) % 26
    out = String.fromCharCode(65 + rem) + out
    n = Math.floor((n - 1) / 26)
  }
  return out
}

function colNumber (letters) {
  let n = 0
  for (const c of letters) n = n * 26 + (c.toUpperCase().charCodeAt(0) - 64)
  return n >= 1 && n <= MAX_A1_COL ? n : null
}

const isDigit = (c) => c !== undefined && c >= '0' && c <= '9'
const isAsciiAlpha = (c) => c !== undefined && /^[A-Za-z]$/.test(c)
const isAlpha = (c) => c !== undefined && /^\p{L}$/u.test(c)
const isWord = (c) => c !== undefined && (/^[\p{L}\p{N}]$/u.test(c) || c === '_' || c === '.' || c === '\\')

function boundary (chars, i) {
  const c = chars[i]
  return c === undefined || !(isWord(c) || c === '(' || c === '!' || c === '$')
}

function part (chars, i, accept, max) {
  const abs = chars[i] === '$'
  const start = i + (abs ? 1 : 0)
  let j = start
  while (j < chars.length && accept(chars[j]) && j - start < max + 1) j++
  const run = chars.slice(start, j)
  return run.length && run.length <= max ? [run, abs, j] : null
}

function letters (chars, i) {
  const p = part(chars, i, isAsciiAlpha, 3)
  if (!p) return null
  const n = colNumber(p[0])
  return n ? [[n, p[1]], p[2]] : null
}

// A row number; past the A1 limit it still reads (clamped or #REF! later), so that
// A1:A999999999 is a range and not text.
function digits (chars, i) {
  const p = part(chars, i, isDigit, 9)
  if (!p) return null
  const n = Number(p[0].join(''))
  return n >= 1 ? [[Math.min(n, MAX_A1_ROW + 1), p[1]], p[2]] : null
}

function cell (chars, i) {
  const col = letters(chars, i)
  if (!col) return null
  const row = digits(chars, col[1])
  if (!row) return null
  return [{ row: row[0], col: col[0] }, row[1]]
}

function parseRef (chars, i) {
  const a = cell(chars, i)
  if (a) {
    if (chars[a[1]] === ':') {
      const b = cell(chars, a[1] + 1)
      if (b && boundary(chars, b[1])) return [{ a: a[0], b: b[0] }, b[1]]
    }
    return boundary(chars, a[1]) ? [{ a: a[0], b: null }, a[1]] : null
  }
  for (const [half, isCol] of [[letters, true], [digits, false]]) {
    const x = half(chars, i)
    if (!x || chars[x[1]] !== ':') continue
    const y = half(chars, x[1] + 1)
    if (!y || !boundary(chars, y[1])) continue
    const end = (v) => (isCol ? { row: null, col: v } : { row: v, col: null })
    return [{ a: end(x[0]), b: end(y[0]) }, y[1]]
  }
  return null
}

function stringEnd (chars, i) {
  let j = i + 1
  while (j < chars.length) {
    if (chars[j] === '"') {
      if (chars[j + 1] === '"') { j += 2; continue }
      return j + 1
    }
    j++
  }
  return chars.length
}

function quotedName (chars, i) {
  let name = ''
  let j = i + 1
  while (j < chars.length) {
    if (chars[j] === "'") {
      if (chars[j + 1] === "'") { name += "'"; j += 2; continue }
      return [name, j + 1]
    }
    name += chars[j]
    j++
  }
  return null
}

function wordEnd (chars, i) {
  let j = i
  while (j < chars.length && isWord(chars[j])) j++
  return j
}

function number (chars, i, decimal) {
  let j = i
  let out = ''
  while (isDigit(chars[j])) out += chars[j++]
  if (chars[j] === decimal && isDigit(chars[j + 1])) {
    out += '.'
    j++
    while (isDigit(chars[j])) out += chars[j++]
  }
  if (chars[j] === 'e' || chars[j] === 'E') {
    const sign = chars[j + 1] === '+' || chars[j + 1] === '-' ? 1 : 0
    if (isDigit(chars[j + 1 + sign])) {
      out += chars.slice(j, j + 1 + sign).join('')
      j += 1 + sign
      while (isDigit(chars[j])) out += chars[j++]
    }
  }
  return [j, out]
}

function matchWord (chars, i, candidates) {
  for (const w of candidates) {
    const n = Array.from(w).length
    const here = chars.slice(i, i + n).join('')
    if (here.length === w.length && here.toUpperCase() === w.toUpperCase()) return [w, n]
  }
  return null
}

/** A typed formula (with its `=`) in `locale`, on sheet index `sheet`, in stored form. */
export function toStored (text, locale, lay, sheet) {
  const chars = Array.from(text)
  const errors = errorsOf(locale)
  const decimal = decimalOf(locale)
  let out = ''
  let i = 0
  while (i < chars.length) {
    const c = chars[i]
    if (c === '"') {
      const end = stringEnd(chars, i)
      out += chars.slice(i, end).join('')
      i = end
    } else if (c === "'") {
      const q = quotedName(chars, i)
      const r = q && chars[q[1]] === '!' ? parseRef(chars, q[1] + 1) : null
      if (r) {
        out += storeRef(r[0], q[0], lay, sheet)
        i = r[1]
      } else {
        out += c
        i++
      }
    } else if (c === '#') {
      const m = matchWord(chars, i, errors)
      if (m) {
        out += toEnglish(locale, 'e', m[0]) ?? m[0]
        i += m[1]
      } else {
        out += c
        i++
      }
    } else if (c === '$' || isDigit(c) || isAlpha(c) || c === '_') {
      const r = parseRef(chars, i)
      if (r) {
        out += storeRef(r[0], null, lay, sheet)
        i = r[1]
        continue
      }
      if (isDigit(c)) {
        const [end, english] = number(chars, i, decimal)
        out += english
        i = end
        continue
      }
      const end = Math.max(wordEnd(chars, i), i + 1)
      const word = chars.slice(i, end).join('')
      const next = chars[end]
      if (next === '!') {
        const r2 = parseRef(chars, end + 1)
        if (r2) {
          out += storeRef(r2[0], word, lay, sheet)
          i = r2[1]
          continue
        }
      }
      out += toEnglish(locale, next === '(' ? 'f' : 'b', word) ?? word
      i = end
    } else if (c === decimal && isDigit(chars[i + 1])) {
      const [end, english] = number(chars, i, decimal)
      out += english
      i = end
    } else if (locale === 'fr' && c === ';') {
      out += ','
      i++
    } else {
      out += c
      i++
    }
  }
  return out
}

function storeRef (r, name, lay, current) {
  let target = current
  if (name !== null) {
    target = lay.sheets.findIndex((s) => s.name.toLowerCase() === name.toLowerCase())
    if (target < 0) return REF_ERROR
  }
  const s = lay.sheets[target]
  if (!s) return REF_ERROR
  const range = r.b !== null
  const end = (e) => {
    let out = ''
    if (e.row) {
      let i = e.row[0]
      if (i > s.rows.length) {
        if (!range) return null
        i = s.rows.length
      }
      if (i < 1) return null
      if (e.row[1]) out += '$'
      out += s.rows[i - 1]
    }
    out += ':'
    if (e.col) {
      let i = e.col[0]
      if (i > s.cols.length) {
        if (!range) return null
        i = s.cols.length
      }
      if (i < 1) return null
      if (e.col[1]) out += '$'
      out += s.cols[i - 1]
    }
    return out
  }
  const a = end(r.a)
  if (a === null) return REF_ERROR
  let out = '{@' + (name !== null ? s.id + '!' : '') + a
  if (r.b) {
    const b = end(r.b)
    if (b === null) return REF_ERROR
    out += '~' + b
  }
  return out + '}'
}

/** A stored formula (with its `=`) on sheet index `sheet`, in A1 notation in `locale`. */
export function toA1 (stored, locale, lay, sheet) {
  const chars = Array.from(stored)
  const errors = errorsOf('en')
  const decimal = decimalOf(locale)
  const list = listOf(locale)
  let out = ''
  let i = 0
  while (i < chars.length) {
    const c = chars[i]
    if (c === '"') {
      const end = stringEnd(chars, i)
      out += chars.slice(i, end).join('')
      i = end
    } else if (c === '{' && chars[i + 1] === '@') {
      const len = chars.indexOf('}', i) - i
      if (len > 0) {
        out += renderRef(chars.slice(i + 2, i + len).join(''), lay, sheet)
        i += len + 1
      } else {
        out += c
        i++
      }
    } else if (c === '#') {
      const m = matchWord(chars, i, errors)
      if (m) {
        out += fromEnglish(locale, 'e', m[0]) ?? m[0]
        i += m[1]
      } else {
        out += c
        i++
      }
    } else if (isDigit(c) || (c === '.' && isDigit(chars[i + 1]))) {
      const [end, english] = number(chars, i, '.')
      out += english.replace('.', decimal)
      i = end
    } else if (isAlpha(c) || c === '_') {
      const end = wordEnd(chars, i)
      const word = chars.slice(i, end).join('')
      out += fromEnglish(locale, chars[end] === '(' ? 'f' : 'b', word) ?? word
      i = end
    } else if (c === ',') {
      out += list
      i++
    } else {
      out += c
      i++
    }
  }
  return out
}

function renderRef (inner, lay, current) {
  const bang = inner.indexOf('!')
  const sid = bang >= 0 ? inner.slice(0, bang) : null
  const body = bang >= 0 ? inner.slice(bang + 1) : inner
  const target = sid !== null ? lay.sheets.findIndex((s) => s.id === sid) : current
  const s = lay.sheets[target]
  if (!s) return REF_ERROR
  const find = (p, index) => {
    if (p === '') return [null]
    const abs = p.startsWith('$')
    const i = index.get(abs ? p.slice(1) : p)
    return i === undefined ? null : [[i + 1, abs]]
  }
  const end = (e) => {
    const colon = e.indexOf(':')
    if (colon < 0) return null
    const row = find(e.slice(0, colon), s.rowIndex)
    const col = find(e.slice(colon + 1), s.colIndex)
    if (!row || !col || (!row[0] && !col[0])) return null
    return [row[0], col[0]]
  }
  const write = ([row, col]) => (col ? (col[1] ? '$' : '') + colName(col[0]) : '') + (row ? (row[1] ? '$' : '') + row[0] : '')
  const parts = body.split('~')
  const a = end(parts[0])
  if (!a) return REF_ERROR
  let text
  if (parts.length === 1) text = write(a)
  else {
    let b = end(parts[1])
    if (!b) return REF_ERROR
    let a2 = a
    if (lay.forEngine) [a2, b] = clampRange(a, b, s.used)
    text = write(a2) + ':' + write(b)
  }
  return sid !== null ? quoteSheet(s.name) + '!' + text : text
}

/**
 * The stored formula `stored` (on sheet `home`) with every range end that a deletion removes
 * moved inward to the nearest surviving row or column inside the range, as spreadsheets shrink
 * a range when its first or last row goes; null when nothing changes. Twin of formula/ranges.rs
 * shrink_ranges. `deletion`: {sheet, rows (else columns), order (ids before), deleted (Set)}.
 */
export function shrinkRanges (stored, home, deletion) {
  const gone = (id) => deletion.deleted.has(id)
  const position = derived(deletion, () => new Map(deletion.order.map((id, i) => [id, i]).reverse()))
  return mapRanges(stored, home, deletion.sheet, deletion.rows, (a, b) => {
    if (!gone(a) && !gone(b)) return null
    const pa = position.get(a) ?? -1
    const pb = position.get(b) ?? -1
    if (pa < 0 || pb < 0) return null
    const survivors = deletion.order.slice(Math.min(pa, pb), Math.max(pa, pb) + 1).filter((id) => !gone(id))
    if (!survivors.length) return null
    const first = survivors[0]
    const last = survivors[survivors.length - 1]
    return pa <= pb ? [first, last] : [last, first]
  })
}

/**
 * The stored formula with every range end inside a reordered span replaced by the id now at its
 * position, so a range keeps covering the same positions (a total under a sorted column still
 * sums all of it); single-cell references follow their row. Twin of keep_range_positions.
 * `change`: {sheet, rows, before, after} (the same ids, in their old and new order).
 */
export function keepRangePositions (stored, home, change) {
  const nowAt = derived(change, () => new Map(change.before
    .map((id, i) => [id, change.after[i]])
    .filter(([id, now]) => now !== undefined && now !== id)))
  return mapRanges(stored, home, change.sheet, change.rows, (a, b) => {
    const na = nowAt.get(a) ?? null
    const nb = nowAt.get(b) ?? null
    return na === null && nb === null ? null : [na ?? a, nb ?? b]
  })
}

/** The [first, last] row ids of every range of `stored` (on sheet `home`) that lies on `sheet`. */
export function rangeRows (stored, home, sheet) {
  const out = []
  mapRanges(stored, home, sheet, true, (a, b) => { out.push([a, b]); return null })
  return out
}

// A structure edit rewrites every formula of the workbook with one deletion or change object:
// its lookups are built once per object, not once per formula.
const lookups = new WeakMap()
function derived (key, build) {
  if (!lookups.has(key)) lookups.set(key, build())
  return lookups.get(key)
}

/** `stored` with the ends of every range on `sheet` given to `f` (null keeps them). */
function mapRanges (stored, home, sheet, rows, f) {
  const chars = Array.from(stored)
  let out = ''
  let changed = false
  let i = 0
  while (i < chars.length) {
    const c = chars[i]
    if (c === '"') {
      const end = stringEnd(chars, i)
      out += chars.slice(i, end).join('')
      i = end
      continue
    }
    if (c === '{' && chars[i + 1] === '@') {
      const len = chars.slice(i).indexOf('}')
      if (len >= 0) {
        const inner = chars.slice(i + 2, i + len).join('')
        const moved = mapRange(inner, home, sheet, rows, f)
        if (moved !== null) changed = true
        out += '{@' + (moved ?? inner) + '}'
        i += len + 1
        continue
      }
    }
    out += c
    i++
  }
  return changed ? out : null
}

function mapRange (inner, home, sheet, rows, f) {
  const bang = inner.indexOf('!')
  const sid = bang >= 0 ? inner.slice(0, bang) : null
  const body = bang >= 0 ? inner.slice(bang + 1) : inner
  if ((sid ?? home) !== sheet) return null
  const tilde = body.indexOf('~')
  if (tilde < 0) return null
  const split = (end) => {
    const colon = end.indexOf(':')
    if (colon < 0) return null
    const row = end.slice(0, colon)
    const col = end.slice(colon + 1)
    const part = rows ? row : col
    const abs = part.startsWith('$') ? '$' : ''
    const id = part.slice(abs.length)
    return id ? { abs, id, rest: rows ? col : row } : null
  }
  const a = split(body.slice(0, tilde))
  const b = split(body.slice(tilde + 1))
  if (!a || !b) return null
  const ends = f(a.id, b.id)
  if (!ends) return null
  const join = (e, id) => rows ? `${e.abs}${id}:${e.rest}` : `${e.rest}:${e.abs}${id}`
  const text = join(a, ends[0]) + '~' + join(b, ends[1])
  return sid !== null ? sid + '!' + text : text
}

function clampRange (a, b, used) {
  if (!a[0] || !a[1] || !b[0] || !b[1]) return [a, b]
  const rows = Math.abs(a[0][0] - b[0][0]) + 1
  const cols = Math.abs(a[1][0] - b[1][0]) + 1
  if (rows * cols <= MAX_RANGE_CELLS) return [a, b]
  const axis = (x, y, u) => {
    const lo = Math.min(x, y)
    const hi = Math.max(x, y)
    return lo > u ? [u + 1, u + 1] : [lo, Math.min(hi, Math.max(u, lo))]
  }
  const [r1, r2] = axis(a[0][0], b[0][0], used[0])
  const [c1, c2] = axis(a[1][0], b[1][0], used[1])
  return [[[r1, a[0][1]], [c1, a[1][1]]], [[r2, b[0][1]], [c2, b[1][1]]]]
}

function quoteSheet (name) {
  const chars = Array.from(name)
  const r = parseRef(chars, 0)
  const plain = /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !(r && r[1] === chars.length)
  return plain ? name : "'" + name.replace(/'/g, "''") + "'"
}
