// Formula languages (the browser's twin of src/doc/calc/locale.rs): storage is English, each viewer
// reads and types in theirs. The French names are IronCalc's own (src/doc/calc/fr.json, checked
// against IronCalc's parser by the server's tests).

import FR from '../../../src/doc/calc/fr.json' with { type: 'json' }

const toFr = { f: new Map(), e: new Map(), b: new Map() }
const toEn = { f: new Map(), e: new Map(), b: new Map() }
for (const kind of ['f', 'e', 'b']) {
  for (const [en, fr] of FR[kind]) {
    if (!toFr[kind].has(en.toUpperCase())) toFr[kind].set(en.toUpperCase(), fr)
    // One French name stands for two functions (TAUX.ESCOMPTE.R): like IronCalc's parser,
    // the last one wins.
    toEn[kind].set(fr.toUpperCase(), en)
  }
}

/** `word` of `kind` ('f' function, 'e' error, 'b' boolean) in `locale`, in English; or null. */
export function toEnglish (locale, kind, word) {
  const upper = word.toUpperCase()
  if (locale === 'fr') return toEn[kind].get(upper) ?? null
  return toFr[kind].has(upper) ? upper : null
}

/** English `word` of `kind` in `locale`; or null. */
export function fromEnglish (locale, kind, word) {
  const upper = word.toUpperCase()
  const fr = toFr[kind].get(upper)
  if (fr === undefined) return null
  return locale === 'fr' ? fr : upper
}

const errorLists = {}
/** Error literals of `locale`, longest first. */
export function errorsOf (locale) {
  if (!errorLists[locale]) {
    errorLists[locale] = [...toFr.e.entries()].map(([en, fr]) => (locale === 'fr' ? fr : en))
      .sort((a, b) => b.length - a.length || (a < b ? -1 : a > b ? 1 : 0))
  }
  return errorLists[locale]
}

export const decimalOf = (locale) => (locale === 'fr' ? ',' : '.')
export const listOf = (locale) => (locale === 'fr' ? ';' : ',')

const BOOLS = { en: ['TRUE', 'FALSE'], fr: ['VRAI', 'FAUX'] }
export const boolName = (locale, b) => BOOLS[locale === 'fr' ? 'fr' : 'en'][b ? 0 : 1]
export function parseBool (locale, text) {
  const [yes, no] = BOOLS[locale === 'fr' ? 'fr' : 'en']
  const u = text.toUpperCase()
  return u === yes ? true : u === no ? false : null
}
