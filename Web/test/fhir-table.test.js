import { test } from "node:test";
import assert from "node:assert/strict";
import { renderToolResult, rowsTable, resourceType, parseResult } from "../public/lib/fhir-table.js";

const cellsOf = (markup) =>
  [...markup.toString().matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((row) =>
    [...row[1].matchAll(/<t[dh][^>]*>([\s\S]*?)<\/t[dh]>/g)].map((cell) => cell[1].replace(/<[^>]+>/g, "").trim()),
  );

test("compact rows become type, date, code display, value and status", () => {
  const result = JSON.stringify({
    count: 3,
    records: [
      { ref: "Condition/c1", date: "2019-04-02", display: "Type 2 diabetes mellitus", code: "http://snomed.info/sct|44054006", status: "active" },
      { ref: "Observation/o1", date: "2026-01-05", display: "Hemoglobin A1c", code: "http://loinc.org|4548-4", value: 7.2, unit: "%", status: "final" },
      { ref: "Observation/bp", date: "2026-01-05", display: "Blood pressure", value: "128/82", unit: "mm[Hg]" },
    ],
  });
  assert.deepEqual(cellsOf(renderToolResult(result)), [
    ["Type", "Date", "Code", "Value", "Status"],
    ["Condition", "2019-04-02", "Type 2 diabetes mellitus http://snomed.info/sct|44054006", "", "active"],
    ["Observation", "2026-01-05", "Hemoglobin A1c http://loinc.org|4548-4", "7.2 %", "final"],
    ["Observation", "2026-01-05", "Blood pressure", "128/82 mm[Hg]", ""],
  ]);
  assert.match(renderToolResult(result).toString(), /<caption>Records \(3\)<\/caption>/);
});

test("a patient summary shows each of its lists", () => {
  const markup = renderToolResult(JSON.stringify({
    patient: { id: "p1", name: "Maria Garcia", birth_date: "1950-04-02", gender: "female" },
    active_conditions: [{ ref: "Condition/c1", display: "Hypertension", status: "active", end: "2020-01-01", date: "2010-01-01" }],
    active_medications: [{ ref: "MedicationRequest/m1", display: "Metformin", status: "active" }],
    allergies: [{ ref: "AllergyIntolerance/a1", display: "Penicillin", status: "active", criticality: "high" }],
    latest_vitals: [],
    latest_labs: [{ ref: "Observation/o1", display: "HbA1c", value: 7.2, unit: "%" }],
    more_available: true,
  })).toString();
  for (const caption of ["Active conditions (1)", "Active medications (1)", "Allergies (1)", "Latest vital signs (0)", "Latest labs (1)"]) {
    assert.ok(markup.includes(`<caption>${caption}</caption>`), caption);
  }
  assert.ok(markup.includes("Maria Garcia, born 1950-04-02, female"));
  assert.ok(markup.includes("active (high)"));
  assert.ok(markup.includes("2010-01-01 – 2020-01-01"));
  assert.ok(markup.includes("More records are available"));
});

test("patients and trends", () => {
  const markup = renderToolResult(JSON.stringify({
    patients: [{ id: "p1", name: "Maria Garcia", gender: "female", birth_date: "1950-04-02", deceased: true }, "junk"],
    values: [{ ref: "Observation/o1", date: "2025-01-01", value: 6.9, unit: "%" }],
    trend: { direction: "rising", change: 0.3, min: 6.9, max: 7.2 },
  }));
  assert.deepEqual(cellsOf(markup)[1], ["Maria Garcia", "1950-04-02 (deceased)", "female", "p1"]);
  assert.ok(markup.toString().includes("Trend: rising, change 0.3, min 6.9, max 7.2"));
});

test("anything else is shown as text, escaped", () => {
  assert.equal(renderToolResult("There is no patient with id <x>.").toString(), '<pre class="tool-text">There is no patient with id &lt;x&gt;.</pre>');
  assert.equal(renderToolResult('{"resourceType":"Patient","id":"p1"}').toString(),
    '<pre class="tool-text">{\n  &quot;resourceType&quot;: &quot;Patient&quot;,\n  &quot;id&quot;: &quot;p1&quot;\n}</pre>');
  assert.equal(parseResult("[1]"), null);
  assert.equal(resourceType(undefined), "");
  assert.equal(resourceType("Patient"), "Patient");
});

test("row values cannot inject markup", () => {
  const markup = rowsTable([{ ref: 'Condition/"><img src=x onerror=alert(1)>', display: "<script>alert(1)</script>", status: "<b>" }], "X").toString();
  assert.ok(!markup.includes("<img") && !markup.includes("<script") && !markup.includes("<b>"));
});
