// <session-tools>: what the page offers about the conversation it shows: its export (Markdown
// transcript or JSON with events and audit, both downloads) and its access audit, a
// disclosure that fetches which patient data the agent's tools read and shows it as a table.
// A failed call with 401 sends `auth-lost` up.
import { auditRows, auditSummary } from "../../lib/audit.js";
import { html, render } from "../../lib/html.js";
import { exportLink } from "../../lib/sessions.js";

const INLINE_RESOURCES = 3; // more than this are folded

function list(items, className) {
  return html`<ul class="${className}">${items.map((item) => html`<li><code>${item}</code></li>`)}</ul>`;
}

function resourcesCell(resources) {
  if (resources.length === 0) return html`<span class="meta">none</span>`;
  if (resources.length <= INLINE_RESOURCES) return list(resources, "audit-resources");
  return html`<details class="audit-more"><summary>${resources.length} resources</summary>${list(resources, "audit-resources")}</details>`;
}

function auditTable(rows) {
  return html`<div class="table-scroll" role="region" aria-labelledby="audit-caption" tabindex="0">
<table class="audit-table" id="audit-table">
<caption id="audit-caption">Patient data read in this conversation</caption>
<thead><tr><th scope="col">Time</th><th scope="col">Tool</th><th scope="col">Patients</th><th scope="col">Resources</th></tr></thead>
<tbody>${rows.map(
    (row) => html`<tr>
<td><time datetime="${row.time}">${row.timeText || row.time}</time></td>
<td><code>${row.tool}</code></td>
<td>${row.patients.length ? list(row.patients, "audit-patients") : html`<span class="meta">none</span>`}</td>
<td>${resourcesCell(row.resources)}</td>
</tr>`,
  )}</tbody>
</table>
</div>`;
}

export class SessionTools extends HTMLElement {
  #api = null;
  #sessionId = null;
  #hasEvents = false;
  #request = 0; // counts audit fetches: the answer of an older one is dropped

  connectedCallback() {
    if (this.querySelector("section")) return;
    render(this, html`<section class="session-tools" aria-labelledby="session-tools-heading">
  <h2 id="session-tools-heading">This conversation</h2>
  <p class="export-links" id="export-links" hidden>
    <a id="export-markdown" class="button-link secondary" href="/" download>Export as Markdown</a>
    <a id="export-json" class="button-link secondary" href="/" download>Export as JSON</a>
  </p>
  <p class="meta export-empty" id="export-empty">Export is possible once the conversation has a message.</p>
  <details class="audit" id="audit-disclosure">
    <summary id="audit-summary">Access audit</summary>
    <div class="audit-body" id="audit-view">
      <p class="audit-state" id="audit-state" role="status"></p>
      <div class="audit-records"></div>
      <button type="button" class="audit-refresh secondary small" id="audit-refresh" hidden>Refresh</button>
    </div>
  </details>
</section>`);
    const details = this.querySelector("details");
    details.addEventListener("toggle", () => {
      if (details.open) this.#loadAudit();
    });
    this.querySelector(".audit-refresh").addEventListener("click", () => this.#loadAudit());
    this.#update();
  }

  set api(api) {
    this.#api = api;
  }

  /** {id, hasEvents}: the conversation shown, and whether it has anything to export yet. */
  set session({ id, hasEvents }) {
    const changed = id !== this.#sessionId;
    if (!changed && hasEvents === this.#hasEvents) return;
    this.#sessionId = id;
    this.#hasEvents = hasEvents;
    if (!this.querySelector("section")) return;
    if (changed) {
      // Another conversation: its audit is fetched when the disclosure is opened again.
      this.#request += 1;
      this.querySelector("details").open = false;
      render(this.querySelector(".audit-records"), html``);
      this.querySelector(".audit-state").textContent = "";
      this.querySelector(".audit-refresh").hidden = true;
    }
    this.#update();
  }

  #update() {
    const id = this.#sessionId;
    const ready = Boolean(id && this.#hasEvents);
    this.querySelector(".export-links").hidden = !ready;
    this.querySelector(".export-empty").hidden = ready;
    if (!id) return;
    for (const format of ["markdown", "json"]) {
      const link = exportLink(id, format);
      const anchor = this.querySelector(`#export-${format}`);
      anchor.href = link.href;
      anchor.setAttribute("download", link.filename);
    }
  }

  async #loadAudit() {
    const id = this.#sessionId;
    if (!id || !this.#api) return;
    const request = ++this.#request;
    const state = this.querySelector(".audit-state");
    const records = this.querySelector(".audit-records");
    state.textContent = "Loading the access audit…";
    records.setAttribute("aria-busy", "true");
    try {
      const body = await this.#api.audit(id);
      if (request !== this.#request) return;
      const rows = auditRows(body);
      state.textContent = auditSummary(rows);
      render(records, rows.length ? auditTable(rows) : html``);
    } catch (error) {
      if (request !== this.#request) return;
      if (error?.status === 404) {
        // No such conversation (yet): nothing was read in it.
        state.textContent = auditSummary([]);
        render(records, html``);
        return;
      }
      if (error?.unauthenticated) this.dispatchEvent(new CustomEvent("auth-lost", { bubbles: true }));
      state.textContent = `The access audit could not be loaded: ${error?.message ?? error}`;
      render(records, html``);
    } finally {
      if (request === this.#request) {
        records.removeAttribute("aria-busy");
        this.querySelector(".audit-refresh").hidden = false;
      }
    }
  }
}

export function registerSessionTools() {
  if (!customElements.get("session-tools")) customElements.define("session-tools", SessionTools);
}
