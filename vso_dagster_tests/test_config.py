"""config.toml: the template vso init writes is valid, adapters can be overridden, mistakes are clear."""

from __future__ import annotations

import pytest

from vso_dagster.core.base.budget import Budget, Spent
from vso_dagster.core.base.config import TeamSettings, load_config, project_socket
from vso_dagster.core.base.errors import VSOError
from vso_dagster.core.decomposition.scaffold_project import init_project


def test_the_written_template_means_scaffold_and_four_roles(project):
    init_project(project, "T")
    config = load_config(project)
    assert config.agent is None and config.team == TeamSettings() and config.socket == project_socket(project)
    assert config.socket.startswith("vso-proj-")
    assert config.limits.timeout_s == 3600 and config.limits.max_restarts == 2


def write(project, text: str) -> None:
    project.state_dir.mkdir(parents=True, exist_ok=True)
    (project.state_dir / "config.toml").write_text(text)


def test_an_adapter_and_an_override(project):
    write(project, '[agent]\nname = "aider"\n[team]\nsize = "small"\n')
    config = load_config(project)
    assert config.agent.argv[:2] == ("aider", "--yes-always") and config.agent.argv[-2:] == ("--message-file",
                                                                                           "{briefing}")
    assert "--auto-test" in config.agent.argv and "--auto-test" not in config.agent.batch_argv
    assert config.agent.mode == "batch" and config.team.size == "small" and config.team.roles == ()
    write(project, '[agent]\nname = "claude"\nargv = ["/opt/claude", "--model", "x"]\n[team]\nroles = ["solo"]\n')
    config = load_config(project)
    assert config.agent.argv == ("/opt/claude", "--model", "x") and config.team.roles == ("solo",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[agent]\nname = "gpt"\n', "[agent] name 'gpt' is not one of scaffold, claude, codex, aider, custom"),
        ('[agent]\nname = "custom"\n', "[agent] argv must be a list of strings"),
        ('[agent]\nname = "custom"\nargv = "run me"\n', "[agent] argv must be a list of strings"),
        ('[agent]\nname = "claude"\nmode = "sometimes"\n', "[agent] mode must be"),
        ('[team]\nsize = "huge"\n', "[team] size must be one of small, medium, large"),
        ('[team.types]\nAnalytics = "etl"\n', "[team.types] 'Analytics' = 'etl': not a team type; use one of: "
         "web-api, worker, data-pipeline, infrastructure, ml"),
        ('[team.web]\nroles = ["solo"]\n', "[team.web]: not a team type; use one of: web-api"),
        ('[team.ml]\nroles = []\n', "[team.ml] roles must be a non-empty list of names"),
        ('[agent\nname = "x"\n', ".slice-orchestrator/config.toml:1: not valid TOML"),
        ('[dagster]\nlaunch = "cloud"\n', "[dagster] launch must be one of auto, in_process, submit, not 'cloud'"),
        ('[dagster]\ncheckout = "nfs"\n', "[dagster] checkout must be one of shared, git, not 'nfs'"),
        ('[dagster]\nowners = ["shop"]\n', '[dagster] owners must be a list of "team:NAME" or email addresses'),
        ('[dagster]\ngroup = "my shop"\n', "[dagster] group must be a name of letters, digits and '_', not 'my shop'"),
        ('[health]\ninterval_seconds = 0\n', "[health] interval_seconds must be a number of seconds above 0, not 0"),
        ('[health]\ntimeout_seconds = "5s"\n',
         "[health] timeout_seconds must be a number of seconds above 0, not '5s'"),
        ('[alerts]\nwebhook_url = "hooks.example.com/x"\n', "[alerts] webhook_url must be an http(s) URL"),
        ('[agent]\nmax_cost_usd = "5"\n', "[agent] max_cost_usd must be a number above 0, not '5'"),
        ('[agent]\nrun_max_tokens = 0\n', "[agent] run_max_tokens must be a number above 0, not 0"),
        ('[agent]\ntmux_orchestrator = "vendor/Tmux-Orchestrator"\n', "/vendor/Tmux-Orchestrator has no executable "
         "send-claude-message.sh or schedule_with_note.sh; give the path of a Tmux-Orchestrator checkout"),
    ],
)
def test_mistakes_name_the_file_and_the_fix(project, text, message):
    write(project, text)
    with pytest.raises(VSOError) as info:
        load_config(project)
    assert message in str(info.value) and str(info.value).startswith(".slice-orchestrator/config.toml")


def test_budgets_per_slice_and_per_run_name_the_key_that_stopped_a_team(project):
    write(project, '[agent]\nname = "claude"\nmax_tokens = 1000\nmax_minutes = 30\nrun_max_cost_usd = 5\n')
    config = load_config(project)
    assert config.budget.over(Spent(999, 0.0, 29.9)) is None
    assert config.budget.over(Spent(1000, 0.0, 1)) == "spent 1,000 tokens of [agent] max_tokens = 1,000 tokens"
    assert config.budget.over(Spent(10, 0.0, 31)) == "spent 31.00 minutes of [agent] max_minutes = 30.00 minutes"
    # A run's teams share its budget: what the first spent counts against the second, tag and all.
    second = Budget.from_tag(config.run_budget.after(Spent(0, 4.5, 10)).to_tag())
    assert second.over(Spent(0, 0.25, 1)) is None
    assert second.over(Spent(0, 0.5, 1)) == "spent $5.00 of [agent] run_max_cost_usd = $5.00"
    assert (config.budget & second).over(Spent(2000, 0.0, 1)).endswith("max_tokens = 1,000 tokens")
    write(project, '[agent]\nname = "codex"\n')
    assert load_config(project).budget.over(Spent(10**9, 10**6, 10**6)) is None  # no cap unless set


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
