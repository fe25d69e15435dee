// Tool results as tables: the FHIR tools answer with compact rows (ref, date, display, code,
// value, unit, status), which read better as a table than as JSON. Anything else is shown as
// the text it is.

import { html } from "./html.js";

/** Lists of compact rows a tool result may hold, in the order they are shown. */
const ROW_LISTS = [
  ["records", "Records"],
  ["values", "Values"],
  ["active_conditions", "Active conditions"],
  ["active_medications", "Active medications"],
  ["allergies", "Allergies"],
  ["latest_vitals", "Latest vital signs"],
  ["latest_labs", "Latest labs"],
];

/** The parsed result when it is a JSON object, else null. */
export function parseResult(text) {
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

/** "Condition/abc" → "Condition". */
export function resourceType(ref) {
  const text = typeof ref === "string" ? ref : "";
  return text.includes("/") ? text.slice(0, text.indexOf("/")) : text;
}

function valueText(row) {
  if (row.value === undefined || row.value === null) return "";
  return row.unit ? `${row.value} ${row.unit}` : String(row.value);
}

function isRow(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** A table of compact FHIR rows: type, date, code display, value, status. */
export function rowsTable(rows, caption) {
  const list = rows.filter(isRow);
  return html`<div class="table-scroll"><table class="fhir-table">
<caption>${caption} (${list.length})</caption>
<thead><tr><th scope="col">Type</th><th scope="col">Date</th><th scope="col">Code</th><th scope="col">Value</th><th scope="col">Status</th></tr></thead>
<tbody>${list.map(
    (row) => html`<tr>
<td title="${row.ref ?? ""}">${resourceType(row.ref)}</td>
<td>${row.date ?? ""}${row.end ? html` – ${row.end}` : ""}</td>
<td>${row.display ?? ""}${row.code ? html` <span class="code">${row.code}</span>` : ""}</td>
<td>${valueText(row)}</td>
<td>${row.status ?? ""}${row.criticality ? html` (${row.criticality})` : ""}</td>
</tr>`,
  )}</tbody></table></div>`;
}

function patientsTable(patients) {
  const list = patients.filter(isRow);
  return html`<div class="table-scroll"><table class="fhir-table">
<caption>Patients (${list.length})</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Birth date</th><th scope="col">Gender</th><th scope="col">Id</th></tr></thead>
<tbody>${list.map(
    (p) => html`<tr><td>${p.name ?? ""}</td><td>${p.birth_date ?? ""}${p.deceased ? " (deceased)" : ""}</td><td>${p.gender ?? ""}</td><td><span class="code">${p.id ?? ""}</span></td></tr>`,
  )}</tbody></table></div>`;
}

/**
 * A tool result as markup: tables for the lists of compact rows it holds, a line for the trend
 * of an observation, and the raw text when it holds nothing tabular (errors, plain text).
 */
export function renderToolResult(text) {
  const result = parseResult(text);
  const parts = [];
  if (result) {
    if (isRow(result.patient)) {
      const p = result.patient;
      parts.push(html`<p class="patient-line">${p.name ?? p.id ?? ""}${p.birth_date ? `, born ${p.birth_date}` : ""}${p.gender ? `, ${p.gender}` : ""}</p>`);
    }
    if (Array.isArray(result.patients)) parts.push(patientsTable(result.patients));
    for (const [key, caption] of ROW_LISTS) {
      if (Array.isArray(result[key])) parts.push(rowsTable(result[key], caption));
    }
    if (isRow(result.trend)) {
      const t = result.trend;
      parts.push(html`<p class="trend">Trend: ${t.direction ?? ""}${t.change !== undefined ? `, change ${t.change}` : ""}${t.min !== undefined ? `, min ${t.min}` : ""}${t.max !== undefined ? `, max ${t.max}` : ""}</p>`);
    }
    if (result.more_available === true) parts.push(html`<p class="more">More records are available than shown.</p>`);
    if (parts.length === 0) return html`<pre class="tool-text">${JSON.stringify(result, null, 2)}</pre>`;
  }
  if (parts.length === 0) return html`<pre class="tool-text">${text}</pre>`;
  return html`${parts}`;
}
