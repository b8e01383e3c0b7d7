"""What an agent team spent, read from what the agents themselves reported in their panes.

Each one-shot CLI ends with a machine-readable report. Claude Code (`--output-format json`) prints one
JSON object of type "result": token counts, its cost in USD (it prices the model itself) and its
turns. Codex (`exec --json`) prints JSON lines, and each "turn.completed" holds the turn's token
counts, with no cost. A pane holds a report per run of its agent (a restarted agent reports again),
so a team's usage is the sum over every report in every pane. What no agent reported (an interactive
TUI, a cost Codex does not give) stays unknown: None, never a made-up zero.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class AgentUsage:
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = None  # None: some report gave no cost
    turns: int | None = None  # model turns, where the CLI counts them
    reports: int = 0  # how many reports were read: 0 means nothing is known

    def __add__(self, other: AgentUsage) -> AgentUsage:
        if not self.reports or not other.reports:
            return other if not self.reports else self
        return AgentUsage(self.tokens_in + other.tokens_in, self.tokens_out + other.tokens_out,
                          _sum(self.cost_usd, other.cost_usd), _sum(self.turns, other.turns),
                          self.reports + other.reports)

    def summary(self) -> str:
        if not self.reports:
            return "usage not reported by the agent"
        cost = f"${self.cost_usd:.4f}" if self.cost_usd is not None else "cost not reported"
        turns = f", {self.turns} turns" if self.turns is not None else ""
        return f"{self.tokens_in} tokens in, {self.tokens_out} out, {cost}{turns}"


def _sum(a, b):
    return None if a is None or b is None else a + b


def pane_usage(text: str) -> AgentUsage:
    """The usage every run in one pane reported."""
    return sum((_reported(line) for line in text.splitlines()), AgentUsage())


def team_usage(panes: Iterable[str]) -> AgentUsage:
    return sum((pane_usage(text) for text in panes), AgentUsage())


def _reported(line: str) -> AgentUsage:
    line = line.strip()
    if not (line.startswith("{") and '"usage"' in line):
        return AgentUsage()
    try:
        report = json.loads(line)
    except ValueError:
        return AgentUsage()
    if not isinstance(report, dict) or not isinstance(report.get("usage"), dict):
        return AgentUsage()
    usage = report["usage"]
    if report.get("type") == "result":  # Claude Code: cached input counts apart from input_tokens
        tokens_in = sum(int(usage.get(k) or 0) for k in ("input_tokens", "cache_creation_input_tokens",
                                                            "cache_read_input_tokens"))
        return AgentUsage(tokens_in, int(usage.get("output_tokens") or 0), float(report.get("total_cost_usd") or 0),
                          int(report.get("num_turns") or 0), 1)
    if report.get("type") == "turn.completed":  # Codex: cached input is a part of input_tokens
        return AgentUsage(int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0), None, None, 1)
    return AgentUsage()
