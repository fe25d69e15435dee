// A small, safe Markdown renderer for the assistant's replies: paragraphs, headings, lists,
// emphasis, inline and fenced code, tables, block quotes and links. Everything goes through the
// escaping `html` template, so raw HTML in a reply is shown as text and never parsed; links
// keep only http, https and mailto targets and open with rel="noopener noreferrer".

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

const INLINE = new RegExp(
  [
    /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/.source, // 1,2 code span
    /\*\*(?=\S)([\s\S]*?\S)\*\*/.source, // 3 strong
    /__(?=\S)([\s\S]*?\S)__(?![A-Za-z0-9])/.source, // 4 strong
    /\*(?=[^\s*])([\s\S]*?[^\s*])\*/.source, // 5 emphasis
    /(?<![A-Za-z0-9])_(?=[^\s_])([\s\S]*?[^\s_])_(?![A-Za-z0-9])/.source, // 6 emphasis
    /~~(?=\S)([\s\S]*?\S)~~/.source, // 7 strikethrough
    /\[([^\]\n]+)\]\(\s*<?([^\s()<>]+)>?(?:\s+"[^"\n]*")?\s*\)/.source, // 8,9 link
    /<((?:https?:\/\/|mailto:)[^\s<>]+)>/.source, // 10 autolink
    /\b(https?:\/\/[^\s<>"'`]*[^\s<>"'`.,;:!?)\]])/.source, // 11 bare URL
  ].join("|"),
  "g",
);

function link(href, label) {
  const safe = safeHref(href);
  if (!safe) return label;
  return html`<a href="${safe}" rel="noopener noreferrer" target="_blank">${label}</a>`;
}

/** Inline Markdown of one block's text. */
export function renderInline(text) {
  const parts = [];
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    // matchAll works on a copy of the pattern, so the recursive calls below cannot disturb it

    parts.push(text.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[2] !== undefined) parts.push(html`<code>${m[2].replace(/^ (.*) $/s, "$1")}</code>`);
    else if (m[3] !== undefined || m[4] !== undefined) parts.push(html`<strong>${renderInline(m[3] ?? m[4])}</strong>`);
    else if (m[5] !== undefined || m[6] !== undefined) parts.push(html`<em>${renderInline(m[5] ?? m[6])}</em>`);
    else if (m[7] !== undefined) parts.push(html`<del>${renderInline(m[7])}</del>`);
    else if (m[8] !== undefined) parts.push(link(m[9], renderInline(m[8])));
    else if (m[10] !== undefined) parts.push(link(m[10], m[10]));
    else parts.push(link(m[11], m[11]));
  }
  parts.push(text.slice(last));
  return html`${parts}`;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+-]*)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const BULLET = /^\s*[-*+]\s+(.*)$/;
const ORDERED = /^\s*(\d{1,9})[.)]\s+(.*)$/;
const QUOTE = /^ {0,3}>\s?(.*)$/;
const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const TABLE_SEPARATOR = /^\s*\|?\s*:?-{1,}:?\s*(\|\s*:?-{1,}:?\s*)*\|?\s*$/;

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

function table(header, separator, rows) {
  const aligns = cells(separator).map(alignment);
  const heads = cells(header);
  return html`<div class="table-scroll"><table><thead><tr>${heads.map(
    (cell, i) => html`<th scope="col" class="${aligns[i]}">${renderInline(cell)}</th>`,
  )}</tr></thead><tbody>${rows.map(
    (row) =>
      html`<tr>${heads.map((_, i) => html`<td class="${aligns[i]}">${renderInline(cells(row)[i] ?? "")}</td>`)}</tr>`,
  )}</tbody></table></div>`;
}

/** Markdown text → markup built with `html` (a SafeHTML). */
export function renderMarkdown(source) {
  const lines = String(source ?? "").replace(/\r\n?/g, "\n").split("\n");
  const blocks = [];
  let i = 0;
  const isBlank = (line) => line.trim() === "";
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
    const heading = HEADING.exec(line);
    if (heading) {
      const level = Math.min(6, heading[1].length + 2); // the page's own headings come first
      blocks.push(html([`<h${level}>`, `</h${level}>`], renderInline(heading[2])));
      i += 1;
      continue;
    }
    if (RULE.test(line)) {
      blocks.push(html`<hr>`);
      i += 1;
      continue;
    }
    if (line.includes("|") && i + 1 < lines.length && TABLE_SEPARATOR.test(lines[i + 1]) && lines[i + 1].includes("-")) {
      const rows = [];
      let j = i + 2;
      while (j < lines.length && !isBlank(lines[j]) && lines[j].includes("|")) rows.push(lines[j++]);
      blocks.push(table(line, lines[i + 1], rows));
      i = j;
      continue;
    }
    if (QUOTE.test(line)) {
      const body = [];
      while (i < lines.length && QUOTE.test(lines[i])) body.push(QUOTE.exec(lines[i++])[1]);
      blocks.push(html`<blockquote>${renderMarkdown(body.join("\n"))}</blockquote>`);
      continue;
    }
    const ordered = ORDERED.exec(line);
    if (BULLET.test(line) || ordered) {
      const pattern = ordered ? ORDERED : BULLET;
      const items = [];
      while (i < lines.length && !isBlank(lines[i]) && (pattern.test(lines[i]) || /^\s{2,}\S/.test(lines[i]))) {
        const item = pattern.exec(lines[i]);
        if (item) items.push(item[ordered ? 2 : 1]);
        else items[items.length - 1] += `\n${lines[i].trim()}`; // a continuation line
        i += 1;
      }
      const content = items.map((item) => html`<li>${renderInline(item)}</li>`);
      if (!ordered) blocks.push(html`<ul>${content}</ul>`);
      else if (ordered[1] === "1") blocks.push(html`<ol>${content}</ol>`);
      else blocks.push(html`<ol start="${Number(ordered[1])}">${content}</ol>`);
      continue;
    }
    const paragraph = [];
    while (
      i < lines.length &&
      !isBlank(lines[i]) &&
      !FENCE.test(lines[i]) &&
      !HEADING.test(lines[i]) &&
      !QUOTE.test(lines[i]) &&
      !BULLET.test(lines[i]) &&
      !ORDERED.test(lines[i]) &&
      !(lines[i].includes("|") && i + 1 < lines.length && TABLE_SEPARATOR.test(lines[i + 1]))
    ) {
      paragraph.push(lines[i++]);
    }
    if (paragraph.length === 0) paragraph.push(lines[i++]); // safety: always make progress
    blocks.push(html`<p>${paragraph.map((text, n) => html`${n > 0 ? html`<br>` : ""}${renderInline(text)}`)}</p>`);
  }
  return html`${blocks}`;
}
