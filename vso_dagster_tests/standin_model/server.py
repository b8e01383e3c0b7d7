"""The loopback HTTP server both stand-in model APIs run on, and the refiner both play.

The scripted refiner: asked (by VSO's refinement briefing) to write a refined spec to a file, it
answers with a call to the CLI's own file-writing tool holding the spec with one criterion added;
once the tool's result comes back, it ends the turn.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ADDED_CRITERION = "- get a clear error for bad input (refined by the stand-in model)"
_OUTPUT = re.compile(r"to this file: `([^`]+)`")


def refinement(prompt: str) -> tuple[str, str] | None:
    """(file to write, refined spec) when the prompt is VSO's refinement briefing."""
    target = _OUTPUT.search(prompt)
    if target is None or "\n---\n" not in prompt:
        return None
    spec = prompt.split("\n---\n", 1)[1].strip() + "\n"
    return target[1], spec.replace("### As a user, I can:\n", f"### As a user, I can:\n{ADDED_CRITERION}\n", 1)


def sse(events: list[dict]) -> bytes:
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()


class StandinServer:
    """`with Api() as model:` serves on model.url until the block ends; every request is kept in
    model.requests (its path, body, and `at`, when it arrived by time.monotonic()). A subclass
    answers with `respond(path, body) -> (content type, bytes)`."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        respond: Callable[[str, dict], tuple[str, bytes]] = self.respond
        requests = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                requests.append({"path": self.path, "body": body, "at": time.monotonic()})
                kind, data = respond(self.path, body)
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def respond(self, path: str, body: dict) -> tuple[str, bytes]:
        raise NotImplementedError

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
