"""A real OpenAI-compatible HTTP server on localhost that replays scripted completions.

It speaks the two wire forms of POST /v1/chat/completions (a JSON body, or `text/event-stream` chunks ending in
`data: [DONE]` when the request says `"stream": true`) and GET /v1/models, and records every request it received.
Each reply is scripted: the completion text, or a raw body, an HTTP status, a delay before answering, a pause
between streamed chunks. The openai client under test talks HTTP to it; nothing is mocked.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    content: str | None = None  # the completion text (sent whole as JSON, or in pieces as SSE when asked to stream)
    body: str | None = None  # a raw body instead (malformed JSON, an empty choice list...)
    status: int = 200
    delay: float = 0.0  # seconds before the server answers at all
    pieces: list[str] | None = None  # how to cut `content` into streamed chunks (default: a few characters each)
    pause_after: int | None = None  # stop streaming after this many pieces and sleep `pause` (a stalled stream)
    pause: float = 0.0
    raw_events: list[str] | None = None  # SSE `data:` payloads sent verbatim (a malformed chunk)


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: dict


@dataclass
class ScriptedLLM:
    """Serves `replies` in order (the last one repeats) and records what it received in `requests`."""

    replies: list[Reply] = field(default_factory=list)
    models: list[str] = field(default_factory=lambda: ["scripted-model"])
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True  # a handler sleeping past the client's timeout must not hold teardown
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self.replies = list(replies)

    def next_reply(self) -> Reply:
        with self._lock:
            if not self.replies:
                raise RuntimeError("no scripted reply")
            return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    def start(self) -> ScriptedLLM:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        llm = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def _send(self, status: int, body: str, content_type: str = "application/json") -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out first, as it should
                    pass

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    llm.requests.append(Received(self.path, _headers(self), {}))
                    data = [{"id": m, "object": "model", "created": 0, "owned_by": "test"} for m in llm.models]
                    self._send(200, json.dumps({"object": "list", "data": data}))
                else:
                    self._send(404, json.dumps({"error": {"message": "not found"}}))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                llm.requests.append(Received(self.path, _headers(self), body))
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, json.dumps({"error": {"message": "not found"}}))
                    return
                reply = llm.next_reply()
                time.sleep(reply.delay)
                model = body.get("model", "scripted-model")
                if reply.status != 200:
                    self._send(reply.status, reply.body or json.dumps({"error": {"message": "scripted failure"}}))
                elif reply.body is not None:
                    self._send(200, reply.body)
                elif body.get("stream"):
                    self._stream(reply, model)
                else:
                    self._send(200, json.dumps(completion(reply.content or "", model)))

            def _stream(self, reply: Reply, model: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                if reply.raw_events is not None:
                    events = reply.raw_events
                else:
                    text = reply.content or ""
                    pieces = reply.pieces or [text[i:i + 7] for i in range(0, len(text), 7)]
                    events = [json.dumps(chunk(p, model, first=i == 0)) for i, p in enumerate(pieces)]
                    events.append(json.dumps(chunk(None, model, finish="stop")))
                try:
                    for i, event in enumerate(events):
                        if reply.pause_after is not None and i == reply.pause_after:
                            time.sleep(reply.pause)
                        self.wfile.write(f"data: {event}\n\n".encode())
                        self.wfile.flush()
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):  # the client gave up, as it should on a stall
                    pass
                self.close_connection = True

        return Handler


def _headers(handler: BaseHTTPRequestHandler) -> dict[str, str]:
    return {k.lower(): v for k, v in handler.headers.items()}


def completion(content: str, model: str) -> dict:
    return {"id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def chunk(content: str | None, model: str, first: bool = False, finish: str | None = None) -> dict:
    delta: dict = {"role": "assistant"} if first else {}
    if content is not None:
        delta["content"] = content
    return {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
