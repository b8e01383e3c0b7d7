"""A team's own config home for its CLI: what Claude Code and Codex read there (the CLIs themselves
read them in test_agent_clis.py)."""

from __future__ import annotations

import json
import tomllib

import pytest

from vso_dagster.core.base.errors import VSOError
from vso_dagster.core.base.project import atomic_write
from vso_dagster.core.implementation.agent_home import prepare_home


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text)


def test_claude_code_finds_onboarding_done_the_worktree_trusted_and_only_the_keys_tail_approved(tmp_path):
    key = "sk-ant-api03-" + "x" * 60 + "TAIL-OF-THE-KEY-1234"
    home = prepare_home("claude", tmp_path / "home", tmp_path / "work tree", {"ANTHROPIC_API_KEY": key}, write)
    assert home.env == {"CLAUDE_CONFIG_DIR": str(tmp_path / "home")}
    config = json.loads((tmp_path / "home" / ".claude.json").read_text())
    assert config["hasCompletedOnboarding"] is True
    assert config["projects"][str(tmp_path / "work tree")]["hasTrustDialogAccepted"] is True
    assert config["customApiKeyResponses"]["approved"] == ["TAIL-OF-THE-KEY-1234"]
    assert key[:-20] not in (tmp_path / "home" / ".claude.json").read_text()
    home.remove()
    assert not (tmp_path / "home").exists()
    # Without a key in the environment (a subscription token, say) nothing is approved.
    bare = prepare_home("claude", tmp_path / "home", tmp_path, {}, write)
    assert json.loads((bare.path / ".claude.json").read_text())["customApiKeyResponses"]["approved"] == []


def test_codex_keeps_the_users_own_config_and_gains_the_worktrees_trust(tmp_path):
    own = tmp_path / "own-codex"
    own.mkdir()
    (own / "config.toml").write_text('model = "o4"\nmodel_provider = "mine"\n[model_providers.mine]\n'
                                     'name = "mine"\nbase_url = "http://127.0.0.1:9/v1"\nenv_key = "MY_KEY"\n')
    worktree = tmp_path / 'a "quoted" tree'
    home = prepare_home("codex", tmp_path / "home", worktree, {"CODEX_HOME": str(own), "OPENAI_API_KEY": "k"}, write)
    assert home.env == {"CODEX_HOME": str(tmp_path / "home")}
    config = tomllib.loads((tmp_path / "home" / "config.toml").read_text())
    assert config["model"] == "o4" and config["model_provider"] == "mine"
    assert config["model_providers"] == {"mine": {"name": "mine", "base_url": "http://127.0.0.1:9/v1",
                                                  "env_key": "MY_KEY"}}
    assert config["projects"] == {str(worktree): {"trust_level": "trusted"}}
    assert "trust_level" not in (own / "config.toml").read_text()  # the user's own file is left alone


def test_codex_with_its_own_openai_provider_reads_the_key_from_the_environment_instead_of_asking_for_a_sign_in(
        tmp_path):
    (tmp_path / ".codex").mkdir()
    (tmp_path / ".codex" / "config.toml").write_text('model = "o4"\n')
    home = prepare_home("codex", tmp_path / "home", tmp_path / "wt", {"HOME": str(tmp_path), "OPENAI_API_KEY": "k"},
                        write)
    config = tomllib.loads((home.path / "config.toml").read_text())
    provider = config["model_providers"][config["model_provider"]]
    assert config["model"] == "o4"
    assert provider["env_key"] == "OPENAI_API_KEY" and provider["base_url"] == "https://api.openai.com/v1"
    # No key in the environment and no config of the user's: Codex's own defaults, trust alone.
    plain = prepare_home("codex", tmp_path / "plain", tmp_path / "wt", {"HOME": str(tmp_path / "nobody")}, write)
    assert tomllib.loads((plain.path / "config.toml").read_text()) == {
        "projects": {str(tmp_path / "wt"): {"trust_level": "trusted"}}}


def test_a_users_codex_config_that_is_not_toml_is_refused_with_the_file_named(tmp_path):
    (tmp_path / ".codex").mkdir()
    (tmp_path / ".codex" / "config.toml").write_text("model = \n")
    with pytest.raises(VSOError, match=r"\.codex/config\.toml: not valid TOML .*fix it"):
        prepare_home("codex", tmp_path / "home", tmp_path, {"HOME": str(tmp_path)}, write)


def test_a_cli_without_a_config_home_gets_none(tmp_path):
    assert prepare_home("aider", tmp_path / "home", tmp_path, {}, write) is None
    assert prepare_home("custom", tmp_path / "home", tmp_path, {}, write) is None
    assert not (tmp_path / "home").exists()
