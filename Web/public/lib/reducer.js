// Server events → what the page shows: the conversation, the turns with their spans (LLM and
// tool calls on a time axis), token totals and the session's notices. Pure: no DOM, no socket.
//
// `reduce(state, event)` returns a new state and never changes the one it is given; parts that
// did not change are shared, so a view can compare them by identity to skip work.

import { KEEPING_CODES, REFUSING_CODES, TOO_MANY_CONNECTIONS, retryAfterOf } from "./errors.js";

/** The state of an empty session. */
export function initialState(sessionId = null) {
  return {
    sessionId,
    lastSeq: 0, // newest seq applied; events at or below it are replays and are dropped
    latestSeq: null, // the session's newest seq when the connection was (re)made
    serverVersion: null,
    messages: [], // {key, role: "user"|"assistant"|"error", content, streaming, cancelled, turnId, ...}
    pending: [], // messages sent but not yet acknowledged: {clientMessageId, content}
    turns: [], // {id, status, start, end, durationMs, reason, tokens, traceId, spans: [...]}
    runningTurnId: null,
    queued: null, // the turn waiting for a free slot on the server: {turnId, position}
    notice: null, // the latest connection-scoped error: {code, message, retryAfterMs, receivedAt, refusedMessage}
  };
}

/** Milliseconds since the epoch from the protocol's ISO 8601 timestamp (null when absent). */
export function timeOf(event) {
  const time = Date.parse(event.timestamp ?? "");
  return Number.isNaN(time) ? null : time;
}

/** Applies one server event, or a local action (`client/pending`, `client/unsent`). */
export function reduce(state, event) {
  if (!event || typeof event.type !== "string") return state;
  if (event.type === "client/pending") {
    return { ...state, pending: [...state.pending, { clientMessageId: event.client_message_id, content: event.content }] };
  }
  if (event.type === "client/unsent") {
    return { ...state, pending: state.pending.filter((p) => p.clientMessageId !== event.client_message_id) };
  }
  if (event.type === "connection") {
    const latestSeq = event.latest_seq ?? null;
    const serverVersion = event.server_version ?? state.serverVersion;
    // A socket the server took again: its refusal for a connection limit is over.
    const notice = state.notice?.code === TOO_MANY_CONNECTIONS ? null : state.notice;
    if (latestSeq === state.latestSeq && serverVersion === state.serverVersion && notice === state.notice) return state;
    return { ...state, latestSeq, serverVersion, notice };
  }
  if (typeof event.seq !== "number") {
    if (event.type === "error") {
      // Connection-scoped: `busy`, `too_many_turns`, `rate_limited` and `store_unavailable` mean
      // the pending message was refused (or dropped) and not run; the page offers its text again.
      // `shutting_down` means it was not run either, but it stays pending: the connection sends
      // it again after reconnecting.
      const refusing = REFUSING_CODES.has(event.code);
      const notice = {
        code: event.code ?? null,
        message: event.error ?? "",
        retryAfterMs: retryAfterOf(event),
        receivedAt: timeOf(event),
        refusedMessage: refusing && state.pending.length > 0,
      };
      if (KEEPING_CODES.has(event.code) && state.pending.length > 0) notice.keptMessage = true;
      return { ...state, pending: refusing ? [] : state.pending, notice };
    }
    return state;
  }
  if (event.seq <= state.lastSeq) return state; // a replay or a resent message's echo
  const next = { ...state, lastSeq: event.seq };
  const handler = HANDLERS[event.type];
  return handler ? handler(next, event) : next;
}

/** Applies a list of events in order. */
export function reduceAll(state, events) {
  return events.reduce(reduce, state);
}

