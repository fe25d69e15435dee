// A tool call's card: its arguments shown, its result collapsed (FHIR rows as a table).
import { html } from "../../lib/html.js";
import { renderToolResult } from "../../lib/fhir-table.js";

export function toolCard(span) {
  let value = span.arguments ?? {};
  if (typeof value === "string") {
    try {
      value = JSON.parse(value); // arguments the model sent as text that is JSON
    } catch {
      // shown as the text it is
    }
  }
  const args = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  let result;
  if (span.result === null || span.result === undefined) result = html`<p class="meta">Running…</p>`;
  else
    result = html`<details class="tool-result" data-key="${span.key}">
<summary>${span.isError ? "Error result" : "Result"} (${span.result.length} characters)</summary>
${renderToolResult(span.result)}
</details>`;
  return html`<div class="tool-card${span.isError ? " is-error" : ""}">
<p class="tool-args-label">Arguments</p>
<pre class="tool-args">${args}</pre>
${result}
</div>`;
}
