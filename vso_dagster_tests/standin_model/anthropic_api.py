"""STAND-IN for Anthropic's Messages API (streaming), enough for the real Claude Code CLI to run a
refinement (the scripted refiner of server.py writes with Claude Code's own Write tool) and to
implement a slice in a team (the scripted developer of developer.py, through Read, Write and Bash)."""

from __future__ import annotations

import json
from collections.abc import Callable

from .developer import Call, next_call
from .server import StandinServer, error_json, refinement, sse

# The developer's tool calls as Claude Code's tools take them.
CLAUDE_TOOLS = {"read": lambda a: ("Read", {"file_path": a["path"]}),
                "write": lambda a: ("Write", {"file_path": a["path"], "content": a["content"]}),
                "shell": lambda a: ("Bash", {"command": a["command"], "description": "Run the unit tests"})}


def _text(content) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(block.get("text", "") for block in content if block.get("type") == "text")


def user_prompt(body: dict) -> str:
    return "\n".join(_text(m["content"]) for m in body.get("messages", []) if m.get("role") == "user")


def tool_results(body: dict) -> list[str]:
    """The text of every tool result in the conversation so far, in order."""
    return [block["content"] if isinstance(block.get("content"), str) else _text(block.get("content") or [])
            for m in body.get("messages", []) if isinstance(m.get("content"), list)
            for block in m["content"] if block.get("type") == "tool_result"]


class StandinAnthropic(StandinServer):
    """`code_for(slice_id)`: the implementation the developer writes (none: no developer is played)."""

    def __init__(self, code_for: Callable[[str], str] | None = None, **faults) -> None:
        super().__init__(**faults)
        self.code_for = code_for

    def error(self, kind: str) -> tuple[int, str, bytes]:
        status, kind_, message = {
            "auth": (401, "authentication_error", "invalid x-api-key"),
            "rate_limit": (429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate "
                                                    "limit"),
            "overloaded": (529, "overloaded_error", "Overloaded"),
            "usage_limit": (400, "invalid_request_error", "Your credit balance is too low to access the Anthropic "
                                                          "API. Please go to Plans & Billing to upgrade or purchase "
                                                          "credits."),
        }[kind]
        return error_json(status, {"type": "error", "error": {"type": kind_, "message": message}})

    def respond(self, path: str, body: dict) -> tuple[str, bytes]:
        if "count_tokens" in path:
            return "application/json", json.dumps({"input_tokens": 100}).encode()
        return "text/event-stream", sse(self._events(body))

    def _reply(self, body: dict) -> tuple[dict, str]:
        messages = body.get("messages", [])
        last = messages[-1]["content"] if messages else ""
        answered = isinstance(last, list) and any(block.get("type") == "tool_result" for block in last)
        task = refinement(user_prompt(body))
        if task and not answered and "Write" in {tool.get("name") for tool in body.get("tools", [])}:
            return self._tool_use(Call("write", {"path": task[0], "content": task[1]}), 1)
        results = tool_results(body)
        if self.code_for and body.get("tools") and (call := next_call(user_prompt(body), results, self.code_for)):
            return self._tool_use(call, len(results) + 1)
        return {"type": "text", "text": "Done."}, "end_turn"

    @staticmethod
    def _tool_use(call: Call, number: int) -> tuple[dict, str]:
        name, arguments = CLAUDE_TOOLS[call.tool](call.args)
        return {"type": "tool_use", "id": f"toolu_standin_{number}", "name": name, "input": arguments}, "tool_use"

    def _events(self, body: dict) -> list[dict]:
        block, stop = self._reply(body)
        tool = block["type"] == "tool_use"
        return [
            {"type": "message_start", "message": {"id": f"msg_standin_{len(self.requests)}", "type": "message",
                                                  "role": "assistant",
                                                  "model": body.get("model"), "content": [], "stop_reason": None,
                                                  "stop_sequence": None,
                                                  "usage": {"input_tokens": 100, "output_tokens": 1}}},
            {"type": "content_block_start", "index": 0,
             "content_block": {**block, "input": {}} if tool else {"type": "text", "text": ""}},
            {"type": "content_block_delta", "index": 0,
             "delta": {"type": "input_json_delta", "partial_json": json.dumps(block["input"])} if tool else
             {"type": "text_delta", "text": block["text"]}},
            {"type": "content_block_stop", "index": 0},
            {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
             "usage": {"output_tokens": 20}},
            {"type": "message_stop"},
        ]

    def prompts(self) -> list[str]:
        return [user_prompt(r["body"]) for r in self.requests if "messages" in r["body"]]

    def tool_results(self) -> list[str]:
        """Every tool result the CLI sent back, over all its requests."""
        return [result for r in self.requests for result in tool_results(r["body"])]
