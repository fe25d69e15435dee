import { test } from "node:test";
import assert from "node:assert/strict";
import { renderMarkdown, renderInline, safeHref } from "../public/lib/markdown.js";

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
