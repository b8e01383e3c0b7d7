"""`.slice-orchestrator/config.toml`: which agent builds slices, team size, limits, tmux socket."""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

from .budget import NO_BUDGET, Budget, parse_budget
from .errors import Diagnostic, VSOError
from .model import DEPLOY_TARGETS, TEAM_TYPES
from .names import IDENTIFIER, slugify
from .project import Project
from .secrets import SECRET_VARIABLES

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# What Dagster accepts as an asset owner: a team or an email address.
OWNER = re.compile(r"team:[A-Za-z0-9_-]+|[^@\s]+@[^@\s]+\.[^@\s]+")
# A remote's name as `git remote add` takes it; never an option (a leading "-").
REMOTE_NAME = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_./-]*")
# auto: in the `vso` process when the instance's run launcher is Dagster's default, else submitted.
LAUNCH_MODES = ("auto", "in_process", "submit")
# Where a run works: "shared", in the one checkout every run sees (this machine, or one mounted where
# the runs execute); "git", in the clone of the machine it executes on, which git keeps in step
# (core/base/remote_checkout.py) while its results travel in the Dagster instance.
CHECKOUTS = ("shared", "git")
# How many of its type's roles a team has (templates/agents/teams.toml lists them, most needed first).
TEAM_SIZES = {"small": 2, "medium": 3, "large": 4}


@dataclass(frozen=True)
class AgentSpec:
    """How to start one coding agent. Each argv element is one argument: nothing reaches a shell."""

    name: str
    argv: tuple[str, ...]
    mode: str  # interactive | batch
    ready_pattern: str | None = None
    # A one-shot run with no pane (spec refinement): the CLI's own non-interactive form, and whether
    # the briefing's text goes to its stdin (claude -p and codex exec - read it there).
    batch_argv: tuple[str, ...] = ()
    batch_stdin: bool = False
    # `mode = "batch"` in a team pane: the same one-shot form, told in its prompt where its briefing
    # is (a pane has no stdin to pipe the briefing into). The agent's argv in that mode.
    pane_batch_argv: tuple[str, ...] = ()
    # The agent commits as the git user and, with none set, writes a placeholder identity into the
    # repository's own .git/config (Aider does; two agents starting at once collide on that write).
    needs_git_identity: bool = False

    @property
    def one_shot_argv(self) -> tuple[str, ...]:
        return self.batch_argv or self.argv


def agent_argv(template: tuple[str, ...], **values: str) -> list[str]:
    """Fills {briefing}, {role}, {slice_id}, {workdir} and {test_command} (the slice's unit tests as
    one shell command line); anything else in braces stays as written."""
    argv = []
    for arg in template:
        for key, value in values.items():
            arg = arg.replace("{" + key + "}", value)
        argv.append(arg)
    return argv


# What a one-shot agent in a team pane is told: the rest is in the briefing.
BRIEFING_PROMPT = "Your briefing is the file {briefing}: read it, then do what it says."

# Codex's workspace-write sandbox blocks sockets, and a slice's unit tests need them: Starlette's
# TestClient hangs without (measured with codex-cli 0.171.0). Writes stay confined to the worktree.
CODEX_SOCKETS = ("-c", "sandbox_workspace_write.network_access=true")

# Aider answers its own questions with --yes-always, so none of them may be one a user would say no
# to: no self-update, no release notes, no analytics opt-in, no fetching the URLs a spec names. It
# has no shell a model can use, so in a team it runs the unit tests itself after each edit
# (--auto-test) and hands a failure back to the model. A refinement runs it with --no-git: in the
# project's own checkout it would commit what it finds there and add to its .gitignore. Checked with
# aider-chat 0.86.2.
AIDER = ("aider", "--yes-always", "--no-check-update", "--no-show-release-notes", "--no-analytics",
         "--no-detect-urls")
AIDER_TEAM = (*AIDER, "--test-cmd", "{test_command}", "--auto-test")

