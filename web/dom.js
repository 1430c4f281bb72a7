// Small DOM helpers shared by the pages.

export const $ = (id) => document.getElementById(id);
export const show = (element, on = true) => { element.hidden = !on; };

const hideTimers = new WeakMap();
/** Shows `element` until `ms` after the last call for it (a notice about something that keeps happening). */
export function showFor(element, ms) {
  show(element);
  clearTimeout(hideTimers.get(element));
  hideTimers.set(element, setTimeout(() => show(element, false), ms));
}

/** A new element with properties and children. */
export function el(tag, props = {}, ...children) {
  const element = Object.assign(document.createElement(tag), props);
  element.append(...children);
  return element;
}

/** Offers a blob to the user as a download named `name`. */
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
