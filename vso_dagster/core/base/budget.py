"""What agent teams may spend: `max_tokens`, `max_cost_usd` and `max_minutes` under `[agent]`, per
slice (one team run), and the same keys with `run_` in front for everything one `vso orchestrate`
spends.

A budget is a set of caps, each named by the config key that set it, so the reason a team stopped
can name the key to raise. A team started by an orchestrate is held to its slice's caps and to the
run's, with what the run's earlier teams spent counted against them already.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

MEASURES = ("tokens", "cost_usd", "minutes")  # what a cap measures: fields of Spent


@dataclass(frozen=True)
class Spent:
    """What agent teams spent: tokens in and out together, the cost they reported (a CLI that reports
    none, such as Codex, adds nothing: a cost cap cannot hold it), and the teams' wall minutes."""

    tokens: int = 0
    cost_usd: float = 0.0
    minutes: float = 0.0

    def __add__(self, other: Spent) -> Spent:
        return Spent(self.tokens + other.tokens, self.cost_usd + other.cost_usd, self.minutes + other.minutes)

    def __sub__(self, before: Spent) -> Spent:
        return Spent(self.tokens - before.tokens, self.cost_usd - before.cost_usd, self.minutes - before.minutes)

    @classmethod
    def of(cls, totals: dict) -> Spent:
        """From spend totals as state.json keeps them (`agent_spend`): the cost is what was reported."""
        return cls(int(totals.get("tokens_in") or 0) + int(totals.get("tokens_out") or 0),
                   float(totals.get("cost_reported_usd") or 0.0), float(totals.get("minutes") or 0.0))


@dataclass(frozen=True)
class Cap:
    key: str  # the config key that set it: max_tokens, run_max_cost_usd, ...
    measure: str  # one of MEASURES
    limit: float
    already: float = 0.0  # spent before the team this cap now holds started (by the run's earlier teams)

    def over(self, spent: Spent) -> str | None:
        value = self.already + getattr(spent, self.measure)
        if value < self.limit:
            return None
        return f"spent {_shown(value, self.measure)} of [agent] {self.key} = {_shown(self.limit, self.measure)}"


@dataclass(frozen=True)
class Budget:
    caps: tuple[Cap, ...] = ()

    def over(self, spent: Spent) -> str | None:
        """Why `spent` has reached the budget, naming the key to raise; None while within it."""
        return next((reason for cap in self.caps if (reason := cap.over(spent))), None)

    def after(self, spent: Spent) -> Budget:
        """The caps, with `spent` counted against them already."""
        return Budget(tuple(Cap(c.key, c.measure, c.limit, c.already + getattr(spent, c.measure))
                            for c in self.caps))

    def __and__(self, other: Budget) -> Budget:
        return Budget(self.caps + other.caps)

    def to_tag(self) -> str:
        return json.dumps([[c.key, c.measure, c.limit, round(c.already, 6)] for c in self.caps])

    @classmethod
    def from_tag(cls, text: str | None) -> Budget:
        return cls(tuple(Cap(key, measure, float(limit), float(already))
                         for key, measure, limit, already in json.loads(text or "[]")))


NO_BUDGET = Budget()


def parse_budget(section: dict, prefix: str = "") -> Budget:
    """The caps `[agent]` sets under `<prefix>max_<measure>`; a missing key is no cap."""
    caps = []
    for measure in MEASURES:
        key = f"{prefix}max_{measure}"
        if key not in section:
            continue
        value = section[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ValueError(f"[agent] {key} must be a number above 0, not {value!r}")
        caps.append(Cap(key, measure, float(value)))
    return Budget(tuple(caps))


def _shown(value: float, measure: str) -> str:
    if measure == "cost_usd":
        return f"${value:.2f}"
    if measure == "tokens":
        return f"{value:,.0f} tokens"
    return f"{value:.2f} minutes"
