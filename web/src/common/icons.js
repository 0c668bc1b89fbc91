// Small line icons drawn as inline SVG built with the DOM (presentation attributes only, so the
// CSP's style-src does not apply). aria-hidden: every button that uses one has its own label.

const NS = 'http://www.w3.org/2000/svg'

const ICONS = {
  link: [['path', { d: 'M10 13a5 5 0 0 0 7.07 0l3-3a5 5 0 0 0-7.07-7.07l-1.5 1.5' }], ['path', { d: 'M14 11a5 5 0 0 0-7.07 0l-3 3a5 5 0 0 0 7.07 7.07l1.5-1.5' }]],
  clear: [['path', { d: 'M4 5h11M9.5 5v14M14 13l6 6M20 13l-6 6' }]],
  bullet: [['path', { d: 'M9 6h12M9 12h12M9 18h12' }], ['circle', { cx: 4, cy: 6, r: 1.2, fill: 'currentColor' }], ['circle', { cx: 4, cy: 12, r: 1.2, fill: 'currentColor' }], ['circle', { cx: 4, cy: 18, r: 1.2, fill: 'currentColor' }]],
  ordered: [['path', { d: 'M10 6h11M10 12h11M10 18h11M4 4.5l1.5-1v5M3.5 10.8a1.3 1.3 0 1 1 2.2 1l-2.2 2.2h2.6M3.6 16.3h2.2l-1.2 1.4a1.2 1.2 0 1 1-1.1 1.9', 'stroke-width': 1.5 }]],
  undo: [['path', { d: 'M9 14 4 9l5-5' }], ['path', { d: 'M4 9h10.5a5.5 5.5 0 0 1 0 11H11' }]],
  redo: [['path', { d: 'm15 14 5-5-5-5' }], ['path', { d: 'M20 9H9.5a5.5 5.5 0 0 0 0 11H13' }]],
  chat: [['path', { d: 'M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z' }]],
  share: [['circle', { cx: 18, cy: 5, r: 3 }], ['circle', { cx: 6, cy: 12, r: 3 }], ['circle', { cx: 18, cy: 19, r: 3 }], ['path', { d: 'm8.6 13.5 6.8 4M15.4 6.5l-6.8 4' }]],
  download: [['path', { d: 'M12 3v12M7 10l5 5 5-5M4 21h16' }]],
  trash: [['path', { d: 'M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3' }]],
  history: [['path', { d: 'M3.5 12a8.5 8.5 0 1 0 2.6-6.1L3.5 8.5' }], ['path', { d: 'M3.5 3.5v5h5' }], ['path', { d: 'M12 7.5V12l3 2' }]],
  // calc toolbar (A): a row or column drawn as a box, with what the button does to it
  rowAbove: [['rect', { x: 3, y: 13, width: 18, height: 7, rx: 1 }], ['path', { d: 'M12 2v8M8 6h8' }]],
  rowBelow: [['rect', { x: 3, y: 4, width: 18, height: 7, rx: 1 }], ['path', { d: 'M12 14v8M8 18h8' }]],
  rowDelete: [['rect', { x: 3, y: 3, width: 18, height: 7, rx: 1 }], ['path', { d: 'm9 14 6 6M15 14l-6 6' }]],
  moreRows: [['path', { d: 'M3 5h11M3 10h11M3 15h7M3 20h7M18 12v9M13.5 16.5h9' }]],
  colLeft: [['rect', { x: 13, y: 3, width: 7, height: 18, rx: 1 }], ['path', { d: 'M6 8v8M2 12h8' }]],
  colDelete: [['rect', { x: 3, y: 3, width: 7, height: 18, rx: 1 }], ['path', { d: 'm14 9 6 6M20 9l-6 6' }]],
  sort: [['path', { d: 'M7 20V4M3.5 7.5 7 4l3.5 3.5M17 4v16M13.5 16.5 17 20l3.5-3.5' }]]
}

/** An <svg> icon by name. */
export function icon (name) {
  const svg = document.createElementNS(NS, 'svg')
  svg.setAttribute('viewBox', '0 0 24 24')
  svg.setAttribute('width', '18')
  svg.setAttribute('height', '18')
  svg.setAttribute('fill', 'none')
  svg.setAttribute('stroke', 'currentColor')
  svg.setAttribute('stroke-width', '2')
  svg.setAttribute('stroke-linecap', 'round')
  svg.setAttribute('stroke-linejoin', 'round')
  svg.setAttribute('aria-hidden', 'true')
  svg.setAttribute('focusable', 'false')
  svg.setAttribute('class', 'icon')
  for (const [tag, attrs] of ICONS[name]) {
    const el = document.createElementNS(NS, tag)
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v))
    svg.appendChild(el)
  }
  return svg
}