# Built-in adapters: argv templates a user can override in config.toml. Claude Code may edit files,
# read, and run commands, without asking (acceptEdits plus the allowed tools: it refuses
# --dangerously-skip-permissions as root). A one-shot run reads its prompt from stdin: a briefing can
# outgrow one command-line argument. In a team pane each one-shot CLI prints its usage as it works
# (Claude Code's stream-json needs --verbose), which is what a budget holds the team to. Codex's TUI
# runs without its shared background server (--no-daemon), which would outlive the team's session.
# Each interactive CLI is ready when its input prompt shows at the start of a line (a dialog's
# choices are indented). Checked with Claude Code 2.1.197 and codex-cli 0.171.0 (which no longer has
# --full-auto).
CLAUDE_TOOLS = ("--permission-mode", "acceptEdits", "--allowedTools", "Read", "Bash")
ADAPTERS = {
    "claude": AgentSpec("claude", ("claude", *CLAUDE_TOOLS), "interactive", "^\u276f(\\s|$)",
                        ("claude", "-p", "--permission-mode", "acceptEdits", "--output-format", "json"), True,
                        ("claude", "-p", *CLAUDE_TOOLS, "--output-format", "stream-json", "--verbose",
                         BRIEFING_PROMPT)),
    "codex": AgentSpec("codex", ("codex", "--no-daemon", "--sandbox", "workspace-write", *CODEX_SOCKETS,
                                 "--ask-for-approval", "never"), "interactive", "^\u203a(\\s|$)",
                       ("codex", "exec", "--sandbox", "workspace-write", "--skip-git-repo-check", "-"), True,
                       ("codex", "exec", "--json", "--sandbox", "workspace-write", *CODEX_SOCKETS,
                        "--skip-git-repo-check", BRIEFING_PROMPT)),
    "aider": AgentSpec("aider", AIDER_TEAM, "batch", "^>\\s*$", (*AIDER, "--no-git", "--message-file", "{briefing}"),
                       pane_batch_argv=(*AIDER_TEAM, "--message-file", "{briefing}"), needs_git_identity=True),
}


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 3600
    idle_s: float = 600
    max_restarts: int = 2
    # An account's limit, which a wait mends (a rate limit is the CLI's to retry: api_faults.py).
    usage_limit_patterns: tuple[str, ...] = ("usage limit", "hit your limit", "credit balance is too low",
                                             "quota exceeded", "exceeded your current quota")
    usage_limit_wait_s: float = 900
    concurrency: int = 2


@dataclass(frozen=True)
class HealthSettings:
    """[health]: how often the health sensor probes deployed slices, and how long one probe waits."""

    interval_s: int = 60
    timeout_s: float = 5.0


@dataclass(frozen=True)
class AlertSettings:
    """[alerts]: where the alerts sensor posts (or $VSO_ALERT_WEBHOOK_URL), and how often it looks."""

    webhook_url: str = ""
    interval_s: int = 30


@dataclass(frozen=True)
class TeamSettings:
    """[team]: who builds a slice. Its type's roles (templates/agents/teams.toml), as many as `size`
    says, unless config names the roles: for one type ([team.<type>] roles), or for every slice."""

    size: str = "large"
    roles: tuple[str, ...] = ()  # [team] roles: every slice's team, whatever its type
    by_type: dict[str, tuple[str, ...]] = field(default_factory=dict)  # [team.<type>] roles
    types: dict[str, str] = field(default_factory=dict)  # [team.types]: a component's name or slice ID -> type


