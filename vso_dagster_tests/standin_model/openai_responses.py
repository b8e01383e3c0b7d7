"""STAND-IN for OpenAI's Responses API (streaming), enough for the real Codex CLI to run a
refinement: the scripted refiner (server.py) writes with Codex's apply_patch, called from inside
Codex's `exec` tool (JavaScript that composes its nested tools), as codex-cli 0.171 offers it."""

from __future__ import annotations

import json

from .server import StandinServer, refinement, sse

USAGE = {"input_tokens": 100, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 20,
         "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 120}


def user_prompt(body: dict) -> str:
    return "\n".join(part.get("text", "") for item in body.get("input", [])
                     if item.get("type") == "message" and item.get("role") == "user"
                     for part in item.get("content", []))


def add_file_patch(path: str, content: str) -> str:
    lines = "".join(f"+{line}\n" for line in content.splitlines())
    return f"*** Begin Patch\n*** Add File: {path}\n{lines}*** End Patch"


class StandinOpenAI(StandinServer):
    def respond(self, path: str, body: dict) -> tuple[str, bytes]:
        item = self._item(body)
        response = {"id": "resp_standin", "object": "response", "status": "in_progress", "output": []}
        return "text/event-stream", sse([
            {"type": "response.created", "response": response},
            {"type": "response.output_item.added", "output_index": 0, "item": {**item, "status": "in_progress"}},
            {"type": "response.output_item.done", "output_index": 0, "item": item},
            {"type": "response.completed", "response": {**response, "status": "completed", "output": [item],
                                                        "usage": USAGE}},
        ])

    @staticmethod
    def _item(body: dict) -> dict:
        answered = any(item.get("type") == "custom_tool_call_output" for item in body.get("input", []))
        task = refinement(user_prompt(body))
        if task and not answered:
            code = f"const done = await tools.apply_patch({json.dumps(add_file_patch(*task))});\ntext(done);"
            return {"type": "custom_tool_call", "id": "ctc_standin", "status": "completed", "call_id": "call_standin",
                    "name": "exec", "input": code}
        return {"type": "message", "id": "msg_standin", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": "Done.", "annotations": []}]}

    def prompts(self) -> list[str]:
        return [user_prompt(r["body"]) for r in self.requests]
