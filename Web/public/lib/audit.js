// A conversation's access audit (`GET /sessions/{id}/audit`) as table rows: when, which tool,
// which patients, which resources. Pure: the view turns the rows into a table.

import { absoluteTime, toTime } from "./relative-time.js";

function strings(value) {
  return Array.isArray(value) ? value.filter((v) => typeof v === "string" && v) : [];
}

/**
 * The records of an audit answer as rows, oldest first (the server's order; records with the
 * same time keep it): {time, timeText, tool, patients, resources, turnId, toolCallId}.
 * Records that are not objects are left out; missing fields become "" or [].
 */
export function auditRows(body, { timeZone } = {}) {
  const records = Array.isArray(body?.records) ? body.records : [];
  return records
    .filter((r) => r && typeof r === "object")
    .map((r, index) => ({
      index,
      time: typeof r.time === "string" ? r.time : "",
      at: toTime(r.time),
      timeText: absoluteTime(r.time, { timeZone }),
      tool: typeof r.tool === "string" ? r.tool : "",
      patients: strings(r.patient_ids),
      resources: strings(r.resources),
      turnId: typeof r.turn_id === "string" ? r.turn_id : null,
      toolCallId: typeof r.tool_call_id === "string" ? r.tool_call_id : null,
    }))
    .sort((a, b) => (a.at ?? 0) - (b.at ?? 0) || a.index - b.index)
    .map(({ index, at, ...row }) => row);
}

/** "3 reads of 2 patients, 14 resources": the audit in one line. */
export function auditSummary(rows) {
  const patients = new Set(rows.flatMap((r) => r.patients));
  const resources = new Set(rows.flatMap((r) => r.resources));
  const n = (count, one, many) => `${count} ${count === 1 ? one : many}`;
  if (rows.length === 0) return "No patient data was read in this conversation.";
  return `${n(rows.length, "read", "reads")} of ${n(patients.size, "patient", "patients")}, ${n(resources.size, "resource", "resources")}.`;
}
