"""Runs a slice's agent team in tmux until the team says it is done (the marker file)."""

from __future__ import annotations

import logging
import os
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import libtmux

from ..base.budget import NO_BUDGET, Budget
from ..base.config import TMUX_ORCHESTRATOR_SCRIPTS, Config, agent_argv
from ..base.gitrun import git
from ..base.model import WORKER
from ..base.plan import PlannedSlice
from ..base.project import SLICES_DIR, Project
from ..base.slice_environment import slice_environment
from ..base.slice_files import implementation_file
from ..base.state import record_team_spend
from ..base.templating import render
from ..base.worktrees import Worktree, head
from .agent_home import prepare_home
from .agent_usage import AgentUsage
from .slice_teams import SliceTeam, slice_team
from .tmux_team import Team, TeamError, team_session

log = logging.getLogger("vso.implement")
MARKER = ".vso-done.md"
MESSENGER, SCHEDULER = TMUX_ORCHESTRATOR_SCRIPTS


def unit_test_command(s: PlannedSlice, pytest: Sequence[str]) -> str:
    """The slice's unit tests as a team runs them (from the worktree's root, in a shell), as VSO
    judges the slice (its environment's pytest): a bare `python` may be another one, without the
    slice's dependencies."""
    return shlex.join([*pytest, f"{SLICES_DIR}/{s.slice_id}/tests/unit"])


def briefings(project: Project, s: PlannedSlice, worktree: Worktree, config: Config, team: SliceTeam,
              test_command: str) -> dict[str, Path]:
    """One briefing per role, from templates/agents/briefing.md.j2 (with the section of the slice's
    team type), kept under .slice-orchestrator/briefings/."""
    spec = (worktree.slice_dir / "spec.md").read_text()
    paths = {}
    for role in team.roles:
        path = project.state_dir / "briefings" / s.slice_id / f"{role}.md"
        project.write(path, render(
            "agents/briefing.md.j2", s=s, role=role, roles=team.roles, team=team.type, spec=spec,
            workdir=worktree.path, branch=worktree.branch, slice_dir=f"{SLICES_DIR}/{s.slice_id}",
            marker=worktree.path / MARKER,
            service=f"{SLICES_DIR}/{s.slice_id}/{implementation_file(s)}", worker=s.kind == WORKER,
            test_command=test_command, conflicted=worktree.conflicted, session=team_session(s.slice_id),
            messenger=_script(config, MESSENGER), scheduler=_script(config, SCHEDULER)))
        paths[role] = path
    return paths


def _script(config: Config, name: str) -> Path | None:
    """A script of the configured Tmux-Orchestrator checkout ([agent] tmux_orchestrator), if any."""
    return config.tmux_orchestrator / name if config.tmux_orchestrator else None


def tmux_server(config: Config) -> libtmux.Server:
    return libtmux.Server(socket_name=config.socket) if config.socket else libtmux.Server()


def attach_argv(config: Config, slice_id: str) -> list[str]:
    """`tmux attach` to the slice's team session, on VSO's socket."""
    socket = ["-L", config.socket] if config.socket else []
    return ["tmux", *socket, "attach-session", "-t", f"={team_session(slice_id)}"]


def stop_team(config: Config, slice_id: str) -> bool:
    """Closes the slice's team session; False when none runs. The worktree and logs stay."""
    server = tmux_server(config)
    target = f"={team_session(slice_id)}"
    try:
        if server.cmd("has-session", "-t", target).returncode != 0:
            return False
        return server.cmd("kill-session", "-t", target).returncode == 0
    except libtmux.exc.LibTmuxException:
        return False


@dataclass(frozen=True)
class TeamRun:
    events: tuple[str, ...]  # what happened, for the run log
    usage: AgentUsage  # what the agents reported spending
    restarts: int
    seconds: float
    crew: SliceTeam  # the team's type and roles


def run_team(project: Project, s: PlannedSlice, worktree: Worktree, config: Config,
             budget: Budget = NO_BUDGET) -> TeamRun:
    """Starts the team, briefs it, watches it until the marker appears; always closes the session.
    The team is held to `budget` (its run's) besides its slice's own ([agent] max_*).
    Raises TeamError with the reason when the team fails (what it spent is in the run log then)."""
    agent = config.agent
    assert agent is not None
    marker = worktree.path / MARKER
    marker.unlink(missing_ok=True)
    test_command = unit_test_command(s, slice_environment(project, worktree.slice_dir).pytest)
    crew = slice_team(s, config)
    paths = briefings(project, s, worktree, config, crew, test_command)
    team = Team(tmux_server(config), s.slice_id, worktree.path, agent, config.limits,
                project.make_dir(project.logs_dir / s.slice_id), project.make_cache_dir("agent-exits", s.slice_id),
                config.budget & budget, messenger=_script(config, MESSENGER))
    team.note(f"team type: {crew.type} ({crew.reason}); roles: {', '.join(crew.roles)}")

    def argv_for(role: str) -> list[str]:
        return agent_argv(agent.argv, briefing=str(paths[role]), role=role, slice_id=s.slice_id,
                          workdir=str(worktree.path), test_command=test_command)

    def brief(role: str) -> None:
        team.wait_ready(role)
        team.deliver(role, paths[role].read_text())

    if agent.needs_git_identity:
        require_git_identity(worktree, agent.name)
    team.claim()  # before the try: a refusal must not close the session it found
    home = prepare_home(agent.name, project.make_cache_dir("agent-homes") / s.slice_id, worktree.path,
                        os.environ, project.write)
    started = time.monotonic()
    try:
        team.start(crew.roles, argv_for, home)
        if agent.mode == "interactive":
            for role in crew.roles:
                brief(role)
        team.watch(done=marker.exists, brief=brief, progress=lambda: head(worktree))
        team.let_batch_agents_finish()
        team.note(f"done marker written: {marker.read_text().strip()[:200]}")
    except TeamError as error:
        team.note(f"failed: {error}")
        raise
    finally:
        usage = _spent(team)
        team.note(f"spent: {usage.summary()}")
        restarts, seconds = sum(m.restarts for m in team.members.values()), time.monotonic() - started
        record_team_spend(project, s.slice_id, {
            "tokens_in": usage.tokens_in, "tokens_out": usage.tokens_out, "cost_usd": usage.cost_usd,
            "cost_reported_usd": usage.cost_reported, "turns": usage.turns or 0, "restarts": restarts,
            "minutes": seconds / 60})
        try:
            team.stop()
        except TeamError:
            team.note("the tmux session could not be closed (server gone)")
        if home:
            home.remove()
        for line in team.events:
            log.info("%s: %s", s.slice_id, line)
    return TeamRun(tuple(team.events), usage, restarts, seconds, crew)


def require_git_identity(worktree: Worktree, agent: str) -> None:
    """Refuses, before any agent starts, a team whose agent would write a placeholder git identity
    into the project's .git/config (every worktree shares it)."""
    missing = [key for key in ("user.name", "user.email") if not git(worktree.path, "config", key, check=False)]
    if missing:
        raise TeamError(f"{agent} commits as the git user, and {' and '.join(missing)} "
                        f"{'is' if len(missing) == 1 else 'are'} not set: run "
                        f"`git config --global user.name \"Your Name\"` and `git config --global user.email "
                        f"you@example.com` (or set them in this repository), then run again")


def _spent(team: Team) -> AgentUsage:
    """What the agents reported, read before the session closes and their home goes (nothing when
    the session is gone already)."""
    try:
        return team.reported_usage() if team.alive() else AgentUsage()
    except TeamError:
        return AgentUsage()
