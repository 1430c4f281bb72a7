"""Colour contrast of a page as a browser renders it (WCAG 2.2, 1.4.3 and 1.4.11).

`low_contrast(page)` runs in the page and returns every visible piece of text whose colour against
what lies behind it falls under WCAG AA (4.5:1; 3:1 for large text: at least 24 px, or 18.66 px
bold), and every enabled button, text field or list box whose edge (its border, or its own
background if it has one) stands out from what lies behind it by less than 3:1. Colours come from
the computed style; the background behind an element is every ancestor's background colour laid
over the one below it (the canvas is white), with opacity taken into account. Text over a video,
an image or a gradient has no single background: it is reported as such, to be looked at, so a
page that hides text in those places does not pass silently.

Works with any page object that has `js(expression)` (cdp.py, bidi.py)."""

from __future__ import annotations

_SCRIPT = r"""
(() => {
  const parse = (text) => {
    const m = /rgba?\(([^)]*)\)/.exec(text || "");
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const over = (top, under) => ({
    r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a),
    b: top.b * top.a + under.b * (1 - top.a), a: 1 });
  const luminance = (c) => {
    const f = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const ratio = (x, y) => { const [a, b] = [luminance(x), luminance(y)].sort((p, q) => q - p); return (a + 0.05) / (b + 0.05); };
  const hex = (c) => "#" + [c.r, c.g, c.b].map((v) => Math.round(v).toString(16).padStart(2, "0")).join("");
  // What lies behind el: the canvas, then every ancestor's background from the root down.
  // null when an ancestor paints something that is not one colour (a video, an image, a gradient).
  const behind = (el, includeSelf) => {
    const chain = [];
    for (let e = includeSelf ? el : el.parentElement; e; e = e.parentElement) chain.unshift(e);
    let bg = { r: 255, g: 255, b: 255, a: 1 };
    for (const e of chain) {
      const s = getComputedStyle(e);
      if (s.backgroundImage !== "none" || e.tagName === "VIDEO" || e.tagName === "IMG" || e.tagName === "CANVAS") return null;
      const c = parse(s.backgroundColor);
      if (c && c.a > 0) bg = over({ ...c, a: c.a * opacity(e) }, bg);
    }
    return bg;
  };
  const opacity = (el) => { let o = 1; for (let e = el; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity); return o; };
  const shown = (el) => {
    const s = getComputedStyle(el);
    if (s.visibility !== "visible" || s.display === "none" || opacity(el) === 0) return false;
    const r = el.getBoundingClientRect();
    if (r.width < 2 || r.height < 2) return false;  // visually hidden (1 px) text is for screen readers
    return r.right > 0 && r.bottom > 0 && r.left < innerWidth + 1;  // on the page (not parked off-screen)
  };
  const label = (el) => {
    const id = el.id ? "#" + el.id : "";
    const cls = el.classList.length ? "." + [...el.classList].join(".") : "";
    return `${el.tagName.toLowerCase()}${id}${cls}`;
  };
  const problems = [];
  const disabled = (el) => el.closest(":disabled, [aria-disabled=true]") !== null;
  for (const el of document.querySelectorAll("body *")) {
    if (!shown(el) || disabled(el)) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const field = el.matches("input[type=text], input[type=password], input[type=number], input:not([type]), select, textarea");
    if (own || (field && el.value)) {
      const s = getComputedStyle(el);
      const bg = behind(el, true);
      const text = (own ? [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join(" ") : el.value).trim().slice(0, 40);
      if (bg === null) { problems.push(`${label(el)} "${text}": text over a video, image or gradient (no single background)`); continue; }
      const fg = over({ ...parse(s.color), a: parse(s.color).a * opacity(el) }, bg);
      const size = parseFloat(s.fontSize), bold = Number(s.fontWeight) >= 700;
      const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
      const got = ratio(fg, bg);
      if (got < need) problems.push(`${label(el)} "${text}": ${hex(fg)} on ${hex(bg)} is ${got.toFixed(2)}:1, needs ${need}:1`);
    }
    if (el.matches("button, input[type=text], input[type=password], input[type=number], select, textarea")) {
      const s = getComputedStyle(el);
      const around = behind(el, false);
      if (around === null) continue;
      const edges = [];
      const fill = parse(s.backgroundColor);
      if (fill && fill.a > 0) edges.push(over(fill, around));
      if (parseFloat(s.borderTopWidth) >= 1) edges.push(over(parse(s.borderTopColor), around));
      const best = Math.max(0, ...edges.map((c) => ratio(c, around)));
      if (best < 3) problems.push(`${label(el)}: its edge stands out ${best.toFixed(2)}:1 from ${hex(around)}, needs 3:1`);
    }
  }
  return problems;
})()
"""


def low_contrast(page) -> list[str]:
    """Every visible text and control on the page that falls under WCAG AA contrast (see above)."""
    return page.js(_SCRIPT)
