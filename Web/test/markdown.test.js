import { test } from "node:test";
import assert from "node:assert/strict";
import { renderMarkdown, renderInline, safeHref, MAX_BLOCK_DEPTH, MAX_INLINE_DEPTH, INLINE_SPAN_LIMIT, MAX_TABLE_COLUMNS } from "../public/lib/markdown.js";

const md = (text) => renderMarkdown(text).toString();

test("paragraphs, line breaks and emphasis", () => {
  assert.equal(md("Hello **bold** and *em*\nnext line\n\nSecond _para_ ~~old~~"),
    "<p>Hello <strong>bold</strong> and <em>em</em><br>next line</p><p>Second <em>para</em> <del>old</del></p>");
  assert.equal(md("__strong__ snake_case_name"), "<p><strong>strong</strong> snake_case_name</p>");
  assert.equal(md("**nested *em* inside**"), "<p><strong>nested <em>em</em> inside</strong></p>");
});

test("headings, rules and quotes", () => {
  assert.equal(md("# Title\n### Small"), "<h3>Title</h3><h5>Small</h5>");
  assert.equal(md("a\n\n---\n\nb"), "<p>a</p><hr><p>b</p>");
  assert.equal(md("> quoted *text*\n> more"), "<blockquote><p>quoted <em>text</em><br>more</p></blockquote>");
});

test("lists, bulleted and numbered", () => {
  assert.equal(md("- one\n- **two**\n  continued\n* three"), "<ul><li>one</li><li><strong>two</strong>\ncontinued</li><li>three</li></ul>");
  assert.equal(md("1. first\n2. second"), "<ol><li>first</li><li>second</li></ol>");
  assert.equal(md("3. third\n4. fourth"), '<ol start="3"><li>third</li><li>fourth</li></ol>');
  assert.equal(md("Intro\n- item"), "<p>Intro</p><ul><li>item</li></ul>");
});

test("inline and fenced code keep their text literally", () => {
  assert.equal(md("Use `a < b && *c*` here"), "<p>Use <code>a &lt; b &amp;&amp; *c*</code> here</p>");
  assert.equal(md("``code with ` tick``"), "<p><code>code with &#96; tick</code></p>");
  assert.equal(md("```js\nconst x = '<b>';\n**not bold**\n```\nafter"),
    '<pre><code class="language-js">const x = &#39;&lt;b&gt;&#39;;\n**not bold**</code></pre><p>after</p>');
  assert.equal(md("```\nstill streaming"), '<pre><code class="">still streaming</code></pre>');
});

test("tables with alignment", () => {
  const out = md("| Test | Value | Date |\n|:-----|------:|:----:|\n| HbA1c | 7.2 % | 2026-01-05 |\n| LDL \\| calc | 3.1 |");
  assert.equal(out,
    '<div class="table-scroll"><table><thead><tr><th scope="col" class="">Test</th><th scope="col" class="align-right">Value</th><th scope="col" class="align-center">Date</th></tr></thead>' +
    '<tbody><tr><td class="">HbA1c</td><td class="align-right">7.2 %</td><td class="align-center">2026-01-05</td></tr>' +
    '<tr><td class="">LDL | calc</td><td class="align-right">3.1</td><td class="align-center"></td></tr></tbody></table></div>');
});

test("links: http, https and mailto only, with rel=noopener noreferrer", () => {
  assert.equal(md("[FHIR](https://hl7.org/fhir/R4/)"),
    '<p><a href="https://hl7.org/fhir/R4/" rel="noopener noreferrer" target="_blank">FHIR</a></p>');
  assert.equal(md("see <https://example.org/a?b=1&c=2> or http://x.test/p."),
    '<p>see <a href="https://example.org/a?b=1&amp;c=2" rel="noopener noreferrer" target="_blank">https://example.org/a?b=1&amp;c=2</a> or <a href="http://x.test/p" rel="noopener noreferrer" target="_blank">http://x.test/p</a>.</p>');
  assert.equal(md("[mail](mailto:care@example.org)"),
    '<p><a href="mailto:care@example.org" rel="noopener noreferrer" target="_blank">mail</a></p>');
  assert.equal(md("[rel](/relative/path)"), "<p>rel</p>");
});

