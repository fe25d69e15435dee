import { test } from "node:test";
import assert from "node:assert/strict";
import { html, escapeHTML, render, SafeHTML } from "../public/lib/html.js";

test("every interpolated value is escaped", () => {
  const evil = `<img src=x onerror="alert('1')">&amp;\``;
  assert.equal(
    html`<p title="${evil}">${evil}</p>`.toString(),
    '<p title="&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;amp;&#96;">&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;amp;&#96;</p>',
  );
});

test("nested templates, arrays, and empty values", () => {
  const items = ["a<", "b"].map((x) => html`<li>${x}</li>`);
  assert.equal(html`<ul>${items}</ul>${null}${undefined}${false}${0}`.toString(), "<ul><li>a&lt;</li><li>b</li></ul>0");
  assert.ok(html`x` instanceof SafeHTML);
  assert.equal(escapeHTML(42), "42");
});

test("render takes only html markup", () => {
  const element = { innerHTML: "" };
  render(element, html`<b>${"<i>"}</b>`);
  assert.equal(element.innerHTML, "<b>&lt;i&gt;</b>");
  assert.throws(() => render(element, "<b>raw</b>"), TypeError);
});
