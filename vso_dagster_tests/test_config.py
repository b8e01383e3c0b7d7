"""config.toml: the template vso init writes is valid, adapters can be overridden, mistakes are clear."""

from __future__ import annotations

import pytest

from vso_dagster.core.base.config import ROLES, load_config, project_socket
from vso_dagster.core.base.errors import VSOError
from vso_dagster.core.decomposition.scaffold_project import init_project


def test_the_written_template_means_scaffold_and_four_roles(project):
    init_project(project, "T")
    config = load_config(project)
    assert config.agent is None and config.roles == ROLES and config.socket == project_socket(project)
    assert config.socket.startswith("vso-proj-")
    assert config.limits.timeout_s == 3600 and config.limits.max_restarts == 2


def write(project, text: str) -> None:
    project.state_dir.mkdir(parents=True, exist_ok=True)
    (project.state_dir / "config.toml").write_text(text)


def test_an_adapter_and_an_override(project):
    write(project, '[agent]\nname = "aider"\n[team]\nsize = "small"\n')
    config = load_config(project)
    assert config.agent.argv == ("aider", "--yes-always", "--message-file", "{briefing}")
    assert config.agent.mode == "batch" and config.roles == ("orchestrator", "developer")
    write(project, '[agent]\nname = "claude"\nargv = ["/opt/claude", "--model", "x"]\n[team]\nroles = ["solo"]\n')
    config = load_config(project)
    assert config.agent.argv == ("/opt/claude", "--model", "x") and config.roles == ("solo",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[agent]\nname = "gpt"\n', "[agent] name 'gpt' is not one of scaffold, claude, codex, aider, custom"),
        ('[agent]\nname = "custom"\n', "[agent] argv must be a list of strings"),
        ('[agent]\nname = "custom"\nargv = "run me"\n', "[agent] argv must be a list of strings"),
        ('[agent]\nname = "claude"\nmode = "sometimes"\n', "[agent] mode must be"),
        ('[team]\nsize = "huge"\n', "[team] size must be one of small, medium, large"),
        ('[agent\nname = "x"\n', ".slice-orchestrator/config.toml:1: not valid TOML"),
        ('[dagster]\nlaunch = "cloud"\n', "[dagster] launch must be one of auto, in_process, submit, not 'cloud'"),
        ('[dagster]\nowners = ["shop"]\n', '[dagster] owners must be a list of "team:NAME" or email addresses'),
        ('[dagster]\ngroup = "my shop"\n', "[dagster] group must be a name of letters, digits and '_', not 'my shop'"),
    ],
)
def test_mistakes_name_the_file_and_the_fix(project, text, message):
    write(project, text)
    with pytest.raises(VSOError) as info:
        load_config(project)
    assert message in str(info.value) and str(info.value).startswith(".slice-orchestrator/config.toml")


def test_sync_and_deploy_settings_are_read_and_checked(project):
    init_project(project, "T")
    config = load_config(project)
    assert (config.platform, config.sync_branch, config.nightly_timezone) == ("local", "main", "UTC")
    assert config.launch == "auto"
    path = project.state_dir / "config.toml"
    path.write_text(path.read_text().replace('timezone = "UTC"', 'timezone = "Mars/Olympus"'))
    with pytest.raises(VSOError, match=r"config.toml: \[sync\] timezone 'Mars/Olympus' is not an IANA time zone"):
        load_config(project)
    path.write_text(path.read_text().replace('timezone = "Mars/Olympus"', 'timezone = "Europe/Berlin"')
                    .replace('platform = "local"', 'platform = "aws"'))
    with pytest.raises(VSOError, match=r"\[deploy\] platform must be one of local, hetzner, modal, planned, not 'aws'"):
        load_config(project)


def test_the_deploy_remote_is_a_remote_name_never_an_option(project):
    init_project(project, "T")
    config = load_config(project)
    assert (config.remote, config.repo_url) == ("origin", "")
    path = project.state_dir / "config.toml"
    path.write_text(path.read_text().replace('remote = "origin"', 'remote = "--upload-pack=touch /tmp/x"'))
    with pytest.raises(VSOError, match=r"\[deploy\] remote must name a git remote"):
        load_config(project)
    path.write_text(path.read_text().replace('remote = "--upload-pack=touch /tmp/x"', 'remote = "mirror"')
                    .replace('# repo_url = "https://github.com/you/your-project.git"',
                             'repo_url = "https://example.org/app.git"'))
    assert (load_config(project).remote, load_config(project).repo_url) == ("mirror", "https://example.org/app.git")