test("XSS: raw HTML is text", () => {
  const out = md('<script>alert("x")</script>\n<img src=x onerror=alert(1)>');
  assert.equal(out, "<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;<br>&lt;img src=x onerror=alert(1)&gt;</p>");
  assert.ok(!/<script|<img/i.test(out));
  assert.ok(!md('<svg onload="alert(1)"><a href="javascript:alert(1)">x</a>').includes("<svg"));
  assert.ok(!md("**<iframe src=//evil>**").includes("<iframe"));
});

test("XSS: javascript:, data: and obfuscated links are not links", () => {
  for (const href of [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "javascript&#58;alert(1)", " javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "vbscript:msgbox(1)", "java\tscript:alert(1)",
  ]) {
    const out = md(`[click](${href})`);
    assert.ok(!out.includes("<a"), `${href} → ${out}`);
    assert.equal(safeHref(href), null, href);
  }
  assert.ok(!md("<javascript:alert(1)>").includes("<a"));
  assert.ok(!md('[x](https://ok.test/"onmouseover="alert(1))').includes('" onmouseover'));
});

test("XSS: entities stay text and never turn into markup", () => {
  const out = md("&lt;script&gt;alert(1)&lt;/script&gt; &#60;img src=x onerror=alert(1)&#62; &amp;");
  assert.equal(out, "<p>&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt; &amp;#60;img src=x onerror=alert(1)&amp;#62; &amp;amp;</p>");
  assert.ok(!out.includes("<img") && !out.includes("<script"));
});

test("empty and odd input", () => {
  assert.equal(md(""), "");
  assert.equal(md(null), "");
  assert.equal(md("\r\n\r\ntext\r\n"), "<p>text</p>");
  assert.equal(renderInline("a * b * c").toString(), "a * b * c");
  assert.equal(md("| not | a table"), "<p>| not | a table</p>");
});

// ---- bounded nesting: a reply is untrusted input ----

/** The deepest element nesting of well-formed markup; throws when tags do not balance. */
function tagDepth(markup) {
  const open = [];
  let deepest = 0;
  for (const [, closing, name] of markup.matchAll(/<(\/?)([a-z0-9]+)[^>]*>/g)) {
    if (name === "br" || name === "hr") continue;
    if (closing) {
      assert.equal(open.pop(), name, `</${name}> closes the element that is open`);
    } else {
      open.push(name);
      deepest = Math.max(deepest, open.length);
    }
  }
  assert.deepEqual(open, [], "every element is closed");
  return deepest;
}

