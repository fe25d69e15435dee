// The one way Bedside's UI turns values into markup: the `html` tagged template escapes every
// interpolated value unless it is itself the result of `html`. Nothing else builds HTML strings.

/** Markup produced by `html`: safe to insert, because every value in it was escaped. */
export class SafeHTML {
  #text;
  constructor(text) {
    this.#text = text;
  }
  toString() {
    return this.#text;
  }
}

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "`": "&#96;" };

/** Text with the characters that mean something in HTML (text or quoted attribute) escaped. */
export function escapeHTML(value) {
  return String(value).replace(/[&<>"'`]/g, (c) => ESCAPES[c]);
}

function part(value) {
  if (value === null || value === undefined || value === false) return "";
  if (value instanceof SafeHTML) return value.toString();
  if (Array.isArray(value)) return value.map(part).join("");
  return escapeHTML(value);
}

/**
 * html`<p class="${cls}">${text}</p>`: escapes each value; arrays are joined, null, undefined
 * and false render nothing, and nested html`` results are kept as markup.
 */
export function html(strings, ...values) {
  let out = strings[0];
  for (let i = 0; i < values.length; i += 1) out += part(values[i]) + strings[i + 1];
  return new SafeHTML(out);
}

/** Replaces the children of `element` with `markup`, which must come from `html`. */
export function render(element, markup) {
  if (!(markup instanceof SafeHTML)) throw new TypeError("render() takes markup built with html``");
  element.innerHTML = markup.toString();
}
