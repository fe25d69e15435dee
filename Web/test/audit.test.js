import { test } from "node:test";
import assert from "node:assert/strict";
import { auditRows, auditSummary } from "../public/lib/audit.js";

const body = {
  session_id: "demo-session-1",
  records: [
    { time: "2026-11-25T09:12:03Z", turn_id: "t1", tool_call_id: "c2", tool: "search_clinical", patient_ids: ["p-1"], resources: ["Condition/a", "Condition/b"] },
    { time: "2026-11-25T09:12:02Z", turn_id: "t1", tool_call_id: "c1", tool: "find_patients", patient_ids: ["p-1", "p-2"], resources: [] },
    { time: "2026-11-25T09:12:03Z", turn_id: null, tool_call_id: null, tool: "read_patient", patient_ids: ["p-2", 7], resources: ["Patient/p-2", "Condition/a"] },
    "junk",
    null,
  ],
};

test("audit records become rows, oldest first, ties in the server's order", () => {
  const rows = auditRows(body, { timeZone: "UTC" });
  assert.deepEqual(rows.map((r) => r.tool), ["find_patients", "search_clinical", "read_patient"]);
  assert.deepEqual(rows[0], {
    time: "2026-11-25T09:12:02Z",
    timeText: "Nov 25, 2026, 09:12:02",
    tool: "find_patients",
    patients: ["p-1", "p-2"],
    resources: [],
    turnId: "t1",
    toolCallId: "c1",
  });
  assert.deepEqual(rows[2].patients, ["p-2"], "non-strings are left out");
  assert.equal(rows[2].turnId, null);
});

test("an empty or broken answer gives no rows; the summary counts distinct patients and resources", () => {
  assert.deepEqual(auditRows({ records: [] }), []);
  assert.deepEqual(auditRows(null), []);
  assert.deepEqual(auditRows({ records: "x" }), []);
  assert.equal(auditRows({ records: [{ tool: 3 }] })[0].tool, "");
  assert.equal(auditSummary([]), "No patient data was read in this conversation.");
  assert.equal(auditSummary(auditRows(body)), "3 reads of 2 patients, 3 resources.");
  assert.equal(auditSummary(auditRows({ records: [body.records[0]] })), "1 read of 1 patient, 2 resources.");
});
