// A script-built stylesheet for colours that come from other clients (authors map, awareness).
// The <style> element carries the page's CSP nonce; rules are edited through the CSSOM, one
// custom property at a time, with values that were validated as #rrggbb: no style string from
// the network ever reaches the page (EDITOR.md traps 2 and 7).

export class DynStyle {
  /** @param {string} nonce */
  constructor (nonce) {
    const el = document.createElement('style')
    if (nonce) el.nonce = nonce
    document.head.appendChild(el)
    this.sheet = /** @type {CSSStyleSheet} */ (el.sheet)
    /** @type {Map<string, CSSStyleRule>} */
    this.rules = new Map()
  }

  /**
   * Set custom properties on the rule for `selector` (created on first use).
   * @param {string} selector  built by this program from validated parts only
   * @param {Record<string, string>} props  custom property → validated value
   */
  set (selector, props) {
    let rule = this.rules.get(selector)
    if (!rule) {
      const i = this.sheet.insertRule(`${selector}{}`, this.sheet.cssRules.length)
      rule = /** @type {CSSStyleRule} */ (this.sheet.cssRules[i])
      this.rules.set(selector, rule)
    }
    for (const [k, v] of Object.entries(props)) {
      if (rule.style.getPropertyValue(k) !== v) rule.style.setProperty(k, v)
    }
  }
}
