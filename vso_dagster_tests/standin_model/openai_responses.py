"""STAND-IN for OpenAI's Responses API (streaming), enough for the real Codex CLI to run a
refinement (the scripted refiner of server.py) and to implement a slice in a team (the scripted
developer of developer.py). Codex-cli 0.171 offers one tool, `exec`: JavaScript that composes its
nested tools (`tools.apply_patch` to write files, `tools.exec_command` to run commands)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable

from .developer import Call, next_call
from .server import StandinServer, refinement, sse

USAGE = {"input_tokens": 100, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 20,
         "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 120}


def user_prompt(body: dict) -> str:
    return "\n".join(part.get("text", "") for item in body.get("input", [])
                     if item.get("type") == "message" and item.get("role") == "user"
                     for part in item.get("content", []))


def tool_results(body: dict) -> list[str]:
    """The text of every `exec` result in the conversation so far, in order."""
    def text(output) -> str:
        if isinstance(output, str):
            return output
        return "\n".join(part.get("text", "") for part in output or [] if isinstance(part, dict))

    return [text(item.get("output")) for item in body.get("input", []) if item.get("type") == "custom_tool_call_output"]


def delete_file_patch(path: str) -> str:
    return f"*** Begin Patch\n*** Delete File: {path}\n*** End Patch"


def add_file_patch(path: str, content: str) -> str:
    lines = "".join(f"+{line}\n" for line in content.splitlines())
    return f"*** Begin Patch\n*** Add File: {path}\n{lines}*** End Patch"


def codex_script(call: Call) -> str:
    """The developer's tool call as JavaScript for Codex's `exec` tool."""
    if call.tool == "read":
        return (f"const r = await tools.exec_command({{cmd: {json.dumps('cat ' + shlex.quote(call.args['path']))}}});"
                "\ntext(r.output);")
    if call.tool == "write":
        path, content = call.args["path"], call.args["content"]
        # Replacing a file is a delete, then an add: one patch may not hold two operations on a file.
        patches = [delete_file_patch(path)] if call.args.get("exists") else []
        patches.append(add_file_patch(path, content))
        applied = "".join(f"done = await tools.apply_patch({json.dumps(patch)});\n" for patch in patches)
        return f"let done;\n{applied}text(done);"
    return (f"const r = await tools.exec_command({{cmd: {json.dumps(call.args['command'])}, "
            f"workdir: {json.dumps(call.args['workdir'])}, yield_time_ms: 30000}});\ntext(r.output);")


class StandinOpenAI(StandinServer):
    """`code_for(slice_id)`: the implementation the developer writes (none: no developer is played)."""

    def __init__(self, code_for: Callable[[str], str] | None = None, **faults) -> None:
        super().__init__(**faults)
        self.code_for = code_for

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

    def _item(self, body: dict) -> dict:
        results = tool_results(body)
        task = refinement(user_prompt(body))
        if task and not results:
            return self._exec(Call("write", {"path": task[0], "content": task[1]}), 1)
        if self.code_for and (call := next_call(user_prompt(body), results, self.code_for)):
            return self._exec(call, len(results) + 1)
        return {"type": "message", "id": "msg_standin", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": "Done.", "annotations": []}]}

    @staticmethod
    def _exec(call: Call, number: int) -> dict:
        return {"type": "custom_tool_call", "id": f"ctc_standin_{number}", "status": "completed",
                "call_id": f"call_standin_{number}", "name": "exec", "input": codex_script(call)}

    def prompts(self) -> list[str]:
        return [user_prompt(r["body"]) for r in self.requests]

    def tool_results(self) -> list[str]:
        """Every tool result the CLI sent back, over all its requests."""
        return [result for r in self.requests for result in tool_results(r["body"])]