const HANDLERS = {
  user(state, event) {
    const message = {
      key: `u${event.seq}`,
      role: "user",
      content: event.content ?? "",
      seq: event.seq,
      turnId: event.turn_id ?? null,
      clientMessageId: event.client_message_id ?? null,
    };
    const pending = state.pending.filter((p) => p.clientMessageId !== event.client_message_id);
    return { ...state, messages: [...state.messages, message], pending, notice: null };
  },

  turn(state, event) {
    const time = timeOf(event);
    if (event.status === "started") {
      const turn = {
        id: event.turn_id,
        status: "running",
        start: time,
        end: null,
        durationMs: null,
        reason: null,
        tokens: null,
        traceId: event.trace_id ?? null,
        spans: [],
      };
      return { ...state, turns: [...state.turns, turn], runningTurnId: event.turn_id, queued: unqueued(state, event) };
    }
    // Any other status ends the turn, also one that never started (cancelled while queued).
    const ended = updateTurn(state, event.turn_id, (turn) => ({
      ...turn,
      status: event.status,
      end: time,
      durationMs: event.duration_ms ?? null,
      reason: event.reason ?? null,
      tokens:
        event.total_tokens === undefined
          ? turn.tokens
          : { prompt: event.prompt_tokens ?? 0, completion: event.completion_tokens ?? 0, total: event.total_tokens },
      // A span still running when its turn ends (cancel, restart) stops where the turn did.
      spans: turn.spans.map((span) => (span.end === null ? { ...span, end: time, status: "stopped" } : span)),
    }));
    const messages = ended.messages.map((m) =>
      m.streaming && m.turnId === event.turn_id ? { ...m, streaming: false, cancelled: event.status === "cancelled" } : m,
    );
    return {
      ...ended,
      messages,
      runningTurnId: state.runningTurnId === event.turn_id ? null : state.runningTurnId,
      queued: unqueued(state, event),
    };
  },

  queued(state, event) {
    // The turn waits for a free slot on the server (its `turn` `started` comes when one frees).
    const position = typeof event.position === "number" ? event.position : null;
    return { ...state, queued: { turnId: event.turn_id ?? null, position } };
  },

  assistant(state, event) {
    const id = event.message_id ?? `seq-${event.seq}`;
    const index = state.messages.findIndex((m) => m.role === "assistant" && m.messageId === id);
    const messages = [...state.messages];
    if (index < 0) {
      messages.push({
        key: `a${event.seq}`,
        role: "assistant",
        messageId: id,
        content: event.content ?? "",
        streaming: event.streaming === true,
        cancelled: event.cancelled === true,
        turnId: event.turn_id ?? null,
        seq: event.seq,
      });
    } else {
      const old = messages[index];
      messages[index] = {
        ...old,
        content: event.streaming ? old.content + (event.content ?? "") : (event.content ?? old.content),
        streaming: event.streaming === true,
        cancelled: event.cancelled === true,
      };
    }
    return { ...state, messages };
  },

  openai_call(state, event) {
    return addSpan(state, event, {
      kind: "llm",
      name: event.model ?? "model",
      model: event.model ?? null,
      provider: event.provider ?? null,
      tokens: null,
      finishReason: null,
    });
  },

  openai_response(state, event) {
    return endSpan(state, event, (span) => span.kind === "llm" && span.end === null, {
      tokens: { prompt: event.prompt_tokens ?? 0, completion: event.completion_tokens ?? 0, total: event.total_tokens ?? 0 },
      finishReason: event.finish_reason ?? null,
      status: "ok",
    });
  },

  tool_call(state, event) {
    return addSpan(state, event, {
      kind: "tool",
      name: event.tool_name ?? "tool",
      server: event.server ?? null,
      toolCallId: event.tool_call_id ?? null,
      arguments: event.arguments ?? {},
      result: null,
      isError: false,
    });
  },

  tool_result(state, event) {
    return endSpan(
      state,
      event,
      (span) => span.kind === "tool" && span.end === null && span.toolCallId === event.tool_call_id,
      { result: event.result ?? "", isError: event.is_error === true, status: event.is_error ? "error" : "ok" },
    );
  },

  error(state, event) {
    const message = {
      key: `e${event.seq}`,
      role: "error",
      content: event.error ?? "",
      code: event.code ?? null,
      seq: event.seq,
      turnId: event.turn_id ?? null,
    };
    return { ...state, messages: [...state.messages, message] };
  },
};

/** `queued` without the turn of this `turn` event, which has started or ended. */
function unqueued(state, event) {
  return state.queued && state.queued.turnId === event.turn_id ? null : state.queued;
}

