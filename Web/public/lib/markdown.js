// A small, safe Markdown renderer for the assistant's replies: paragraphs, headings, lists,
// emphasis, inline and fenced code, tables, block quotes and links. Everything goes through the
// escaping `html` template, so raw HTML in a reply is shown as text and never parsed; links
// keep only http, https and mailto targets and open with rel="noopener noreferrer".
//
// A reply is untrusted input, so the renderer is bounded: block quotes and lists nest at most
// MAX_BLOCK_DEPTH deep and emphasis, strikethrough and link labels MAX_INLINE_DEPTH deep (what
// lies deeper is shown as plain text at that depth, never dropped), an inline span is looked for
// over at most INLINE_SPAN_LIMIT characters, and no pattern backtracks over more than that: the
// time to render stays roughly proportional to the length of the text, and no input throws.

import { html } from "./html.js";

const SAFE_SCHEMES = new Set(["http:", "https:", "mailto:"]);

/** The URL when it is absolute with an allowed scheme, else null. */
export function safeHref(raw) {
  const text = String(raw ?? "").trim();
  if (/[\u0000-\u001f\u007f\s]/.test(text)) return null;
  try {
    const url = new URL(text);
    return SAFE_SCHEMES.has(url.protocol) ? text : null;
  } catch {
    return null; // relative or malformed: no base to resolve against, so no link
  }
}

/** How deep block quotes and lists nest; a deeper one is shown as plain text. */
export const MAX_BLOCK_DEPTH = 8;
/** How deep emphasis, strikethrough and link labels nest; deeper markup is shown as text. */
export const MAX_INLINE_DEPTH = 8;
/** The longest code span, emphasis or link label, in characters; a longer one stays text. */
export const INLINE_SPAN_LIMIT = 1000;
/** A table whose header has more cells than this is shown as text (every row would get them all). */
export const MAX_TABLE_COLUMNS = 64;

const SPAN = `[\\s\\S]{0,${INLINE_SPAN_LIMIT}}?`; // lazy, and bounded so an unclosed marker costs little
const INLINE = new RegExp(
  [
    /(?<!`)(`{1,16})([^`]|[^`]SPAN[^`])\1(?!`)/.source, // 1,2 code span
    /\*\*(?=\S)(SPAN\S)\*\*/.source, // 3 strong
    /__(?=\S)(SPAN\S)__(?![A-Za-z0-9])/.source, // 4 strong
    /\*(?=[^\s*])(SPAN[^\s*])\*/.source, // 5 emphasis
    /(?<![A-Za-z0-9])_(?=[^\s_])(SPAN[^\s_])_(?![A-Za-z0-9])/.source, // 6 emphasis
    /~~(?=\S)(SPAN\S)~~/.source, // 7 strikethrough
    /\[([^\]\n]{1,LIMIT})\]\(\s*<?([^\s()<>]+)>?(?:\s+"[^"\n]{0,LIMIT}")?\s*\)/.source, // 8,9 link
    /<((?:https?:\/\/|mailto:)[^\s<>]+)>/.source, // 10 autolink
    /\b(https?:\/\/[^\s<>"'`]*[^\s<>"'`.,;:!?)\]])/.source, // 11 bare URL
  ]
    .join("|")
    .replaceAll("SPAN", SPAN)
    .replaceAll("LIMIT", String(INLINE_SPAN_LIMIT)),
  "g",
);

function link(href, label) {
  const safe = safeHref(href);
  if (!safe) return label;
  return html`<a href="${safe}" rel="noopener noreferrer" target="_blank">${label}</a>`;
}

/** Inline Markdown of one block's text. */
export function renderInline(text) {
  return inline(String(text ?? ""), 0);
}

function inline(text, depth) {
  if (depth >= MAX_INLINE_DEPTH) return html`${text}`; // deeper markup stays as it was typed
  const inner = (part) => inline(part, depth + 1);
  const parts = [];
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    // matchAll works on a copy of the pattern, so the recursive calls below cannot disturb it
    parts.push(text.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[2] !== undefined) parts.push(html`<code>${m[2].replace(/^ (.*) $/s, "$1")}</code>`);
    else if (m[3] !== undefined || m[4] !== undefined) parts.push(html`<strong>${inner(m[3] ?? m[4])}</strong>`);
    else if (m[5] !== undefined || m[6] !== undefined) parts.push(html`<em>${inner(m[5] ?? m[6])}</em>`);
    else if (m[7] !== undefined) parts.push(html`<del>${inner(m[7])}</del>`);
    else if (m[8] !== undefined) parts.push(link(m[9], inner(m[8])));
    else if (m[10] !== undefined) parts.push(link(m[10], m[10]));
    else parts.push(link(m[11], m[11]));
  }
  parts.push(text.slice(last));
  return html`${parts}`;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+-]*)/;
// `s`: a line may hold U+2028, which `.` would stop at and then backtrack over the spaces before it.
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*))?$/s;
const LIST_ITEM = /^([ \t]*)(?:([-*+])|(\d{1,9})[.)])([ \t]+)(.*)$/s;
const QUOTE = /^ {0,3}>\s?(.*)$/s;
const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const TABLE_SEPARATOR = /^\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?$/; // tested on a trimmed line
const TAB_WIDTH = 4;

