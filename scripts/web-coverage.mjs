// Fails when a module's line coverage, read from the report of
// `node --test --experimental-test-coverage` (TAP), is under a bar.
//
//   node scripts/web-coverage.mjs REPORT.txt public/lib/connection.js 85   (paths as in Web/)
import { readFileSync } from "node:fs";

const [report, file, bar] = process.argv.slice(2);
const line = readFileSync(report, "utf8")
  .split("\n")
  .find((l) => l.replace(/^#\s*/, "").split("|")[0].trim() === file);
if (!line) {
  console.error(`error: ${file} is not in the coverage report ${report}`);
  process.exit(1);
}
const percent = Number(line.replace(/^#\s*/, "").split("|")[1]);
console.log(`${file}: ${percent.toFixed(2)}% of lines covered (bar ${bar}%)`);
if (!(percent >= Number(bar))) {
  console.error(`error: line coverage of ${file} is ${percent}%, under ${bar}%`);
  process.exit(1);
}