/** The text a reader sees (a fenced block's language counts as text), entities decoded. */
function visibleText(markup) {
  return markup
    .replace(/<code class="language-([^"]*)">/g, " $1 ")
    .replace(/<[^>]*>/g, " ")
    .replace(/&(lt|gt|amp|quot|#39|#96);/g, (_, e) => ({ lt: "<", gt: ">", amp: "&", quot: '"', "#39": "'", "#96": "`" })[e]);
}

/** Whether the letters of `source` all appear in `text`, in order (digits may be list numbers). */
function keepsWords(source, text) {
  const wanted = source.match(/[A-Za-z]/g) ?? [];
  const seen = text.match(/[A-Za-z]/g) ?? [];
  let j = 0;
  for (const c of seen) if (j < wanted.length && c === wanted[j]) j += 1;
  return j === wanted.length;
}

/** Runs `render` and fails if it took longer than `ms` (generous: a loaded CI machine is slow). */
function timed(ms, render) {
  const started = performance.now();
  const out = render();
  const took = performance.now() - started;
  assert.ok(took < ms, `rendering took ${took.toFixed(0)} ms (bound ${ms} ms)`);
  return out;
}

test("the nesting limits are named and modest", () => {
  assert.equal(MAX_BLOCK_DEPTH, 8);
  assert.equal(MAX_INLINE_DEPTH, 8);
  assert.ok(INLINE_SPAN_LIMIT >= 500);
});

test("4,000 nested > quotes render without throwing: 8 levels, then the rest as text", () => {
  const source = `${">".repeat(4000)} the deepest words`;
  const out = timed(2_000, () => md(source));
  assert.equal(out.match(/<blockquote>/g).length, MAX_BLOCK_DEPTH);
  assert.ok(out.includes(`<p class="md-flat">${"&gt;".repeat(4000 - MAX_BLOCK_DEPTH)} the deepest words</p>`), "the markers below the limit and the text are kept");
  assert.ok(tagDepth(out) <= MAX_BLOCK_DEPTH + 1);
  // Spaced markers, and a staircase of quotes one line deeper each: the same bound.
  const spaced = timed(2_000, () => md(`${"> ".repeat(4000)}spaced`));
  assert.equal(spaced.match(/<blockquote>/g).length, MAX_BLOCK_DEPTH);
  assert.ok(spaced.includes("spaced</p>"));
  const stairs = Array.from({ length: 1000 }, (_, i) => `${">".repeat(i + 1)} step ${i}`).join("\n");
  const out2 = timed(5_000, () => md(stairs));
  assert.ok(tagDepth(out2) <= MAX_BLOCK_DEPTH + 1);
  assert.ok(keepsWords(stairs, visibleText(out2)), "every step's text is still there");
});

test("exactly at the limit quotes still nest; one deeper is text", () => {
  const at = md(`${">".repeat(MAX_BLOCK_DEPTH)} x`);
  assert.equal(at, `${"<blockquote>".repeat(MAX_BLOCK_DEPTH)}<p>x</p>${"</blockquote>".repeat(MAX_BLOCK_DEPTH)}`);
  const over = md(`${">".repeat(MAX_BLOCK_DEPTH + 1)} x`);
  assert.equal(over, `${"<blockquote>".repeat(MAX_BLOCK_DEPTH)}<p class="md-flat">&gt; x</p>${"</blockquote>".repeat(MAX_BLOCK_DEPTH)}`);
});

test("lists nest by indentation, with other blocks inside items", () => {
  assert.equal(md("- a\n  - b\n    - c\n- d"), "<ul><li>a<ul><li>b<ul><li>c</li></ul></li></ul></li><li>d</li></ul>");
  assert.equal(md("1. First\n\n2. Second\n   - sub a\n   - sub b\n3. Third\n\n   more about third\n\nAfter"),
    "<ol><li>First</li><li>Second<ul><li>sub a</li><li>sub b</li></ul></li><li>Third<p>more about third</p></li></ol><p>After</p>");
  assert.equal(md("- step:\n  ```sh\n  ls -l\n  ```\n- next"), '<ul><li>step:<pre><code class="language-sh">ls -l</code></pre></li><li>next</li></ul>');
  assert.equal(md("> quote\n> - a\n>   - b\n> > inner"), "<blockquote><p>quote</p><ul><li>a<ul><li>b</li></ul></li></ul><blockquote><p>inner</p></blockquote></blockquote>");
  assert.equal(md("-\tx\n\t- y"), "<ul><li>x<ul><li>y</li></ul></li></ul>");
  assert.equal(md("- a\n\n\nparagraph"), "<ul><li>a</li></ul><p>paragraph</p>");
  assert.equal(md("- a\n1. b"), "<ul><li>a</li></ul><ol><li>b</li></ol>");
});

test("deeply nested lists render without throwing: 8 levels, then the rest as text", () => {
  const indented = Array.from({ length: 2000 }, (_, i) => `${"  ".repeat(i)}- item ${i}`).join("\n");
  const out = timed(5_000, () => md(indented));
  assert.equal(out.match(/<ul>/g).length, MAX_BLOCK_DEPTH);
  assert.ok(tagDepth(out) <= 2 * MAX_BLOCK_DEPTH + 1);
  assert.ok(keepsWords(indented, visibleText(out)), "every item's text is still there");
  assert.ok(out.includes("- item 1999"), "the deepest item is shown as typed");
  const inline = `${"- ".repeat(4000)}bottom`; // a list in a list in a list … on one line
  const out2 = timed(2_000, () => md(inline));
  assert.equal(out2.match(/<ul>/g).length, MAX_BLOCK_DEPTH);
  assert.ok(out2.includes("bottom</p>"));
  const mixed = `${"> - 1. ".repeat(2000)}end`;
  const out3 = timed(2_000, () => md(mixed));
  assert.ok(tagDepth(out3) <= 2 * MAX_BLOCK_DEPTH + 1);
  assert.ok(out3.includes("end</p>"));
});

test("inline markup nests at most MAX_INLINE_DEPTH deep, the rest stays as typed", () => {
  const openers = ["**", "_", "~~", "*", "__"];
  let source = "core";
  for (let i = 0; i < 40; i += 1) {
    const marker = openers[i % openers.length];
    source = `${marker}w${i} ${source} v${i}${marker}`;
  }
  const out = timed(2_000, () => renderInline(source).toString());
  assert.ok(tagDepth(out) <= MAX_INLINE_DEPTH);
  assert.ok(keepsWords(source, visibleText(out)));
  const labels = `${"[".repeat(3000)}x${"](https://a.test/)".repeat(3000)}`;
  assert.ok(tagDepth(timed(2_000, () => md(labels))) <= MAX_INLINE_DEPTH + 1);
});

test("unclosed markers and long runs stay fast (no pattern scans the rest of the text for each one)", () => {
  for (const unit of ["**a ", "*a ", "_a ", "~~a ", "`", "[", "[a](", "<http://", "| ", "# a #", "- ", "> "]) {
    const source = unit.repeat(Math.ceil(40_000 / unit.length));
    const out = timed(3_000, () => md(source));
    assert.ok(keepsWords(source, visibleText(out)), unit);
  }
  // A heading whose closing run is followed by more text once took seconds (cubic backtracking).
  const heading = `# a${" ".repeat(2000)}${"#".repeat(2000)}${" ".repeat(2000)}x`;
  assert.match(timed(1_000, () => md(heading)), /^<h3>a +#+ +x<\/h3>$/);
  // Spaces before U+2028 once made the list pattern backtrack over them.
  timed(1_000, () => md(`-${" ".repeat(20_000)}\u2028`));
  timed(1_000, () => md(`a|b\n${" ".repeat(20_000)}x`));
});

test("a table wider than MAX_TABLE_COLUMNS is text, not a wall of cells", () => {
  const head = `|${"h|".repeat(MAX_TABLE_COLUMNS + 1)}`;
  const rule = `|${"-|".repeat(MAX_TABLE_COLUMNS + 1)}`;
  const out = md(`${head}\n${rule}\n${"|x|\n".repeat(500)}`);
  assert.ok(!out.includes("<table"));
  assert.ok(out.startsWith('<p class="md-flat">'));
  assert.ok(md(`|${"h|".repeat(MAX_TABLE_COLUMNS)}\n|${"-|".repeat(MAX_TABLE_COLUMNS)}\n|x|`).includes("<table>"));
});

test("headings: a closing run of # goes, a # inside a word stays, no empty heading", () => {
  assert.equal(md("# C#\n## Title ##\n#tag\n#\n# ## #"), "<h3>C#</h3><h4>Title</h4><p>#tag<br>#</p><h3>##</h3>");
});

/** A small seeded generator, so a failure can be reproduced. */
function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PUNCTUATION = [">", "> ", "-", "- ", "*", "**", "_", "__", "~~", "`", "```", "~~~", "#", "# ", "|", "|-|", ":", "[", "]", "(", ")", "<", ">", "!", "\\", "&", ";", "1.", "2)", " ", "  ", "\t", "\n", "\n\n", "\u2028", "http://", "https://x.test/", "mailto:", "a", "b", "7"];

test("fuzz: random Markdown punctuation never throws, always balances, stays shallow", () => {
  for (const seed of [1, 2, 3, 13, 42, 2026]) {
    const next = random(seed);
    for (let round = 0; round < 300; round += 1) {
      const length = 1 + Math.floor(next() * 400);
      let source = "";
      for (let k = 0; k < length; k += 1) source += PUNCTUATION[Math.floor(next() * PUNCTUATION.length)];
      let out;
      assert.doesNotThrow(() => {
        out = md(source);
      }, `seed ${seed} round ${round}: ${JSON.stringify(source)}`);
      assert.ok(tagDepth(out) <= 2 * MAX_BLOCK_DEPTH + MAX_INLINE_DEPTH + 4, JSON.stringify(source));
      assert.ok(!/<(?!\/?(p|br|hr|h[3-6]|blockquote|ul|ol|li|pre|code|strong|em|del|a|div|table|thead|tbody|tr|th|td)[ >])/.test(out), "only the renderer's own elements");
      // Without links, tables or fences (whose info string keeps only its first word) nothing
      // a reader wrote is dropped, only the markers.
      const plain = source.replace(/[()|:]|`{3,}|~{3,}/g, " ");
      assert.ok(keepsWords(plain, visibleText(md(plain))), JSON.stringify(plain));
    }
  }
});

test("fuzz: long random lines render in time", () => {
  const next = random(7);
  let source = "";
  while (source.length < 60_000) source += PUNCTUATION[Math.floor(next() * PUNCTUATION.length)];
  timed(5_000, () => md(source));
});
