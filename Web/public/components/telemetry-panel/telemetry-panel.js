// <telemetry-panel>: what the agent did, per turn, as it happens: each LLM call and tool call
// on a time axis (running ones grow live), with durations, tokens and totals, tool cards and
// the trace id (a link when the server gives a trace URL template).
import { html, render } from "../../lib/html.js";
import { safeHref } from "../../lib/markdown.js";
import { sessionTotals, spanDuration, turnTotals } from "../../lib/reducer.js";
import { toolCard } from "./tool-card.js";

const number = new Intl.NumberFormat("en");

/** "812 ms", "1.4 s". */
export function formatDuration(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return `${number.format(Math.round(ms))} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

function tokens(t) {
  return `${number.format(t.total)} tokens (${number.format(t.prompt)} in, ${number.format(t.completion)} out)`;
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export class TelemetryPanel extends HTMLElement {
  #state = null;
  #traceURL = null;
  #sections = new Map(); // turn id → {turn, element}
  #ticker = null;

  connectedCallback() {
    if (this.querySelector(".turns")) return;
    render(this, html`<h2 id="telemetry-heading">Telemetry</h2>
<p class="session-totals" aria-label="Session totals"></p>
<ol class="turns" aria-label="Turns"></ol>`);
  }

  disconnectedCallback() {
    clearInterval(this.#ticker);
    this.#ticker = null;
  }

  set traceURL(template) {
    this.#traceURL = template;
    this.#sections.clear();
    if (this.#state) this.state = this.#state;
  }

  set state(state) {
    if (!this.querySelector(".turns")) this.connectedCallback();
    this.#state = state;
    const list = this.querySelector(".turns");
    const keep = new Set(state.turns.map((t) => t.id));
    for (const [id, section] of this.#sections) {
      if (!keep.has(id)) {
        section.element.remove();
        this.#sections.delete(id);
      }
    }
    state.turns.forEach((turn, index) => {
      let section = this.#sections.get(turn.id);
      if (!section) {
        section = { turn: null, element: document.createElement("li") };
        this.#sections.set(turn.id, section);
        list.append(section.element);
      }
      if (section.turn !== turn) {
        section.turn = turn;
        this.#renderTurn(section.element, turn, index + 1);
      }
    });
    const t = sessionTotals(state);
    this.querySelector(".session-totals").textContent =
      `Session: ${plural(t.turns, "turn")}, ${plural(t.llmCalls, "LLM call")}, ${plural(t.toolCalls, "tool call")}, ` +
      `${tokens(t)}, ${formatDuration(t.durationMs)} in turns`;
    this.#tick();
  }

  #renderTurn(element, turn, number) {
    const open = new Set([...element.querySelectorAll("details[open]")].map((d) => d.dataset.key));
    const t = turnTotals(turn);
    element.className = `turn status-${turn.status}`;
    element.dataset.turnId = turn.id;
    const traceHref = turn.traceId && this.#traceURL ? safeHref(this.#traceURL.replaceAll("{trace_id}", turn.traceId)) : null;
    const trace = turn.traceId
      ? html`<p class="trace">Trace ${traceHref ? html`<a href="${traceHref}" rel="noopener noreferrer" target="_blank"><code>${turn.traceId}</code></a>` : html`<code>${turn.traceId}</code>`}</p>`
      : "";
    render(element, html`<h3>Turn ${number} <span class="badge">${turn.status}${turn.reason ? ` (${turn.reason})` : ""}</span></h3>
<p class="turn-totals">${formatDuration(turn.durationMs ?? (turn.status === "running" ? null : 0))} · ${plural(t.llmCalls, "LLM call")} · ${plural(t.toolCalls, "tool call")} · ${tokens(t)}</p>
${trace}
<ol class="waterfall" aria-label="Calls of turn ${number}">${turn.spans.map(
      (span) => html`<li class="span kind-${span.kind} status-${span.status}" data-key="${span.key}">
<div class="span-label"><span class="span-kind">${span.kind === "llm" ? "LLM" : "Tool"}</span> <span class="span-name">${span.name}</span>${
        span.server ? html` <span class="span-server meta" title="MCP server">via ${span.server}</span>` : ""
      }
<span class="span-duration">${formatDuration(spanDuration(span, Date.now()))}</span>${
        span.tokens ? html` <span class="span-tokens">${tokens(span.tokens)}</span>` : ""
      }${span.finishReason ? html` <span class="meta">${span.finishReason}</span>` : ""}${
        span.status === "running" ? html` <span class="meta">running</span>` : ""
      }</div>
<div class="track" aria-hidden="true"><div class="bar"></div></div>
${span.kind === "tool" ? toolCard(span) : ""}
</li>`,
    )}</ol>`);
    for (const details of element.querySelectorAll("details")) if (open.has(details.dataset.key)) details.open = true;
    this.#layout(element, turn, Date.now());
  }

  /** Places each bar on the turn's time axis; the axis ends now while the turn runs. */
  #layout(element, turn, now) {
    const starts = turn.spans.map((s) => s.start).filter((x) => x !== null);
    const origin = turn.start ?? (starts.length ? Math.min(...starts) : now);
    const end = turn.end ?? Math.max(now, origin + 1);
    const width = Math.max(1, end - origin);
    const rows = element.querySelectorAll(".span");
    turn.spans.forEach((span, i) => {
      const row = rows[i];
      if (!row) return;
      const start = span.start ?? origin;
      const stop = span.end ?? now;
      const bar = row.querySelector(".bar");
      bar.style.left = `${(100 * (start - origin)) / width}%`;
      bar.style.width = `${Math.max(0.5, (100 * (stop - start)) / width)}%`;
      if (span.status === "running") row.querySelector(".span-duration").textContent = formatDuration(spanDuration(span, now));
    });
  }

  /** While a turn runs, its spans grow with the clock. */
  #tick() {
    const running = this.#state?.turns.filter((t) => t.status === "running") ?? [];
    if (running.length === 0) {
      clearInterval(this.#ticker);
      this.#ticker = null;
      return;
    }
    if (this.#ticker) return;
    this.#ticker = setInterval(() => {
      const now = Date.now();
      let any = false;
      for (const turn of this.#state.turns) {
        if (turn.status !== "running") continue;
        any = true;
        const section = this.#sections.get(turn.id);
        if (section) this.#layout(section.element, turn, now);
      }
      if (!any) {
        clearInterval(this.#ticker);
        this.#ticker = null;
      }
    }, 100);
  }
}

export function registerTelemetryPanel() {
  if (!customElements.get("telemetry-panel")) customElements.define("telemetry-panel", TelemetryPanel);
}
