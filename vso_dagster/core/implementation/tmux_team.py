"""A slice's agent team in tmux: one session per slice (`vso-<slice-id>`), one window per role.

Agents start with argv lists (tmux execs them directly: no shell). Messages are delivered through
a tmux paste buffer, never typed key by key (unless a Tmux-Orchestrator checkout is to carry them),
and each carries a nonce that must show on the pane,
so a message is delivered once and verified, even while the agent is busy. Readiness is detected
by polling the pane, never waited for with fixed sleeps.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import libtmux
from libtmux.exc import LibTmuxException

from ..base.budget import NO_BUDGET, Budget
from ..base.config import AgentSpec, Limits
from ..base.errors import VSOError
from ..base.process_group import is_running, process_identity
from ..base.secrets import SECRET_VARIABLES, agent_env
from .agent_home import AgentHome
from .agent_usage import AgentUsage, ended_in_error, own_words, session_usage, team_usage, unread_lines
from .api_faults import api_fault
from .exit_record import read_status, runner_argv
from .team_watchdog import WINDOW as WATCHDOG_WINDOW
from .team_watchdog import save_pane_log, watchdog_argv

BATCH_GRACE_S = 30.0  # how long a batch agent may take to end its turn once the done marker is there
POLL_S = 0.05


class TeamError(VSOError):
    """The team could not finish: the reason is the message (timeout, crashes, lost tmux server)."""


@dataclass
class Member:
    role: str
    argv: list[str]
    restarts: int = 0
    seen: str = ""
    finished: bool = False
    fault: str = ""  # the last API fault noted, so a pane redrawn is not noted again


def team_session(slice_id: str) -> str:
    """The tmux session of a slice's team."""
    return f"vso-{slice_id}"


# A session option naming the VSO process (pid and start time) that runs the team.
OWNER_OPTION = "@vso_process"