const isBlank = (line) => line.trim() === "";

/** The width of a line's leading spaces and tabs (a tab reaches the next multiple of 4). */
function indentOf(line) {
  let width = 0;
  for (let i = 0; i < line.length; i += 1) {
    if (line[i] === " ") width += 1;
    else if (line[i] === "\t") width += TAB_WIDTH - (width % TAB_WIDTH);
    else break;
  }
  return width;
}

/** The line without up to `columns` columns of leading spaces and tabs. */
function dedent(line, columns) {
  let width = 0;
  let i = 0;
  while (i < line.length && width < columns && (line[i] === " " || line[i] === "\t")) {
    width += line[i] === "\t" ? TAB_WIDTH - (width % TAB_WIDTH) : 1;
    i += 1;
  }
  return line.slice(i);
}

/** A heading line's level and text (a closing run of # after a space is not text), or null when it has no text. */
function heading(line) {
  const match = HEADING.exec(line);
  if (!match) return null;
  let text = (match[2] ?? "").trim();
  const closing = /(?:^|[ \t])#+$/.exec(text); // one run, found without backtracking over the text
  if (closing) text = text.slice(0, closing.index).trim();
  return text ? { level: match[1].length, text } : null; // an empty heading would be announced as nothing
}

/** A list item's start: {ordered, start, indent, nest, content}, or null. */
function listItem(line) {
  const match = LIST_ITEM.exec(line);
  if (!match) return null;
  const indent = indentOf(match[1]);
  const marker = match[2] ?? `${match[3]}.`;
  const content = indent + marker.length + Math.min(TAB_WIDTH, indentOf(match[4]));
  // Lines indented this far (or to the text's column, if that is less) belong to the item.
  const nest = Math.min(content, indent + 2);
  return { ordered: match[2] === undefined, start: match[3] ?? null, indent, nest, content: match[5] };
}

/** Whether a line begins a block that a list item's first paragraph cannot run into. */
function startsBlock(line) {
  return QUOTE.test(line) || FENCE.test(line) || listItem(line) !== null;
}

function isTableStart(lines, i) {
  return lines[i].includes("|") && i + 1 < lines.length && TABLE_SEPARATOR.test(lines[i + 1].trim());
}

function cells(line) {
  let text = line.trim();
  if (text.startsWith("|")) text = text.slice(1);
  if (text.endsWith("|") && !text.endsWith("\\|")) text = text.slice(0, -1);
  return text.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, "|"));
}

function alignment(cell) {
  const left = cell.startsWith(":");
  const right = cell.endsWith(":");
  if (left && right) return "align-center";
  if (right) return "align-right";
  return null;
}

function table(heads, separator, rows) {
  const aligns = cells(separator).map(alignment);
  return html`<div class="table-scroll"><table><thead><tr>${heads.map(
    (cell, i) => html`<th scope="col" class="${aligns[i]}">${renderInline(cell)}</th>`,
  )}</tr></thead><tbody>${rows.map((row) => {
    const values = cells(row);
    return html`<tr>${heads.map((_, i) => html`<td class="${aligns[i]}">${renderInline(values[i] ?? "")}</td>`)}</tr>`;
  })}</tbody></table></div>`;
}

/** Lines shown as they are, one per line: what lies deeper than MAX_BLOCK_DEPTH. */
function plainText(lines) {
  const shown = lines.slice(0, lines.findLastIndex((line) => !isBlank(line)) + 1);
  return html`<p class="md-flat">${shown.map((text, n) => html`${n > 0 ? html`<br>` : ""}${text}`)}</p>`;
}

/**
 * The list that starts at `lines[i]`: its items ({item, body}: the first line's text and the
 * lines that belong to it, dedented) and the index of the line after it. A list goes on over
 * blank lines when what follows is another item or belongs to the last one.
 */
