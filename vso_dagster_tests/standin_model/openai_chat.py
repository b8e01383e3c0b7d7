"""STAND-IN for OpenAI's Chat Completions API (streaming or not), enough for the real Aider CLI to
implement a slice in a team and to run a refinement.

Aider has no tools: a model edits by answering with whole files in its "whole" edit format (the
file's path on a line, then its new content in a fence), and Aider writes them. So the scripted
developer answers its briefing (Aider sends it as the user's message) with the implementation and
the done marker in one reply; Aider then runs the unit tests itself (`--test-cmd`, `--auto-test`)
and would hand a failure back as the next message. Any other role answers without an edit.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from .developer import developer_task
from .server import StandinServer, refinement

USAGE = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}


def whole_file(path: str, content: str) -> str:
    """One file in Aider's whole edit format."""
    return f"{path}\n```\n{content.rstrip()}\n```\n"


def user_prompt(body: dict) -> str:
    """The last user message: Aider's own example exchanges come before it."""
    said = [m.get("content") for m in body.get("messages", []) if m.get("role") == "user"]
    content = said[-1] if said else ""
    if isinstance(content, str):
        return content
    return "\n".join(part.get("text", "") for part in content or [] if isinstance(part, dict))


def developer_reply(briefing: str, code_for: Callable[[str], str]) -> str | None:
    # Aider's own requests quote the briefing (a commit message, a summary of the chat): no edit.
    task = developer_task(briefing) if briefing.startswith("# Briefing: ") else None
    if task is None:
        return None
    return ("Here is the implementation, and the summary for VSO.\n\n"
            + whole_file(task.service, code_for(task.slice_id))
            + "\n" + whole_file(str(task.marker.relative_to(task.workdir)),
                                f"{task.slice_id}: implemented by the stand-in model; unit tests run by Aider\n"))


class StandinChat(StandinServer):
    """`code_for(slice_id)`: the implementation the developer writes (none: no developer is played)."""

    def __init__(self, code_for: Callable[[str], str] | None = None, **faults) -> None:
        super().__init__(**faults)
        self.code_for = code_for

    def respond(self, path: str, body: dict) -> tuple[str, bytes]:
        text = self._reply(body)
        if body.get("stream"):
            chunk = {"id": "chatcmpl-standin", "object": "chat.completion.chunk", "model": body.get("model"),
                     "choices": [{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": None}]}
            done = {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": USAGE}
            return "text/event-stream", "".join(f"data: {json.dumps(c)}\n\n" for c in (chunk, done)).encode() \
                + b"data: [DONE]\n\n"
        return "application/json", json.dumps({
            "id": "chatcmpl-standin", "object": "chat.completion", "model": body.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": USAGE}).encode()

    def _reply(self, body: dict) -> str:
        prompt = user_prompt(body)
        if task := refinement(prompt):
            return whole_file(task[0], task[1])
        if self.code_for and (reply := developer_reply(prompt, self.code_for)):
            return reply
        return "Done."  # to anything else: another role's briefing, or test failures handed back

    def prompts(self) -> list[str]:
        return [user_prompt(r["body"]) for r in self.requests]