/** Whether a turn is under way: running, or waiting for a free slot (Stop applies to both). */
export function turnActive(state) {
  return state.runningTurnId !== null || state.queued !== null;
}

function updateTurn(state, turnId, change) {
  let found = false;
  const turns = state.turns.map((turn) => {
    if (turn.id !== turnId) return turn;
    found = true;
    return change(turn);
  });
  if (found) return { ...state, turns };
  // An event of a turn whose start this client never saw (it joined mid-turn without replay).
  const orphan = {
    id: turnId,
    status: "running",
    start: null,
    end: null,
    durationMs: null,
    reason: null,
    tokens: null,
    traceId: null,
    spans: [],
  };
  return { ...state, turns: [...state.turns, change(orphan)] };
}

function addSpan(state, event, fields) {
  const span = {
    key: `s${event.seq}`,
    start: timeOf(event),
    end: null,
    durationMs: null,
    status: "running",
    traceId: event.trace_id ?? null,
    spanId: event.span_id ?? null,
    ...fields,
  };
  return updateTurn(state, event.turn_id, (turn) => ({
    ...turn,
    traceId: turn.traceId ?? span.traceId,
    spans: [...turn.spans, span],
  }));
}

function endSpan(state, event, matches, fields) {
  return updateTurn(state, event.turn_id, (turn) => {
    // The newest matching span; for model calls the span id pins it down when present.
    let index = -1;
    for (let i = turn.spans.length - 1; i >= 0; i -= 1) {
      const span = turn.spans[i];
      if (matches(span) && (!event.span_id || !span.spanId || span.spanId === event.span_id)) {
        index = i;
        break;
      }
    }
    const end = timeOf(event);
    const spans = [...turn.spans];
    if (index < 0) {
      // The start was never seen: show the call ending now, lasting what the server measured.
      const start = end === null || event.duration_ms == null ? end : end - event.duration_ms;
      spans.push({
        key: `s${event.seq}`,
        kind: event.type === "tool_result" ? "tool" : "llm",
        name: event.tool_name ?? event.model ?? "call",
        server: event.server ?? null,
        toolCallId: event.tool_call_id ?? null,
        arguments: {},
        traceId: event.trace_id ?? null,
        spanId: event.span_id ?? null,
        start,
        end,
        durationMs: event.duration_ms ?? null,
        ...fields,
      });
    } else {
      spans[index] = { ...spans[index], end, durationMs: event.duration_ms ?? null, ...fields };
    }
    return { ...turn, traceId: turn.traceId ?? event.trace_id ?? null, spans };
  });
}

/** Token and call totals of one turn, counted from its spans (live, before the turn ends). */
export function turnTotals(turn) {
  const totals = { prompt: 0, completion: 0, total: 0, llmCalls: 0, toolCalls: 0 };
  for (const span of turn.spans) {
    if (span.kind === "llm") {
      totals.llmCalls += 1;
      if (span.tokens) {
        totals.prompt += span.tokens.prompt;
        totals.completion += span.tokens.completion;
        totals.total += span.tokens.total;
      }
    } else {
      totals.toolCalls += 1;
    }
  }
  // The server's own totals win once the turn has ended with them.
  if (turn.tokens) Object.assign(totals, turn.tokens);
  return totals;
}

/** Totals over every turn of the session, with the time spent in turns. */
export function sessionTotals(state) {
  const totals = { prompt: 0, completion: 0, total: 0, llmCalls: 0, toolCalls: 0, turns: state.turns.length, durationMs: 0 };
  for (const turn of state.turns) {
    const t = turnTotals(turn);
    totals.prompt += t.prompt;
    totals.completion += t.completion;
    totals.total += t.total;
    totals.llmCalls += t.llmCalls;
    totals.toolCalls += t.toolCalls;
    totals.durationMs += turn.durationMs ?? 0;
  }
  return totals;
}

/** How long a span has run: its measured duration once ended, else the time since it started. */
export function spanDuration(span, now) {
  if (span.durationMs !== null && span.durationMs !== undefined) return span.durationMs;
  if (span.start === null) return 0;
  return Math.max(0, (span.end ?? now) - span.start);
}
