"""STAND-IN for Anthropic's Messages API (streaming), enough for the real Claude Code CLI to run a
refinement: the scripted refiner (server.py) writes with Claude Code's own Write tool."""

from __future__ import annotations

import json

from .server import StandinServer, refinement, sse


def _text(content) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(block.get("text", "") for block in content if block.get("type") == "text")


def user_prompt(body: dict) -> str:
    return "\n".join(_text(m["content"]) for m in body.get("messages", []) if m.get("role") == "user")


class StandinAnthropic(StandinServer):
    def respond(self, path: str, body: dict) -> tuple[str, bytes]:
        if "count_tokens" in path:
            return "application/json", json.dumps({"input_tokens": 100}).encode()
        return "text/event-stream", sse(self._events(body))

    @staticmethod
    def _reply(body: dict) -> tuple[dict, str]:
        messages = body.get("messages", [])
        last = messages[-1]["content"] if messages else ""
        answered = isinstance(last, list) and any(block.get("type") == "tool_result" for block in last)
        task = refinement(user_prompt(body))
        if task and not answered and "Write" in {tool.get("name") for tool in body.get("tools", [])}:
            return {"type": "tool_use", "id": "toolu_standin_1", "name": "Write",
                    "input": {"file_path": task[0], "content": task[1]}}, "tool_use"
        return {"type": "text", "text": "Done."}, "end_turn"

    def _events(self, body: dict) -> list[dict]:
        block, stop = self._reply(body)
        tool = block["type"] == "tool_use"
        return [
            {"type": "message_start", "message": {"id": "msg_standin", "type": "message", "role": "assistant",
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
