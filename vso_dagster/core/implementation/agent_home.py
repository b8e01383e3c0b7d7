"""A team's own config directory for its agent CLI, so no first-run dialog waits for a human in a
team pane, and a user's own config is never touched.

Claude Code and Codex keep their settings, their answers to first-run questions (onboarding,
trusting a folder, using the API key found in the environment) and their session files in one
directory each, which an environment variable moves (CLAUDE_CONFIG_DIR, CODEX_HOME). A team gets a
fresh one under VSO's cache, with those questions answered for its worktree, and it is removed when
the team ends. Credentials come only from the environment: a sign-in kept in a user's own
directory is never copied (a token never enters the project).
"""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..base.errors import Diagnostic, VSOError
from ..base.templating import render

Write = Callable[[Path, str], None]


@dataclass(frozen=True)
class AgentHome:
    path: Path
    env: dict[str, str]  # what points the CLI at it, for each of the team's panes
    sessions: str  # where in it the CLI keeps its session files (a glob)

    def transcripts(self) -> list[str]:
        """Every session file the CLI has written so far: what its TUI reported spending is there."""
        texts = []
        for path in sorted(self.path.glob(self.sessions)):
            try:
                texts.append(path.read_text(errors="replace"))
            except OSError:
                continue  # removed meanwhile
        return texts

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def prepare_home(agent: str, path: Path, workdir: Path, environ: Mapping[str, str], write: Write) -> AgentHome | None:
    """The team's home for `agent` at `path`, written with `write`; None for a CLI that needs none."""
    if agent not in _HOMES:
        return None
    make, sessions = _HOMES[agent]
    shutil.rmtree(path, ignore_errors=True)  # a home a killed team left: rebuilt, never reused
    return AgentHome(path, make(path, workdir, environ, write), sessions)


def _claude(path: Path, workdir: Path, environ: Mapping[str, str], write: Write) -> dict[str, str]:
    # Claude Code asks once per API key whether to use the one it finds in the environment, and
    # remembers a yes as the key's last 20 characters: the form it saves itself. The home is removed
    # when the team ends, and with it that part of the key.
    key = environ.get("ANTHROPIC_API_KEY", "")
    write(path / ".claude.json", render("agents/homes/claude.json.j2", workdir=str(workdir),
                                        approved_keys=[key[-20:]] if key else []))
    return {"CLAUDE_CONFIG_DIR": str(path)}


def _codex(path: Path, workdir: Path, environ: Mapping[str, str], write: Write) -> dict[str, str]:
    own = Path(environ["CODEX_HOME"]) if environ.get("CODEX_HOME") else Path(environ.get("HOME", "~")) / ".codex"
    config_path = own / "config.toml"
    try:
        user_config = config_path.read_text()
    except OSError:
        user_config, config_path = "", None
    try:
        chosen = tomllib.loads(user_config).get("model_provider")
    except tomllib.TOMLDecodeError as exc:
        raise VSOError(Diagnostic(str(config_path), None, f"not valid TOML ({exc}); Codex cannot read it either: "
                                                          "fix it")) from None
    write(path / "config.toml", render(
        "agents/homes/codex.toml.j2", user_config=user_config.rstrip(), workdir=str(workdir),
        user_config_path=str(config_path) if config_path else "",
        key_from_environment=chosen is None and bool(environ.get("OPENAI_API_KEY"))))
    return {"CODEX_HOME": str(path)}


# Each CLI's home: how it is made, and where the CLI keeps its session files in it.
_HOMES: dict[str, tuple[Callable[[Path, Path, Mapping[str, str], Write], dict[str, str]], str]] = {
    "claude": (_claude, "projects/*/*.jsonl"), "codex": (_codex, "sessions/**/rollout-*.jsonl")}
