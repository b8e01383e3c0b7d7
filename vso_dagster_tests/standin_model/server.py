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


def error_json(status: int, body: dict) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(body).encode()


def openai_error(kind: str) -> tuple[int, str, bytes]:
    """A fault as OpenAI's APIs (Responses, Chat Completions) word it."""
    status, message, kind_, code = {
        "auth": (401, "Incorrect API key provided: stan*******key. You can find your API key at "
                      "https://platform.openai.com/account/api-keys.", "invalid_request_error", "invalid_api_key"),
        "rate_limit": (429, "Rate limit reached for standin in organization org-standin on tokens per min (TPM): "
                            "Limit 30000, Used 30000, Requested 120. Please try again in 1ms.", "tokens",
                       "rate_limit_exceeded"),
        "overloaded": (503, "The server is overloaded or not ready yet.", "server_error", None),
        "usage_limit": (429, "You exceeded your current quota, please check your plan and billing details.",
                        "insufficient_quota", "insufficient_quota"),
    }[kind]
    return error_json(status, {"error": {"message": message, "type": kind_, "param": None, "code": code}})


class StandinServer:
    """`with Api() as model:` serves on model.url until the block ends; every request is kept in
    model.requests (its path, body, and `at`, when it arrived by time.monotonic()). A subclass
    answers with `respond(path, body) -> (content type, bytes)`.

    `faults` scripts the next answers, one per request, the way the real API fails: "auth" (a wrong
    key: 401), "rate_limit" (429), "overloaded" (529 on Anthropic's API, 503 on OpenAI's), "usage_limit"
    (the account's quota is spent) or "hang" (the request is never answered). `always` keeps answering
    the last fault once the script is spent. Each is worded as its API does: `error(kind)`."""

    HANG_S = 600.0

    def __init__(self, faults: tuple[str, ...] = (), always: bool = False) -> None:
        self.requests: list[dict] = []
        self.faults = list(faults)
        self.always = always
        self._closed = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                server.requests.append({"path": self.path, "body": body, "at": time.monotonic()})
                fault = server.next_fault(self.path)
                if fault == "hang":
                    server._closed.wait(server.HANG_S)
                    return
                status, kind, data = server.error(fault) if fault else (200, *server.respond(self.path, body))
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def next_fault(self, path: str) -> str | None:
        if "count_tokens" in path or not self.faults:
            return None
        return self.faults[0] if self.always and len(self.faults) == 1 else self.faults.pop(0)

    def respond(self, path: str, body: dict) -> tuple[str, bytes]:
        raise NotImplementedError

    def error(self, kind: str) -> tuple[int, str, bytes]:
        """The fault as OpenAI's APIs word it (both of theirs alike); Anthropic's stand-in words its own."""
        return openai_error(kind)

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._closed.set()
        self.server.shutdown()
        self.server.server_close()
