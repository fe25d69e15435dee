"""A scripted OpenAI-compatible Chat Completions server for the browser tests (stdlib only).

Each turn: the first request answers with one tool call (find_patients), the next streams a
Markdown reply slowly (so a test can act mid-turn), with token usage. A question containing
"markup" gets a reply holding <script> and <img onerror> (which the page must show as text).

    python3 fake_model.py PORT     then OPENAI_BASE_URL=http://127.0.0.1:PORT/v1
"""
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DELTA_SECONDS = float(os.environ.get("FAKE_MODEL_DELTA_SECONDS", "0.06"))
REPLY = (
    "Maria Garcia has **two** active conditions:\n\n"
    "- Type 2 diabetes mellitus (since 2019)\n- Essential hypertension\n\n"
    "| Test | Value |\n|---|---:|\n| HbA1c | 7.2 % |\n\n"
    "Source: `Condition/c1`, `Condition/c2`. More at https://hl7.org/fhir/R4/ ."
)
MARKUP_REPLY = 'Here it is: <script>window.__bedsideXSS = 1</script> and <img src=x onerror="window.__bedsideXSS = 2"> done.'


def chunk(delta=None, finish=None, usage=None):
    body = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": "fake-model"}
    body["choices"] = [] if delta is None and finish is None else [{"index": 0, "delta": delta or {}, "finish_reason": finish}]
    if usage:
        body["usage"] = usage
    return "data: " + json.dumps(body) + "\n\n"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_chunk(self, text):
        data = text.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        messages = request.get("messages", [])
        last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
        question = str(messages[last_user].get("content", "")) if last_user >= 0 else ""
        used_tool = any(m.get("role") == "tool" for m in messages[last_user + 1:])
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            if not used_tool:
                call = {"index": 0, "id": "call_1", "type": "function",
                        "function": {"name": "find_patients", "arguments": json.dumps({"name": "Maria Garcia"})}}
                self.send_chunk(chunk({"role": "assistant", "tool_calls": [call]}))
                time.sleep(0.2)
                self.send_chunk(chunk({}, "tool_calls"))
                usage = {"prompt_tokens": 120, "completion_tokens": 12, "total_tokens": 132}
            else:
                text = MARKUP_REPLY if "markup" in question.lower() else REPLY
                words = text.split(" ")
                for i, word in enumerate(words):
                    self.send_chunk(chunk({"content": word if i == 0 else " " + word}))
                    time.sleep(DELTA_SECONDS)
                self.send_chunk(chunk({}, "stop"))
                usage = {"prompt_tokens": 300, "completion_tokens": len(words), "total_tokens": 300 + len(words)}
            self.send_chunk(chunk(usage=usage))
            self.send_chunk("data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the turn was cancelled


if __name__ == "__main__":
    class Server(ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            pass  # a client that went away (a killed Bedside) is expected here

    server = Server(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()
