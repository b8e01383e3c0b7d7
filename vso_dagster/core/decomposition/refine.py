"""Optional AI refinement of generated slice specs, off by default.

The configured agent runs once per regenerated spec, in batch mode, with a briefing that names the
file to write. A refined spec that no longer reads as a valid slice spec of the same slice is
discarded with a warning, and the generated one is used: refinement can improve a spec, never break it.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Callable

import frontmatter
import yaml

from ..base.config import Config, agent_argv
from ..base.plan import PlannedSlice
from ..base.project import Project
from ..base.secrets import agent_env
from ..base.templating import render

log = logging.getLogger("vso.decompose")
SECTIONS = ("## Overview", "## Acceptance Criteria (TDD)", "## API Specification", "## Data Models", "## Tests",
            "## Deployment")
Refiner = Callable[[dict, str], str]


def slice_spec_problems(text: str, s: PlannedSlice) -> list[str]:
    """Why `text` is not a valid slice spec for slice `s` (empty when it is)."""
    try:
        post = frontmatter.loads(text)
    except (yaml.YAMLError, ValueError) as exc:
        return [f"its frontmatter does not parse ({exc})"]
    meta, problems = post.metadata, []
    if meta.get("slice_id") != s.slice_id:
        problems.append(f"slice_id is {meta.get('slice_id')!r}, not {s.slice_id!r}")
    if meta.get("platform") != s.platform:
        problems.append(f"platform is {meta.get('platform')!r}, not the plan's {s.platform!r}")
    if sorted(meta.get("dependencies") or []) != sorted(s.dependencies):
        problems.append("its dependencies differ from the plan's")
    for key in ("version", "master_version", "status"):
        if not isinstance(meta.get(key), str):
            problems.append(f"frontmatter `{key}` is missing")
    problems += [f"section `{h}` is missing" for h in SECTIONS if h not in post.content]
    return problems


def agent_refiner(project: Project, config: Config) -> Refiner | None:
    """A refiner that runs the configured agent, or None when refinement is off."""
    if not config.refine_specs or config.agent is None:
        return None
    agent = config.agent

    def refine(s: PlannedSlice, spec: str) -> str:
        workdir = project.make_dir(project.state_dir / "refine" / s.slice_id)
        output = workdir / "refined-spec.md"
        output.unlink(missing_ok=True)
        briefing = workdir / "briefing.md"
        project.write(briefing, render("agents/refine.md.j2", s=s, spec=spec, output=output))
        argv = agent_argv(agent.one_shot_argv, briefing=str(briefing), role="refiner", slice_id=s.slice_id,
                          workdir=str(workdir))
        try:
            with briefing.open("rb") if agent.batch_stdin else open(os.devnull, "rb") as stdin:
                subprocess.run(argv, cwd=workdir, stdin=stdin, capture_output=True, env=agent_env(),
                               timeout=config.limits.timeout_s, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("%s: spec refinement by %s failed (%s); kept the generated spec", s.slice_id,
                        agent.name, exc)
            return spec
        refined = output.read_text() if output.exists() else ""
        if problems := slice_spec_problems(refined, s) if refined else ["the agent wrote no refined spec"]:
            log.warning("%s: refined spec discarded (%s); kept the generated spec", s.slice_id,
                        "; ".join(problems))
            return spec
        log.info("%s: spec refined by %s", s.slice_id, agent.name)
        return refined

    return refine