@dataclass
class Team:
    server: libtmux.Server
    slice_id: str
    workdir: Path
    agent: AgentSpec
    limits: Limits
    log_dir: Path
    exits_dir: Path  # how each agent ended, as its runner wrote it (tmux 3.3a may not say)
    budget: Budget = NO_BUDGET
    home: AgentHome | None = None  # the CLI's own config home, set in each pane
    # A Tmux-Orchestrator checkout's send-claude-message.sh, which then carries every message.
    messenger: Path | None = None
    members: dict[str, Member] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    usage: AgentUsage = field(default_factory=AgentUsage)  # reported so far; read only when a budget caps it

    @property
    def session(self) -> str:
        return team_session(self.slice_id)

    # --- tmux ------------------------------------------------------------------------------------
    def tmux(self, *args: str) -> list[str]:
        """tmux's answer. A call on the session that fails because the session went meanwhile (its server
        killed between two looks) says so, as every other look at a gone session does."""
        try:
            result = self.server.cmd(*args)
            said = " ".join(result.stderr).strip() if result.returncode != 0 else None
        except LibTmuxException as exc:
            said = str(exc)
        if said is None:
            return result.stdout
        if args[0] != "new-session" and not self.alive():
            raise self._gone()
        raise TeamError(f"tmux {args[0]} failed: {said}")

    def alive(self) -> bool:
        try:
            return self.server.cmd("has-session", "-t", f"={self.session}").returncode == 0
        except LibTmuxException:
            return False

    def target(self, role: str) -> str:
        return f"={self.session}:{role}"

    # --- lifecycle -------------------------------------------------------------------------------
    def claim(self) -> None:
        """Makes the slice's session name free for this team, or refuses, touching nothing: a
        session another VSO process runs (or someone else started) is never closed from here."""
        if self.alive() and self._orphaned():
            # The VSO process that ran this team was killed: its agents would work on for nobody.
            self.server.cmd("kill-session", "-t", f"={self.session}")
            self.note("closed the team a killed VSO process had left running")
        if self.alive():
            raise TeamError(f"tmux session {self.session} already runs a team for this slice; "
                            f"`vso stop {self.slice_id}` first")

    def start(self, roles: tuple[str, ...], argv_for: Callable[[str], list[str]],
              home: AgentHome | None = None) -> None:
        # Each window opens on a placeholder that waits (`cat`), is told to keep its pane when the
        # agent exits (so a crash is seen, and the agent restarted in place), and only then gets the
        # agent: an agent that dies at once cannot take its window with it before that.
        placeholder = ["env", "--", "cat"]
        self.home = home
        for index, role in enumerate(roles):
            self.members[role] = Member(role, argv_for(role))
            if index == 0:
                self.tmux("new-session", "-d", "-s", self.session, "-n", role, "-c", str(self.workdir),
                          "-x", "200", "-y", "50", *placeholder)
            else:
                self.tmux("new-window", "-d", "-t", f"={self.session}", "-n", role, "-c", str(self.workdir),
                          *placeholder)
            self.tmux("set-option", "-w", "-t", self.target(role), "remain-on-exit", "on")
            if index == 0:
                self._drop_deploy_tokens()
                self._guard(roles)
            self.spawn(role)
        self.note(f"team started: {', '.join(roles)} ({self.agent.name}, {self.agent.mode})")

    def _drop_deploy_tokens(self) -> None:
        """The tmux server keeps the environment of the VSO that started it, and every agent it
        starts gets that environment (or reads it with `tmux show-environment -g`): VSO's deploy
        tokens are removed from it before any agent starts (see secrets.agent_env)."""
        unset = [arg for name in SECRET_VARIABLES for arg in ("set-environment", "-g", "-u", name, ";")]
        self.server.cmd(*unset[:-1])  # a name that is not set is no error worth stopping for

    def _guard(self, roles: tuple[str, ...]) -> None:
        """Names this VSO process in the session, and starts the watchdog window that closes the
        session once that process is gone (team_watchdog.py), before any agent starts: if VSO is
        killed, its agents stop too. A session whose watchdog was killed as well is taken over by
        the next claim."""
        owner = process_identity()
        self.tmux("set-option", "-t", f"={self.session}:", OWNER_OPTION, owner)
        self.tmux("new-window", "-d", "-t", f"={self.session}", "-n", WATCHDOG_WINDOW, "-c", str(self.workdir),
                  "env", "--", *watchdog_argv(owner, self.session, self.log_dir, roles))

    def _orphaned(self) -> bool:
        """A session VSO started whose VSO process no longer runs (a session without the option,
        started by someone else, is never taken over)."""
        shown = self.server.cmd("show-options", "-v", "-t", f"={self.session}:", OWNER_OPTION)
        owner = (shown.stdout or [""])[0].strip() if shown.returncode == 0 else ""
        return bool(owner) and not is_running(owner)

    def stop(self, grace_s: float = 5.0) -> None:
        """Saves the panes' logs and closes the session, then waits (up to `grace_s`) for the agents
        to exit: a CLI writes its config on its way out, and its home must not be removed before."""
        self.save_logs()
        if self.alive():
            shown = self.server.cmd("list-panes", "-s", "-t", f"={self.session}", "-F", "#{pane_pid}").stdout
            agents = [process_identity(int(pid)) for pid in shown if pid.strip().isdigit()]
            self.server.cmd("kill-session", "-t", f"={self.session}")
            self.note("team session closed")
            deadline = time.monotonic() + grace_s
            while time.monotonic() < deadline and any(is_running(agent) for agent in agents):
                time.sleep(POLL_S)
        shutil.rmtree(self.exits_dir, ignore_errors=True)

    def note(self, message: str) -> None:
        self.events.append(message)

    # --- panes -----------------------------------------------------------------------------------
    def screen(self, role: str) -> str:
        return "\n".join(self.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", self.target(role)))

    def dead(self, role: str) -> bool:
        return self.exit_status(role) != "running"

    def exit_status(self, role: str) -> int | str:
        """"running", the agent's exit status, -1 for a signal, or "unknown". The agent's runner wrote
        how it ended; tmux's own record, which 3.3a often leaves out, serves only if the runner did not."""
        out = self.tmux("display-message", "-p", "-t", self.target(role),
                        "#{pane_dead} #{pane_dead_status} #{pane_dead_signal}")
        dead, status, signal = ((out[0] if out else "") + "  ").split(" ")[:3]
        if dead != "1":
            return "running"
        if (recorded := read_status(self.status_file(role))) is not None:
            return max(recorded, -1)
        if status.isdigit():
            return int(status)
        return -1 if signal else "unknown"

    def status_file(self, role: str) -> Path:
        return self.exits_dir / role

    def wait_ready(self, role: str, timeout_s: float = 30.0) -> None:
        """The agent shows its prompt (ready_pattern), or, without one, its screen stops changing."""
        pattern = re.compile(self.agent.ready_pattern, re.M) if self.agent.ready_pattern else None
        deadline, last, stable_since = time.monotonic() + timeout_s, None, time.monotonic()
        while time.monotonic() < deadline:
            if self.dead(role):
                self._restart_or_give_up(role)  # a crash at start gets the restarts any crash gets
                last, stable_since = None, time.monotonic()
                continue
            text = self.screen(role)
            if pattern and pattern.search(text):
                return
            if text != last:
                last, stable_since = text, time.monotonic()
            elif not pattern and text.strip() and time.monotonic() - stable_since >= 0.3:
                return
            time.sleep(POLL_S)
        raise TeamError(f"{role}: the agent did not become ready within {timeout_s:.0f}s "
                        f"(its pane ends: {self._tail(role)})")

    def deliver(self, role: str, text: str, timeout_s: float = 10.0) -> str:
        """Pastes `text` plus a nonce line into the role's pane (or has the messenger script type it),
        presses Enter, and waits until the nonce shows on the pane. Returns the nonce. Never re-sends:
        a message is delivered once."""
        nonce = uuid.uuid4().hex[:12]
        body = f"{text.rstrip()}\n[vso message {nonce}]"
        if self.messenger:
            self._send_through(self.messenger, role, body)
        else:
            self._paste(role, body, f"vso-{nonce}")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if nonce in (screen := self.screen(role)):
                self.note(f"{role}: message {nonce} delivered ({len(text)} characters)")
                if role in self.members:
                    # The echo of our own message is not the agent's output; what follows it may be.
                    end = screen.index(nonce) + len(nonce) + 1
                    self.members[role].seen = screen[:end]
                return nonce
            time.sleep(POLL_S)
        raise TeamError(f"{role}: message {nonce} did not show on the pane within {timeout_s:.0f}s "
                        f"(the pane ends: {self._tail(role)})")

    def _paste(self, role: str, body: str, buffer: str) -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=True) as handle:
            handle.write(body)
            handle.flush()
            self.tmux("load-buffer", "-b", buffer, handle.name)
        before = self.screen(role)
        self.tmux("paste-buffer", "-d", "-p", "-b", buffer, "-t", self.target(role))
        self._settle(role, before)
        self.tmux("send-keys", "-t", self.target(role), "Enter")

    def _send_through(self, messenger: Path, role: str, body: str) -> None:
        """Tmux-Orchestrator's send-claude-message.sh types the message into the pane and presses
        Enter. Its scripts address tmux's default server: $TMUX points them at the team's own."""
        socket = self.tmux("display-message", "-p", "-t", f"={self.session}:", "#{socket_path},#{pid},0")[0]
        try:
            done = subprocess.run([str(messenger), f"{self.session}:{role}", body], capture_output=True, text=True,
                                  timeout=120, stdin=subprocess.DEVNULL, env={**agent_env(), "TMUX": socket})
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise TeamError(f"{role}: {messenger} did not deliver the message ({exc})") from None
        if done.returncode != 0:
            said = " | ".join(line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip())
            raise TeamError(f"{role}: {messenger} failed with exit status {done.returncode}: {said[-300:]}")

    def _settle(self, role: str, before: str, timeout_s: float = 3.0, quiet_s: float = 0.2) -> None:
        """Waits until a paste has shown on the pane and the pane is still again: a TUI that is still
        taking a paste in (Claude Code folds a long one into "[Pasted text]") reads an Enter pressed
        meanwhile as part of it, and the message is never sent."""
        deadline, last, still_since = time.monotonic() + timeout_s, before, time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(POLL_S)
            text = self.screen(role)
            if text != last:
                last, still_since = text, time.monotonic()
            elif text != before and time.monotonic() - still_since >= quiet_s:
                return

    def spawn(self, role: str) -> None:
        """(Re)starts the role's agent in its pane, under the runner that records how it ends. tmux
        execs a command of two or more arguments itself, so no shell ever sees the agent's argv."""
        env = self.home.env if self.home else {}
        environment = [arg for name, value in env.items() for arg in ("-e", f"{name}={value}")]
        status = self.status_file(role)
        status.parent.mkdir(parents=True, exist_ok=True)
        status.unlink(missing_ok=True)
        self.tmux("respawn-pane", "-k", "-t", self.target(role), "-c", str(self.workdir), *environment,
                  *runner_argv(status, self.members[role].argv))

    def _restart_or_give_up(self, role: str) -> None:
        """A dead agent is started again in its pane, up to `max_restarts` times."""
        member = self.members[role]
        if member.restarts >= self.limits.max_restarts:
            raise TeamError(f"{role}: the agent exited {member.restarts + 1} times; giving up "
                            f"(its pane ends: {self._tail(role)})")
        member.restarts += 1
        self.spawn(role)
        self.note(f"{role}: agent restarted ({member.restarts}/{self.limits.max_restarts})")

    def _tail(self, role: str, lines: int = 3) -> str:
        """The pane's last non-blank lines, for a failure's reason."""
        said = [line.strip() for line in self.screen(role).splitlines() if line.strip()]
        return " | ".join(said[-lines:])[-300:]

    def save_logs(self, summary_lines: int = 5) -> None:
        """Each pane's whole history to `<log_dir>/<role>.log`, and its last lines to the events,
        so the run log shows what each agent did last."""
        if not self.alive():
            return
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for role in self.members:
            try:
                text = self.screen(role)
            except TeamError:
                continue
            save_pane_log(self.log_dir, role, text)
            last = [line for line in text.splitlines() if line.strip()][-summary_lines:]
            self.note(f"{role} (last lines of {role}.log): " + " | ".join(line.strip()[:160] for line in last))

    # --- the watch -------------------------------------------------------------------------------
    def watch(self, done: Callable[[], bool], brief: Callable[[str], None],
              progress: Callable[[], str] = lambda: "") -> None:
        """Until `done()`: restart dead agents (up to the limit), pause on usage-limit messages, nudge
        an idle team once and then fail, and fail at the overall timeout or once the team has spent its
        budget. `progress()` is any extra sign of work (the branch head, say). A lost tmux server or
        session fails with that reason."""
        started = last_activity = time.monotonic()
        nudged = False
        seen_progress = progress()
        while not done():
            now = time.monotonic()
            if now - started > self.limits.timeout_s:
                raise TeamError(f"timed out after {self.limits.timeout_s:.0f}s without the done marker")
            try:
                active, paused = self._look(done, brief)
            except TeamError:
                if not self.alive():
                    raise self._gone() from None
                raise
            started += paused
            if reason := self.budget.over(self.usage.spent((time.monotonic() - started) / 60)):
                raise TeamError(f"stopped over budget: {reason}")
            if all(m.finished for m in self.members.values()) and not done():
                raise TeamError("every agent exited without writing the done marker")
            if (current := progress()) != seen_progress:
                seen_progress, active = current, True
            if active:
                last_activity, nudged = now, False
            elif now - last_activity > self.limits.idle_s:
                if nudged:
                    raise TeamError(f"no progress for {self.limits.idle_s:.0f}s after a nudge; giving up")
                nudged, last_activity = True, now
                self._tell_live_agents("VSO: no progress seen for a while. Continue with your task, "
                                       "or write the done marker if the unit tests pass.")
            time.sleep(POLL_S * 4)

    def let_batch_agents_finish(self, grace_s: float = BATCH_GRACE_S) -> None:
        """A batch agent that wrote the done marker still ends its turn (its last answer, its report of
        what it spent): wait up to `grace_s` for every batch agent to exit before the session closes."""
        if self.agent.mode != "batch":
            return
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and self.alive() and not all(self.dead(role) for role in self.members):
            time.sleep(POLL_S)

    def _gone(self) -> TeamError:
        return TeamError(f"the tmux session {self.session} is gone (tmux server killed or session closed)")

    def _look(self, done: Callable[[], bool], brief: Callable[[str], None]) -> tuple[bool, float]:
        """One look at every pane. Returns whether anything moved, and how long it paused."""
        if not self.alive():
            raise self._gone()
        active, paused = False, 0.0
        for role, member in self.members.items():
            text = self.screen(role)
            if text != member.seen:
                fresh = unread_lines(member.seen, text)
                member.seen, active = text, True
                fault = api_fault(fresh)
                if fault and fault.final:
                    raise TeamError(f"{role}: {self.agent.name} stopped: {fault.reason} ({fault.said}); set the "
                                    "right API key in the environment VSO runs in (its agents get it from there), "
                                    "then run again")
                if fault and fault.said != member.fault:
                    member.fault = fault.said
                    self.note(f"{role}: {fault.reason}, {self.agent.name} retries: {fault.said}")
                if self._usage_limit(fresh):
                    self.note(f"{role}: usage limit reported; pausing {self.limits.usage_limit_wait_s:.0f}s")
                    time.sleep(self.limits.usage_limit_wait_s)
                    paused += self.limits.usage_limit_wait_s
                    self._tell_live_agents("VSO: retrying after the usage limit. Continue with your task.", [role])
            status = self.exit_status(role)
            if status in (0, "unknown") and self.agent.mode == "batch" and not ended_in_error(member.seen):
                member.finished = True  # a batch agent exits when it is done: that is no crash
            elif status != "running" and not done():
                self._restart_or_give_up(role)
                if self.agent.mode == "interactive":
                    brief(role)
                active = True
        if active and self.budget.caps:  # every report so far is parsed: only when a cap needs it
            self.usage = self.reported_usage(fresh=False)
        return active, paused

    def reported_usage(self, fresh: bool = True) -> AgentUsage:
        """What the agents reported spending so far. A TUI shows none in its pane, but keeps it in its
        session files; a one-shot run prints it in its pane (read as last seen, or `fresh` from tmux)."""
        if self.home and self.agent.mode == "interactive":
            return sum((session_usage(text) for text in self.home.transcripts()), AgentUsage())
        return team_usage(self.screen(role) if fresh else member.seen for role, member in self.members.items())

    def _usage_limit(self, text: str) -> bool:
        # One line of words: a CLI may wrap its message (Aider does, at 80 columns).
        said = " ".join(" ".join(own_words(line) for line in text.splitlines()).split()).lower()
        return any(p.lower() in said for p in self.limits.usage_limit_patterns)

    def _tell_live_agents(self, message: str, roles: list[str] | None = None) -> None:
        if self.agent.mode != "interactive":
            return
        for role in roles or list(self.members):
            if not self.dead(role):
                self.deliver(role, message)
