// The author's stable identity {id, name, color}, kept in localStorage, and colour checks.
// Colours arrive from other clients (authors map, awareness): only #rrggbb is ever used.

const KEY = 'ardoise.author'
const memory = new Map()

export function storageGet (key) {
  try {
    return window.localStorage.getItem(key)
  } catch {
    return memory.get(key) ?? null
  }
}

export function storageSet (key, value) {
  try {
    window.localStorage.setItem(key, value)
  } catch {
    memory.set(key, value)
  }
}

export function storageRemove (key) {
  try {
    window.localStorage.removeItem(key)
  } catch {}
  memory.delete(key)
}

/** Colours that read well as a light background shade and as a caret. */
export const PALETTE = [
  '#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4',
  '#f032e6', '#9a6324', '#469990', '#bfae00', '#dc6b9c', '#2f8f4e'
]

const HEX = /^#[0-9a-fA-F]{6}$/
export const NAME_MAX = 40

/** `c` if it is exactly #rrggbb (lower-cased), else null. */
export function validColor (c) {
  return typeof c === 'string' && HEX.test(c) ? c.toLowerCase() : null
}

/** A display name from untrusted input: a string, trimmed, control characters removed, bounded. */
export function cleanName (n, fallback = '') {
  if (typeof n !== 'string') return fallback
  // eslint-disable-next-line no-control-regex
  const s = n.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').trim().slice(0, NAME_MAX)
  return s || fallback
}

/** '#000000' or '#ffffff', whichever reads better on `hex`. */
export function textOn (hex) {
  const n = parseInt(hex.slice(1), 16)
  const r = (n >> 16) & 255
  const g = (n >> 8) & 255
  const b = n & 255
  const lum = 0.2126 * r + 0.7152 * g + 0.0722 * b
  return lum > 150 ? '#000000' : '#ffffff'
}

function randomHex (bytes) {
  const a = new Uint8Array(bytes)
  crypto.getRandomValues(a)
  return Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('')
}

/**
 * Load (or create and save) this browser's author identity.
 * @param {string} anonymous  the localized word for a nameless author
 * @returns {{id: string, name: string, color: string}}
 */
export function loadIdentity (anonymous) {
  let saved = null
  try {
    saved = JSON.parse(storageGet(KEY) || 'null')
  } catch {}
  const id = saved && typeof saved.id === 'string' && /^[0-9a-f]{16,64}$/.test(saved.id) ? saved.id : randomHex(16)
  const color = (saved && validColor(saved.color)) || PALETTE[Math.floor(Math.random() * PALETTE.length)]
  const name = cleanName(saved && saved.name, `${anonymous} ${1 + Math.floor(Math.random() * 999)}`)
  const me = { id, name, color }
  saveIdentity(me)
  return me
}

export function saveIdentity (me) {
  storageSet(KEY, JSON.stringify({ id: me.id, name: me.name, color: me.color }))
}
