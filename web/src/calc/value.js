// Cell inputs as stored ({v: number | boolean | string}) and what people type: the browser's
// twin of src/doc/calc/value.rs.

import { toStored, toA1 } from './formula.js'
import { parseBool, boolName } from './locale.js'

/** Stored `{v}` → {kind: 'number'|'bool'|'text'|'formula', value}, or null. */
export function inputOf (any) {
  if (!any || typeof any !== 'object') return null
  const v = any.v
  if (typeof v === 'number' && Number.isFinite(v)) return { kind: 'number', value: v }
  if (typeof v === 'boolean') return { kind: 'bool', value: v }
  if (typeof v === 'string') {
    if (v.startsWith("'")) return { kind: 'text', value: v.slice(1) }
    if (v.startsWith('=')) return { kind: 'formula', value: v }
    return { kind: 'text', value: v }
  }
  return null
}

/** The stored shape of an input. */
export function storedOf (input) {
  if (input.kind === 'text' && (input.value.startsWith('=') || input.value.startsWith("'"))) return { v: "'" + input.value }
  return { v: input.value }
}

/** A number typed in `locale`, or null (same rules as the server's parse_number). */
export function parseNumber (text, locale) {
  let s = text.trim()
  const percent = s.endsWith('%')
  if (percent) s = s.slice(0, -1).trimEnd()
  const decimal = locale === 'fr' ? ',' : '.'
  if (locale === 'fr') s = s.replace(/[ \u00a0\u202f]/g, '')
  const ei = s.search(/[eE]/)
  const mantissa = ei >= 0 ? s.slice(0, ei) : s
  const exponent = ei >= 0 ? s.slice(ei + 1) : null
  let sign = ''
  let body = mantissa
  if (body.startsWith('-') || body.startsWith('+')) {
    sign = body[0]
    body = body.slice(1)
  }
  const di = body.indexOf(decimal)
  let int = di >= 0 ? body.slice(0, di) : body
  const frac = di >= 0 ? body.slice(di + 1) : null
  if (locale !== 'fr' && int.includes(',')) {
    const groups = int.split(',')
    if (!groups[0] || groups[0].length > 3 || !groups.slice(1).every((g) => g.length === 3)) return null
    int = groups.join('')
  }
  const allDigits = (t) => /^[0-9]*$/.test(t)
  if (!allDigits(int) || (int === '' && !frac)) return null
  if (frac !== null && !allDigits(frac)) return null
  let canonical = `${sign}${int || '0'}.${frac || '0'}`
  if (exponent !== null) {
    const d = exponent.replace(/^[+-]/, '')
    if (!d || !allDigits(d)) return null
    canonical += 'e' + exponent
  }
  let n = Number(canonical)
  if (percent) n /= 100
  return Number.isFinite(n) ? n : null
}

/** What a person typed, as stored; null clears the cell. `at` = {layout, sheet}. */
export function parseTyped (text, locale, at) {
  if (text === '') return null
  if (text.length > 1 && text.startsWith('=')) return { kind: 'formula', value: toStored(text, locale, at.layout, at.sheet) }
  if (text.startsWith("'")) return { kind: 'text', value: text.slice(1) }
  const n = parseNumber(text, locale)
  if (n !== null) return { kind: 'number', value: n }
  const b = parseBool(locale, text.trim())
  if (b !== null) return { kind: 'bool', value: b }
  return { kind: 'text', value: text }
}

export function formatNumber (n, locale) {
  const s = String(n)
  return locale === 'fr' ? s.replace('.', ',') : s
}

/** The text shown in the formula bar. */
export function editText (input, locale, at) {
  switch (input.kind) {
    case 'number': return formatNumber(input.value, locale)
    case 'bool': return boolName(locale, input.value)
    case 'formula': return toA1(input.value, locale, at.layout, at.sheet)
    default: {
      const t = input.value
      const other = t.startsWith('=') || t.startsWith("'") || parseNumber(t, locale) !== null || parseBool(locale, t.trim()) !== null
      return other ? "'" + t : t
    }
  }
}
