"""The Terraform runner behind platform `hetzner`: the real `terraform` CLI, argv lists only.

Each slice and environment gets its own working directory under `.slice-orchestrator/terraform/`
(a copy of the slice's module plus its own state), so test and production never share state. The
Hetzner token comes from HCLOUD_TOKEN and reaches Terraform only as TF_VAR_hcloud_token in the
child's environment: never on a command line, in a file, in a log or in an output VSO keeps.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..base.errors import VSOError
from ..base.project import Project
from ..base.secrets import mask, tool_env

TIMEOUT_S = 1800
INSTALL_HINT = ("terraform is not installed (or not on PATH); install Terraform >= 1.5 from HashiCorp's "
                "releases or your package manager, then run again")
REDACTED = "(sensitive: not recorded)"
# A Terraform still finishing for a VSO that was killed holds the state's lock: wait for it.
LOCK_WAIT = "-lock-timeout=600s"
# What Terraform is given to stop gracefully (finish what is in flight, save the state) once timed out.
INTERRUPT_GRACE_S = 120
log = logging.getLogger("vso.deploy")


@dataclass
class TerraformRun:
    """What a Terraform step printed, with every secret VSO knows of masked."""

    step: str
    ok: bool
    output: str
    stdout: str = ""
    outputs: dict = field(default_factory=dict)


class TerraformError(VSOError):
    pass


@dataclass(frozen=True)
class TerraformRunner:
    project: Project
    slice_id: str
    environment: str
    module: Path
    var_file: Path | None = None
    # Values VSO decides per deploy (repo_url, git_ref), after the var file: they win over it.
    variables: tuple[tuple[str, str], ...] = ()

    @property
    def workdir(self) -> Path:
        return self.project.state_dir / "terraform" / self.slice_id / self.environment

    @classmethod
    def for_slice(cls, project: Project, slice_id: str, environment: str, module: Path | None = None,
                  **variables: str) -> TerraformRunner:
        var_file = project.root / "deployments" / environment / "terraform.tfvars"
        return cls(project, slice_id, environment, module or project.slice_dir(slice_id) / "terraform",
                   var_file if var_file.exists() else None, tuple(variables.items()))

    def _env(self) -> dict[str, str]:
        """Terraform's own variables and the Hetzner token, as TF_VAR_hcloud_token: no other secret."""
        token = {"TF_VAR_hcloud_token": os.environ["HCLOUD_TOKEN"]} if os.environ.get("HCLOUD_TOKEN") else {}
        return tool_env("TF_", TF_IN_AUTOMATION="1", TF_INPUT="0", CHECKPOINT_DISABLE="1", **token)

    def _run(self, step: str, *args: str) -> TerraformRun:
        binary = shutil.which("terraform")
        if binary is None:
            raise TerraformError(INSTALL_HINT)
        # A session of its own, and its output in files it keeps open (unlinked: nothing on disk):
        # a VSO killed mid-apply must not take Terraform down with it, by signal or by a broken
        # pipe, or a server created but not yet in the state would be left running (and billed)
        # unknown to Terraform. It finishes and saves its state; the next run waits for the lock.
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            process = subprocess.Popen([binary, *args, "-no-color"], cwd=self.workdir, env=self._env(),
                                       stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True)
            try:
                process.wait(timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired:
                _interrupt(process)
                return TerraformRun(step, False, f"terraform {step} timed out after {TIMEOUT_S}s")
            except BaseException:
                # Ctrl-C, a cancelled Dagster run: interrupted, Terraform would taint what it is
                # creating and the next apply would create it again. It goes on to the end instead.
                log.warning("terraform %s (pid %d) goes on until it is done, so nothing it creates is "
                            "lost; the next deploy waits for it", step, process.pid)
                raise
            stdout, stderr = (_read(f) for f in (out, err))
        return TerraformRun(step, process.returncode == 0, mask(stdout + stderr), mask(stdout))

    def prepare(self) -> None:
        """Copies the slice's module (only *.tf and the user-data script) next to this env's state."""
        self.project.make_dir(self.workdir)
        for source in sorted(self.module.iterdir()):
            if source.suffix in (".tf", ".sh") and source.is_file():
                self.project.write(self.workdir / source.name, source.read_bytes())

    def _var_args(self) -> list[str]:
        args = ["-var", f"environment={self.environment}"]
        for name, value in self.variables:
            args += ["-var", f"{name}={value}"]
        return ([f"-var-file={self.var_file}"] if self.var_file else []) + args

    def init(self) -> TerraformRun:
        self.prepare()
        return self._checked(self._run("init", "init", "-input=false"))

    def plan(self) -> TerraformRun:
        return self._checked(self._run("plan", "plan", "-input=false", LOCK_WAIT, *self._var_args()))

    def apply(self) -> TerraformRun:
        return self._checked(self._run("apply", "apply", "-input=false", "-auto-approve", LOCK_WAIT,
                                       *self._var_args()))

    def destroy(self) -> TerraformRun:
        return self._checked(self._run("destroy", "destroy", "-input=false", "-auto-approve", LOCK_WAIT,
                                       *self._var_args()))

    def output(self) -> TerraformRun:
        run = self._checked(self._run("output", "output", "-json"))
        try:
            raw = json.loads(run.stdout or "{}")
        except json.JSONDecodeError:
            raw = None
        if not isinstance(raw, dict):
            # A wrapper on PATH that prints more than Terraform does, say: the deploy stops, said plainly.
            raise TerraformError(f"{self.slice_id} ({self.environment}): `terraform output -json` printed something "
                                 f"that is not Terraform's JSON object of outputs: {run.stdout.strip()[:200]!r}")
        outputs = {name: (REDACTED if item.get("sensitive") else item.get("value")) for name, item in raw.items()}
        # The raw JSON holds sensitive values: only the redacted outputs are kept.
        return TerraformRun("output", True, "", "", outputs)

    def _checked(self, run: TerraformRun) -> TerraformRun:
        if not run.ok:
            lines = run.output.strip().splitlines()
            # Terraform's reason on the first line, which is all a table of runs or an alert shows.
            reason = next((line.strip() for line in lines if line.strip().startswith("Error:")), "")
            tail = "\n".join(lines[-15:])
            raise TerraformError(f"{self.slice_id} ({self.environment}): terraform {run.step} failed"
                                 f"{': ' + reason if reason else ''}:\n{tail}")
        return run


def _interrupt(process: subprocess.Popen) -> None:
    """SIGINT, as Ctrl-C would send: Terraform finishes the operations in flight and saves its
    state; only if it has not exited within the grace period is it killed."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=INTERRUPT_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _read(handle) -> str:
    handle.seek(0)
    return handle.read().decode("utf-8", "replace")