function collectList(lines, i) {
  const first = listItem(lines[i]);
  const items = [];
  let current = null;
  let j = i;
  while (j < lines.length) {
    const line = lines[j];
    if (isBlank(line)) {
      let k = j + 1;
      while (k < lines.length && isBlank(lines[k])) k += 1;
      if (k >= lines.length) break;
      const next = listItem(lines[k]);
      const inside = indentOf(lines[k]) >= current.item.nest;
      if (!inside && !(next && next.ordered === first.ordered)) break;
      if (inside) for (; j < k; j += 1) current.body.push("");
      j = k;
      continue;
    }
    if (current && indentOf(line) >= current.item.nest) {
      current.body.push(dedent(line, current.item.nest)); // a continuation line, or nested blocks
      j += 1;
      continue;
    }
    const item = listItem(line);
    if (!item || item.ordered !== first.ordered) break;
    current = { item, body: [] };
    items.push(current);
    j += 1;
  }
  return { first, items, next: j };
}

/** One list item: its first paragraph inline, then whatever it holds as blocks one level deeper. */
function listEntry({ item, body }, depth) {
  const lines = [item.content, ...body];
  let k = 0;
  while (k < lines.length && !isBlank(lines[k]) && !startsBlock(lines[k])) k += 1;
  const text = lines.slice(0, k).map((line) => line.trim()).join("\n");
  const rest = lines.slice(k);
  const nested = rest.some((line) => !isBlank(line)) ? renderBlocks(rest, depth + 1) : "";
  return html`<li>${renderInline(text)}${nested}</li>`;
}

/** Markdown text → markup built with `html` (a SafeHTML). */
export function renderMarkdown(source) {
  return renderBlocks(String(source ?? "").replace(/\r\n?/g, "\n").split("\n"), 0);
}

/**
 * The blocks of `lines`, which sit inside `depth` block quotes and list items. A quote or list
 * met at MAX_BLOCK_DEPTH is shown as plain text instead of nesting further, so the recursion is
 * at most that deep and each line is looked at once per level.
 */
function renderBlocks(lines, depth) {
  const blocks = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (isBlank(line)) {
      i += 1;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const body = [];
      i += 1;
      while (i < lines.length && !lines[i].trimStart().startsWith(fence[1])) body.push(lines[i++]);
      i += 1; // the closing fence (or the end of a reply still streaming)
      const language = fence[2] ? `language-${fence[2]}` : null;
      blocks.push(html`<pre><code class="${language}">${body.join("\n")}</code></pre>`);
      continue;
    }
    const title = heading(line);
    if (title) {
      const level = Math.min(6, title.level + 2); // the page's own headings come first
      blocks.push(html([`<h${level}>`, `</h${level}>`], renderInline(title.text)));
      i += 1;
      continue;
    }
    if (RULE.test(line)) {
      blocks.push(html`<hr>`);
      i += 1;
      continue;
    }
    if (isTableStart(lines, i)) {
      const heads = cells(line);
      const rows = [];
      let j = i + 2;
      while (j < lines.length && !isBlank(lines[j]) && lines[j].includes("|")) rows.push(lines[j++]);
      blocks.push(heads.length <= MAX_TABLE_COLUMNS ? table(heads, lines[i + 1], rows) : plainText(lines.slice(i, j)));
      i = j;
      continue;
    }
    if (QUOTE.test(line)) {
      const start = i;
      const body = [];
      while (i < lines.length && QUOTE.test(lines[i])) body.push(QUOTE.exec(lines[i++])[1]);
      if (depth >= MAX_BLOCK_DEPTH) blocks.push(plainText(lines.slice(start, i)));
      else blocks.push(html`<blockquote>${renderBlocks(body, depth + 1)}</blockquote>`);
      continue;
    }
    if (listItem(line)) {
      const { first, items, next } = collectList(lines, i);
      if (depth >= MAX_BLOCK_DEPTH) {
        blocks.push(plainText(lines.slice(i, next)));
      } else {
        const content = items.map((entry) => listEntry(entry, depth));
        if (!first.ordered) blocks.push(html`<ul>${content}</ul>`);
        else if (first.start === "1") blocks.push(html`<ol>${content}</ol>`);
        else blocks.push(html`<ol start="${Number(first.start)}">${content}</ol>`);
      }
      i = next;
      continue;
    }
    const paragraph = [];
    while (
      i < lines.length &&
      !isBlank(lines[i]) &&
      !FENCE.test(lines[i]) &&
      !heading(lines[i]) &&
      !QUOTE.test(lines[i]) &&
      !listItem(lines[i]) &&
      !isTableStart(lines, i)
    ) {
      paragraph.push(lines[i++]);
    }
    if (paragraph.length === 0) paragraph.push(lines[i++]); // safety: always make progress
    blocks.push(html`<p>${paragraph.map((text, n) => html`${n > 0 ? html`<br>` : ""}${renderInline(text.trim())}`)}</p>`);
  }
  return html`${blocks}`;
}