@dataclass(frozen=True)
class Config:
    agent: AgentSpec | None  # None: the built-in scaffold agent
    team: TeamSettings = field(default_factory=TeamSettings)
    limits: Limits = field(default_factory=Limits)
    health: HealthSettings = field(default_factory=HealthSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    socket: str | None = "vso"
    refine_specs: bool = False
    platform: str = "local"  # where `vso deploy` and the deployment assets deploy unless told otherwise
    # ("planned": each slice where its plan says)
    remote: str = "origin"  # where a cloud deploy pushes the tested commit for its server to fetch
    repo_url: str = ""  # the URL that server clones from; "" = the remote's own URL
    pass_env: tuple[str, ...] = ()  # variables of VSO's environment a slice's own code also gets
    require_approval: bool = False  # production waits for `vso approve` once integration tests passed
    min_coverage: float = 80.0  # [tests]: the line coverage of a slice's implementation its unit tests must reach
    sync_branch: str = "main"  # the branch the git sensor and hooks watch
    commit_own_writes: bool = True  # VSO commits the files it regenerated (core/base/own_commits.py)
    nightly_timezone: str = "UTC"
    launch: str = "auto"  # where the `vso` command's Dagster runs execute (LAUNCH_MODES)
    checkout: str = "shared"  # where a run works (CHECKOUTS)
    owners: tuple[str, ...] = ()  # Dagster owners of every VSO asset ("team:name" or an email)
    group: str = ""  # one Dagster group for every VSO asset; "" keeps the stage groups
    budget: Budget = NO_BUDGET  # what one slice's team may spend ([agent] max_*)
    run_budget: Budget = NO_BUDGET  # what one `vso orchestrate` may spend ([agent] run_max_*)
    # A Tmux-Orchestrator checkout whose scripts carry the team's messages ([agent] tmux_orchestrator).
    tmux_orchestrator: Path | None = None

    @property
    def runs_in_clones(self) -> bool:
        """Whether a run works in the clone of the machine it executes on ([dagster] checkout = "git")."""
        return self.checkout == "git"


def load_config(project: Project) -> Config:
    path = project.state_dir / "config.toml"
    shown = project.relative(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return Config(agent=None, socket=project_socket(project))
    except tomllib.TOMLDecodeError as exc:
        line = int(m[1]) if (m := re.search(r"line (\d+)", str(exc))) else None
        raise VSOError(Diagnostic(shown, line, f"not valid TOML ({exc}); fix the syntax")) from None
    try:
        return Config(agent=_agent(raw.get("agent", {})), team=_team(raw.get("team", {})),
                      limits=_limits(raw.get("limits", {})), health=_health(raw.get("health", {})),
                      alerts=_alerts(raw.get("alerts", {})),
                      socket=_socket(raw.get("tmux", {}), project),
                      refine_specs=bool(raw.get("agent", {}).get("refine_specs", False)),
                      platform=_platform(raw.get("deploy", {})),
                      remote=_remote(raw.get("deploy", {})),
                      repo_url=str(raw.get("deploy", {}).get("repo_url", "")),
                      pass_env=_pass_env(raw.get("deploy", {})),
                      require_approval=_flag(raw.get("deploy", {}), "require_approval", False),
                      min_coverage=_percent(raw.get("tests", {}), "min_coverage", 80.0),
                      sync_branch=str(raw.get("sync", {}).get("branch", "main")),
                      commit_own_writes=_flag(raw.get("sync", {}), "commit", True),
                      nightly_timezone=_timezone(raw.get("sync", {})),
                      launch=_launch(raw.get("dagster", {})),
                      checkout=_checkout(raw.get("dagster", {})),
                      owners=_owners(raw.get("dagster", {})),
                      group=_group(raw.get("dagster", {})),
                      budget=parse_budget(raw.get("agent", {})),
                      run_budget=parse_budget(raw.get("agent", {}), "run_"),
                      tmux_orchestrator=_tmux_orchestrator(raw.get("agent", {}), project))
    except (TypeError, ValueError) as exc:
        raise VSOError(Diagnostic(shown, None, str(exc))) from None


def _agent(section: dict) -> AgentSpec | None:
    name = section.get("name", "scaffold")
    if name == "scaffold":
        return None
    base = ADAPTERS.get(name)
    if base is None and name != "custom":
        raise ValueError(f"[agent] name {name!r} is not one of scaffold, {', '.join(ADAPTERS)}, custom")
    mode = section.get("mode", base.mode if base else "interactive")
    if mode not in ("interactive", "batch"):
        raise ValueError(f"[agent] mode must be \"interactive\" or \"batch\", not {mode!r}")
    built_in = ((base.pane_batch_argv if mode == "batch" else ()) or base.argv) if base else None
    argv = section.get("argv", built_in)
    if not argv or not isinstance(argv, list | tuple) or not all(isinstance(a, str) for a in argv):
        raise ValueError("[agent] argv must be a list of strings, such as [\"my-agent\", \"{briefing}\"]")
    ready = section.get("ready_pattern", base.ready_pattern if base else None)
    if ready is not None:
        re.compile(ready)
    # A custom argv is the user's whole invocation: the built-in one-shot form no longer applies to it.
    custom = "argv" in section or base is None
    batch_argv = section.get("batch_argv", () if custom else base.batch_argv)
    if not isinstance(batch_argv, list | tuple) or not all(isinstance(a, str) for a in batch_argv):
        raise ValueError("[agent] batch_argv must be a list of strings, such as [\"my-agent\", \"--once\"]")
    batch_stdin = _flag(section, "batch_stdin", False if custom else base.batch_stdin)
    return AgentSpec(name, tuple(argv), mode, ready, tuple(batch_argv), batch_stdin,
                     needs_git_identity=bool(base and base.needs_git_identity))


# The scripts of a Tmux-Orchestrator checkout that VSO hands a team's messages to.
TMUX_ORCHESTRATOR_SCRIPTS = ("send-claude-message.sh", "schedule_with_note.sh")


def _tmux_orchestrator(section: dict, project: Project) -> Path | None:
    """`[agent] tmux_orchestrator`: a checkout's path (relative to the project root, or ~), whose
    scripts must be there and executable."""
    if "tmux_orchestrator" not in section:
        return None
    value = section["tmux_orchestrator"]
    if not isinstance(value, str) or not value:
        raise ValueError("[agent] tmux_orchestrator must be the path of a Tmux-Orchestrator checkout")
    path = project.root / Path(value).expanduser()
    missing = [name for name in TMUX_ORCHESTRATOR_SCRIPTS if not os.access(path / name, os.X_OK)]
    if missing:
        raise ValueError(f"[agent] tmux_orchestrator: {path} has no executable {' or '.join(missing)}; give the "
                         f"path of a Tmux-Orchestrator checkout (git clone "
                         f"https://github.com/Jedward23/Tmux-Orchestrator)")
    return path


def _team(section: dict) -> TeamSettings:
    size = section.get("size", "large")
    if size not in TEAM_SIZES:
        raise ValueError(f"[team] size must be one of {', '.join(TEAM_SIZES)}, not {size!r}")
    types = section.get("types", {})
    if not isinstance(types, dict) or not all(isinstance(v, str) for v in types.values()):
        raise ValueError('[team.types] maps a component\'s name or a slice ID to a team type, e.g. "Analytics" = '
                         '"data-pipeline"')
    if wrong := {name: kind for name, kind in types.items() if kind not in TEAM_TYPES}:
        name, kind = next(iter(wrong.items()))
        raise ValueError(f"[team.types] {name!r} = {kind!r}: not a team type; use one of: {', '.join(TEAM_TYPES)}")
    unknown = [key for key, value in section.items()
               if isinstance(value, dict) and key != "types" and key not in TEAM_TYPES]
    if unknown:
        raise ValueError(f"[team.{unknown[0]}]: not a team type; use one of: {', '.join(TEAM_TYPES)}")
    return TeamSettings(size, _roles(section, "[team] roles"),
                        {kind: _roles(section[kind], f"[team.{kind}] roles") for kind in TEAM_TYPES
                         if kind in section and "roles" in section[kind]},
                        dict(types))


def _roles(section: dict, key: str) -> tuple[str, ...]:
    roles = tuple(section.get("roles", ()))
    if "roles" in section and (not roles or not all(isinstance(r, str) and IDENTIFIER.fullmatch(r) for r in roles)):
        raise ValueError(f"{key} must be a non-empty list of names (letters, digits, '_')")
    return roles


def _timezone(section: dict) -> str:
    name = str(section.get("timezone", "UTC"))
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"[sync] timezone {name!r} is not an IANA time zone, such as \"UTC\" or "
                         f"\"Europe/Berlin\"") from None
    return name


def _flag(section: dict, key: str, default: bool) -> bool:
    value = section.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false, not {value!r}")
    return value


def _launch(section: dict) -> str:
    mode = section.get("launch", "auto")
    if mode not in LAUNCH_MODES:
        raise ValueError(f"[dagster] launch must be one of {', '.join(LAUNCH_MODES)}, not {mode!r}")
    return mode


def _checkout(section: dict) -> str:
    checkout = section.get("checkout", "shared")
    if checkout not in CHECKOUTS:
        raise ValueError(f"[dagster] checkout must be one of {', '.join(CHECKOUTS)}, not {checkout!r}")
    return checkout


def _owners(section: dict) -> tuple[str, ...]:
    owners = section.get("owners", [])
    if not isinstance(owners, list) or not all(isinstance(o, str) and OWNER.fullmatch(o) for o in owners):
        raise ValueError("[dagster] owners must be a list of \"team:NAME\" or email addresses, such as "
                         "[\"team:platform\", \"ana@example.com\"]")
    return tuple(owners)


def _group(section: dict) -> str:
    group = section.get("group", "")
    if not isinstance(group, str) or (group and not IDENTIFIER.fullmatch(group)):
        raise ValueError(f"[dagster] group must be a name of letters, digits and '_', not {group!r}")
    return group


def _platform(section: dict) -> str:
    platform = section.get("platform", "local")
    if platform not in DEPLOY_TARGETS:
        raise ValueError(f"[deploy] platform must be one of {', '.join(DEPLOY_TARGETS)}, not {platform!r}")
    return platform


def project_socket(project: Project) -> str:
    """The tmux socket of this project's teams: two projects with a slice of the same ID never
    share a tmux server, so neither can close (or attach to) the other's team."""
    digest = hashlib.sha256(str(project.root).encode()).hexdigest()[:6]
    return f"vso-{slugify(project.root.name)[:24] or 'project'}-{digest}"


def _socket(section: dict, project: Project) -> str | None:
    """`socket = ""` is tmux's default server; no key, the project's own socket."""
    if "socket" not in section:
        return project_socket(project)
    return str(section["socket"]) or None


def _pass_env(section: dict) -> tuple[str, ...]:
    names = section.get("pass_env", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and ENV_NAME.fullmatch(n) for n in names):
        raise ValueError("[deploy] pass_env must be a list of environment variable names, such as [\"DATABASE_URL\"]")
    if secret := next((n for n in names if n in SECRET_VARIABLES), None):
        raise ValueError(f"[deploy] pass_env may not name {secret}: VSO's deploy tokens never reach a slice's code")
    return tuple(names)


def _remote(section: dict) -> str:
    remote = section.get("remote", "origin")
    if not isinstance(remote, str) or not REMOTE_NAME.fullmatch(remote):
        raise ValueError(f"[deploy] remote must name a git remote (such as \"origin\"), not {remote!r}")
    return remote


def _health(section: dict) -> HealthSettings:
    return HealthSettings(interval_s=max(1, round(_seconds(section, "health", "interval_seconds",
                                                           HealthSettings.interval_s))),
                          timeout_s=_seconds(section, "health", "timeout_seconds", HealthSettings.timeout_s))


def _alerts(section: dict) -> AlertSettings:
    url = section.get("webhook_url", "")
    if not isinstance(url, str) or (url and not re.match(r"https?://[^\s/]+", url)):
        raise ValueError(f"[alerts] webhook_url must be an http(s) URL, such as "
                         f"\"https://chat.example.com/hooks/vso\", not {url!r}")
    return AlertSettings(webhook_url=url, interval_s=max(1, round(_seconds(section, "alerts", "interval_seconds",
                                                                           AlertSettings.interval_s))))


def _percent(section: dict, key: str, default: float) -> float:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise ValueError(f"[tests] {key} must be a percentage from 0 (no minimum) to 100, not {value!r}")
    return float(value)


def _seconds(section: dict, name: str, key: str, default: float) -> float:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"[{name}] {key} must be a number of seconds above 0, not {value!r}")
    return float(value)


def _limits(section: dict) -> Limits:
    defaults = Limits()
    return Limits(
        timeout_s=float(section.get("timeout_minutes", defaults.timeout_s / 60)) * 60,
        idle_s=float(section.get("idle_minutes", defaults.idle_s / 60)) * 60,
        max_restarts=int(section.get("max_restarts", defaults.max_restarts)),
        usage_limit_patterns=tuple(section.get("usage_limit_patterns", defaults.usage_limit_patterns)),
        usage_limit_wait_s=float(section.get("usage_limit_wait_minutes", defaults.usage_limit_wait_s / 60)) * 60,
        concurrency=max(1, int(section.get("concurrency", defaults.concurrency))),
    )
