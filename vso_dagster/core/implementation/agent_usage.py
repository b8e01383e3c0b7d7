"""What an agent team spent, read from what the agents themselves reported in their panes.

A one-shot Claude Code (`--output-format json`) ends with one JSON object of type "result" that
holds its token counts, its cost in USD (Claude Code prices the model itself), its turns and its
duration. A pane holds one per run of the agent (a restarted agent reports again), so a team's usage
is the sum over every such line of every pane. An agent that reports nothing (an interactive TUI,
another CLI) leaves the counts unknown: None, never a made-up zero.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class AgentUsage:
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    turns: int = 0
    reports: int = 0  # how many runs reported: 0 means nothing is known

    def __add__(self, other: AgentUsage) -> AgentUsage:
        return AgentUsage(self.tokens_in + other.tokens_in, self.tokens_out + other.tokens_out,
                          self.cost_usd + other.cost_usd, self.turns + other.turns, self.reports + other.reports)

    def summary(self) -> str:
        if not self.reports:
            return "usage not reported by the agent"
        return (f"{self.tokens_in} tokens in, {self.tokens_out} out, ${self.cost_usd:.4f}, "
                f"{self.turns} turns")


def pane_usage(text: str) -> AgentUsage:
    """The usage every run in one pane reported (Claude Code's JSON result lines)."""
    return sum((_reported(line) for line in text.splitlines()), AgentUsage())


def team_usage(panes: Iterable[str]) -> AgentUsage:
    return sum((pane_usage(text) for text in panes), AgentUsage())


def _reported(line: str) -> AgentUsage:
    line = line.strip()
    if not (line.startswith("{") and '"type":"result"' in line.replace(" ", "")):
        return AgentUsage()
    try:
        result = json.loads(line)
    except ValueError:
        return AgentUsage()
    if not isinstance(result, dict) or result.get("type") != "result":
        return AgentUsage()
    usage = result.get("usage") or {}
    tokens_in = sum(int(usage.get(k) or 0) for k in ("input_tokens", "cache_creation_input_tokens",
                                                        "cache_read_input_tokens"))
    return AgentUsage(tokens_in, int(usage.get("output_tokens") or 0), float(result.get("total_cost_usd") or 0.0),
                      int(result.get("num_turns") or 0), 1)
