"""A slice's team as `vso logs` shows it: each role's pane while the team works (tmux's own
history of it), else the log the team left when its session closed (`logs/<slice>/<role>.log`)."""

from __future__ import annotations

import libtmux

from ..base.config import Config
from ..base.errors import VSOError
from ..base.log_sources import LogSource, file_source
from ..base.project import Project
from .team_run import tmux_server
from .team_watchdog import WINDOW as WATCHDOG_WINDOW
from .team_watchdog import pane_history
from .tmux_team import team_session

# What else VSO writes into a slice's log directory: a deployed service's or job's output
# (deployments.output_log_name).
NOT_ROLES = ("-service", "-job")


def team_logs(project: Project, config: Config, slice_id: str, role: str | None = None) -> list[LogSource]:
    live = _live_roles(config, slice_id)
    if live:
        tmux = ["tmux", *(["-L", config.socket] if config.socket else [])]
        session = team_session(slice_id)
        sources = [LogSource(name, lambda name=name: pane_history(tmux, session, name)) for name in live]
    else:
        sources = [file_source(p.stem, p) for p in _saved(project, slice_id)]
    if role is not None:
        sources = [s for s in sources if s.name == role]
        if not sources:
            where = "in its running team" if live else "in the log its last team left"
            raise VSOError(f"{slice_id}: no role {role} {where}; roles: "
                           f"{', '.join(live or [p.stem for p in _saved(project, slice_id)]) or 'none yet'}")
    return sources


def _live_roles(config: Config, slice_id: str) -> list[str]:
    try:
        shown = tmux_server(config).cmd("list-windows", "-t", f"={team_session(slice_id)}", "-F", "#{window_name}")
    except libtmux.exc.LibTmuxException:  # no tmux server: no team
        return []
    return [] if shown.returncode != 0 else [w for w in shown.stdout if w != WATCHDOG_WINDOW]


def _saved(project: Project, slice_id: str) -> list:
    return sorted(p for p in (project.logs_dir / slice_id).glob("*.log") if not p.stem.endswith(NOT_ROLES))
