"""A real OpenAI-protocol HTTP server for tests: ``POST /v1/chat/completions`` on 127.0.0.1.

Each test scripts what the next requests get, and reads what the client sent:

    with FakeOpenAI() as server:
        server.reply("招商六组由孙起鹏牵头[1]。", chunks=3)   # streamed as SSE when asked
        ...ChatOpenAI(base_url=server.base_url, ...)...
        server.requests[-1]["messages"][0]["content"]      # the system prompt

``server.fail(500)`` answers with an HTTP error, ``server.stall(5)`` waits before
answering (longer than a client's timeout), ``server.malformed()`` streams invalid JSON.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass
class Script:
    text: str = ""
    chunks: int = 1
    status: int = 200
    delay: float = 0.0
    malformed: bool = False


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    def do_POST(self) -> None:
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        script = self.server.fake.script
        self.server.fake.requests.append(body)
        if script.delay and self.server.fake.closing.wait(script.delay):
            return
        try:
            if script.status != 200:
                self._json(
                    script.status,
                    {"error": {"message": "scripted failure", "type": "server_error"}},
                )
            elif body.get("stream"):
                self._stream(body["model"], script)
            else:
                self._json(
                    200,
                    {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": script.text},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                    },
                )
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
            pass

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, model: str, script: Script) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        if script.malformed:
            self._event('{"id": "chatcmpl-fake", "choices": [')
            return
        size = max(1, -(-len(script.text) // script.chunks))
        pieces = [script.text[i : i + size] for i in range(0, len(script.text), size)]
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        deltas += [{"content": p} for p in pieces]
        for i, delta in enumerate([*deltas, {}]):
            chunk = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "delta": delta,
                        "finish_reason": None if i < len(deltas) else "stop",
                    }
                ],
            }
            self._event(json.dumps(chunk, ensure_ascii=False))
        self._event("[DONE]")

    def _event(self, data: str) -> None:
        self.wfile.write(f"data: {data}\n\n".encode())
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeOpenAI


class FakeOpenAI:
    """The server, on a free port, serving in a background thread while open."""

    def __init__(self) -> None:
        self.script = Script()
        self.requests: list[dict[str, Any]] = []
        self.closing = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def reply(self, text: str, chunks: int = 4) -> None:
        """Answer with ``text``, streamed in ``chunks`` deltas when the client streams."""
        self.script = Script(text=text, chunks=chunks)

    def fail(self, status: int = 500) -> None:
        self.script = Script(status=status)

    def stall(self, seconds: float) -> None:
        """Wait ``seconds`` before answering (the client should time out first)."""
        self.script = Script(text="太迟了。", delay=seconds)

    def malformed(self) -> None:
        """Stream an event whose data is not JSON."""
        self.script = Script(malformed=True)

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
