// Tiny DOM builder. Text always goes through textContent / createTextNode, never innerHTML,
// and no element ever gets a `style` attribute (the page's CSP forbids inline styles).

/**
 * h('button#b.tb.bold', { type: 'button', 'aria-label': 'Bold', onclick: fn }, 'B')
 * @param {string} tag  tag name with optional .class parts
 * @param {Record<string, any> | null} [props]
 * @param {...(Node | string | null | undefined | false)} children
 * @returns {HTMLElement}
 */
export function h (tag, props, ...children) {
  const [head, ...classes] = tag.split('.')
  const [name, id] = head.split('#')
  const el = document.createElement(name || 'div')
  if (id) el.id = id
  if (classes.length) el.className = classes.join(' ')
  if (props) {
    for (const [key, value] of Object.entries(props)) {
      if (value == null || value === false) continue
      if (key.startsWith('on') && typeof value === 'function') {
        el.addEventListener(key.slice(2), value)
      } else if (key === 'class') {
        el.className = [el.className, value].filter(Boolean).join(' ')
      } else if (key === 'text') {
        el.textContent = String(value)
      } else if (key === 'style') {
        throw new Error('inline styles are forbidden by the CSP')
      } else if (key in el && typeof value !== 'string') {
        el[key] = value
      } else {
        el.setAttribute(key, value === true ? '' : String(value))
      }
    }
  }
  append(el, children)
  return el
}

/** Append children (strings become text nodes). */
export function append (el, children) {
  for (const c of children) {
    if (c == null || c === false) continue
    if (Array.isArray(c)) append(el, c)
    else el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c)
  }
  return el
}

/** Remove every child of `el`. */
export function clear (el) {
  while (el.firstChild) el.removeChild(el.firstChild)
  return el
}
