"""What an agent team spent, read from what the agents themselves reported in their panes.

Each one-shot CLI ends with a machine-readable report. Claude Code (`--output-format json` or
`stream-json`) ends with one JSON object of type "result": token counts, its cost in USD (it prices
the model itself) and its turns. In `stream-json` it also prints each model message as it comes, with
that message's usage so far, so what a run has spent is known while it works (a budget can stop it).
Codex (`exec --json`) prints JSON lines, and each "turn.completed" holds the turn's token counts, with
no cost. Aider prints a line per model message, "Tokens: 1.2k sent, 64 received.", with "Cost: $0.01
message, ..." when it knows the model's prices: its counts are rounded as it prints them. A pane
holds a report per run of its agent (a restarted agent reports again), so a team's usage is the sum
over every report in every pane. The TUIs of Claude Code and Codex print no usage, but keep it in
their session files (in the team's own config home), which hold the same reports. What no agent
reported (a cost Codex does not give, or any in a TUI) stays unknown: None, never a made-up zero.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..base.budget import Spent


@dataclass(frozen=True)
class AgentUsage:
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = None  # None: some report gave no cost
    turns: int | None = None  # model turns, where the CLI counts them
    reports: int = 0  # how many reports were read: 0 means nothing is known
    cost_reported: float = 0.0  # the cost the reports that gave one add up to: what was spent at least

    def __add__(self, other: AgentUsage) -> AgentUsage:
        if not self.reports or not other.reports:
            return other if not self.reports else self
        return AgentUsage(self.tokens_in + other.tokens_in, self.tokens_out + other.tokens_out,
                          _sum(self.cost_usd, other.cost_usd), _sum(self.turns, other.turns),
                          self.reports + other.reports, self.cost_reported + other.cost_reported)

    def spent(self, minutes: float) -> Spent:
        """What a budget holds this usage to: the tokens, the cost reported so far, the minutes."""
        return Spent(self.tokens_in + self.tokens_out, self.cost_reported, minutes)

    def summary(self) -> str:
        if not self.reports:
            return "usage not reported by the agent"
        cost = f"${self.cost_usd:.4f}" if self.cost_usd is not None else "cost not reported"
        turns = f", {self.turns} turns" if self.turns is not None else ""
        return f"{self.tokens_in} tokens in, {self.tokens_out} out, {cost}{turns}"


def _sum(a, b):
    return None if a is None or b is None else a + b


_AIDER_TOKENS = re.compile(r"^Tokens: ([\d.]+k?) sent(?:, [\d.]+k? cache write)?(?:, ([\d.]+k?) cache hit)?, "
                           r"([\d.]+k?) received\.")
_AIDER_COST = re.compile(r"Cost: \$([\d.]+) message")


def pane_usage(text: str) -> AgentUsage:
    """The usage every run in one pane reported. A Claude Code run still at work (no result yet) counts
    with what its messages reported so far, each message once (its last report), its cost unknown."""
    total, working = AgentUsage(), {}
    for line in text.splitlines():
        if aider := _AIDER_TOKENS.match(line.strip()):
            total += _aider(aider, line)
            continue
        report = _report(line)
        if report.get("type") == "assistant":
            message = report["message"]
            working[message.get("id")] = _claude(message["usage"], None, None)
        elif report:
            total, working = total + _reported(report), {}  # a result covers the messages before it
    return sum(working.values(), total)


def team_usage(panes: Iterable[str]) -> AgentUsage:
    return sum((pane_usage(text) for text in panes), AgentUsage())


def session_usage(text: str) -> AgentUsage:
    """The usage one session file of a TUI holds. Claude Code's has each model message as its stream-json
    does (read like a pane's, its cost unknown); Codex's has running totals ("token_count" events), of
    which the last counts."""
    last = None
    for line in text.splitlines():
        if '"token_count"' in line and '"total_token_usage"' in line:
            last = line
    if last is None:
        return pane_usage(text)
    try:
        usage = json.loads(last)["payload"]["info"]["total_token_usage"]
    except (ValueError, KeyError, TypeError):
        return AgentUsage()
    return _codex(usage)


def _report(line: str) -> dict:
    """A JSON line that reports usage (a final report, or a Claude Code message); {} for any other."""
    line = line.strip()
    if not (line.startswith("{") and '"usage"' in line):
        return {}
    try:
        report = json.loads(line)
    except ValueError:
        return {}
    if not isinstance(report, dict):
        return {}
    if report.get("type") == "assistant":
        message = report.get("message")
        return report if isinstance(message, dict) and isinstance(message.get("usage"), dict) else {}
    if report.get("type") in ("result", "turn.completed") and isinstance(report.get("usage"), dict):
        return report
    return {}


def _reported(report: dict) -> AgentUsage:
    usage = report["usage"]
    if report["type"] == "result":
        return _claude(usage, float(report.get("total_cost_usd") or 0), int(report.get("num_turns") or 0))
    return _codex(usage)


def _codex(usage: dict) -> AgentUsage:
    """Codex counts cached input as a part of input_tokens, and gives no cost."""
    return AgentUsage(int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0), None, None, 1)


def _aider(tokens: re.Match, line: str) -> AgentUsage:
    def count(shown: str | None) -> int:
        return round(float(shown[:-1]) * 1000) if shown and shown.endswith("k") else int(float(shown or 0))

    cost = float(found[1]) if (found := _AIDER_COST.search(line)) else None
    return AgentUsage(count(tokens[1]) + count(tokens[2]), count(tokens[3]), cost, None, 1, cost or 0.0)


def _claude(usage: dict, cost_usd: float | None, turns: int | None) -> AgentUsage:
    """Claude Code counts cached input apart from input_tokens."""
    tokens_in = sum(int(usage.get(k) or 0) for k in ("input_tokens", "cache_creation_input_tokens",
                                                        "cache_read_input_tokens"))
    return AgentUsage(tokens_in, int(usage.get("output_tokens") or 0), cost_usd, turns, 1, cost_usd or 0.0)


def ended_in_error(text: str) -> bool:
    """The pane's last run reported that it failed (Claude Code's result `is_error`, Codex's
    "turn.failed"), whatever its exit status said: Claude Code may exit 0 after a failed request."""
    for line in reversed(text.splitlines()):
        stripped = line.strip()
        if not stripped.startswith('{"'):
            continue
        try:
            report = json.loads(stripped)
        except ValueError:
            continue
        if isinstance(report, dict) and report.get("type") in ("result", "turn.failed", "turn.completed"):
            return bool(report.get("is_error")) or report["type"] == "turn.failed"
    return False


def unread_lines(seen: str, text: str) -> str:
    """The lines of a pane's `text` not yet read whole when it showed `seen`. A line still being
    written at the last look is read again from its start: its tail alone would not begin as the JSON
    report it is, and would be taken for the agent's own words. A pane that no longer begins as it
    did (its history scrolled away, a TUI redrawn) is read again in full."""
    if not text.startswith(seen):
        return text
    last_line = seen.rfind("\n") + 1
    if text[last_line:].split("\n", 1)[0] == seen[last_line:]:
        return text[len(seen):]  # the last line seen was already whole
    return text[last_line:]


def own_words(line: str) -> str:
    """What a pane line says in the agent's own words, where a usage-limit message would be: a text
    line as it is, but of a JSON report only its error. The rest of a report is the work itself (a
    tool's output, a file the agent read, the model's answer), and a spec that mentions a "rate
    limit" must not pause the team."""
    stripped = line.strip()
    if not stripped.startswith('{"'):
        return line
    try:
        report = json.loads(stripped)
    except ValueError:
        return ""  # a report cut short: still no words of the agent's own
    if not isinstance(report, dict):
        return ""
    if report.get("is_error"):  # Claude Code's result of a failed run
        return str(report.get("result", ""))
    if report.get("subtype") == "api_retry":  # Claude Code retrying a failed request
        return (f"API Error: {report.get('error_status')} {report.get('error')} "
                f"(retry {report.get('attempt')} of {report.get('max_retries')})")
    error = report.get("error") or (report.get("message") if report.get("type") == "error" else None)
    return (error if isinstance(error, str) else json.dumps(error)) if error else ""
