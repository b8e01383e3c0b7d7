"""What a team spent, from the result lines its agents print (Claude Code's `--output-format json`)."""

import json

from vso_dagster.core.implementation.agent_usage import (
    ended_in_error,
    own_words,
    pane_usage,
    session_usage,
    team_usage,
    unread_lines,
)
from vso_dagster.core.implementation.api_faults import ApiFault, api_fault


def result_line(tokens_in: int, tokens_out: int, cost: float, turns: int) -> str:
    return json.dumps({"type": "result", "subtype": "success", "num_turns": turns, "total_cost_usd": cost,
                       "usage": {"input_tokens": tokens_in, "cache_read_input_tokens": 5, "output_tokens": tokens_out}})


def test_every_run_in_a_pane_counts_and_the_rest_of_the_pane_does_not():
    pane = "\n".join(["$ claude -p ...", result_line(100, 20, 0.01, 3), "agent restarted",
                      '{"type":"result", but cut off by the pane', result_line(50, 10, 0.02, 2), "{}"])
    spent = pane_usage(pane)
    assert (spent.tokens_in, spent.tokens_out, spent.turns, spent.reports) == (160, 30, 5, 2)
    assert round(spent.cost_usd, 4) == 0.03
    assert spent.summary() == "160 tokens in, 30 out, $0.0300, 5 turns"


def test_codex_reports_tokens_per_turn_and_no_cost_which_stays_unknown():
    turn = json.dumps({"type": "turn.completed", "usage": {"input_tokens": 100, "cached_input_tokens": 40,
                                                           "output_tokens": 20}})
    spent = pane_usage("\n".join(['{"type":"thread.started"}', turn, turn]))
    assert (spent.tokens_in, spent.tokens_out, spent.cost_usd, spent.reports) == (200, 40, None, 2)
    assert spent.summary() == "200 tokens in, 40 out, cost not reported"
    assert team_usage([turn, result_line(1, 1, 0.5, 1)]).cost_usd is None  # part of the cost is unknown


def test_a_team_sums_its_panes_and_an_agent_that_reports_nothing_is_unknown_not_free():
    assert team_usage([result_line(1, 2, 0.5, 1), "working…", result_line(3, 4, 0.25, 1)]).tokens_out == 6
    silent = team_usage(["an interactive TUI prints no result line"])
    assert silent.reports == 0 and silent.summary() == "usage not reported by the agent"


def message_line(message_id: str, tokens_in: int, tokens_out: int) -> str:
    """A model message as Claude Code's `--output-format stream-json` prints it while it works."""
    return json.dumps({"type": "assistant", "message": {"id": message_id, "content": [],
                                                        "usage": {"input_tokens": tokens_in,
                                                                  "output_tokens": tokens_out}}})


def test_a_claude_run_still_at_work_counts_its_messages_so_far_each_once_and_its_result_replaces_them():
    working = [message_line("msg_1", 100, 1), message_line("msg_1", 100, 20), message_line("msg_2", 130, 5)]
    so_far = pane_usage("\n".join(working))
    # Each message counts once, with the last usage it showed; no cost is known before the result.
    assert (so_far.tokens_in, so_far.tokens_out, so_far.cost_usd, so_far.cost_reported) == (230, 25, None, 0.0)
    finished = pane_usage("\n".join([*working, result_line(230, 40, 0.02, 2)]))
    assert (finished.tokens_in, finished.tokens_out, finished.reports) == (235, 40, 1)
    # A second run, cut off while at work: the first run's cost was reported, the second's is not yet.
    restarted = pane_usage("\n".join([*working, result_line(230, 40, 0.02, 2), message_line("msg_3", 300, 9)]))
    assert (restarted.tokens_in, restarted.cost_usd, restarted.cost_reported) == (535, None, 0.02)
    assert restarted.spent(1.5).tokens == 535 + 49 and restarted.spent(1.5).cost_usd == 0.02


def test_aider_reports_each_message_in_its_own_rounded_words_and_a_cost_only_when_it_knows_the_prices():
    pane = "\n".join(["Applied edit to service/main.py", "Tokens: 835 sent, 53 received.",
                      "Added 1 line of output to the chat.",
                      "Tokens: 2.1k sent, 1.5k cache hit, 64 received. Cost: $0.01 message, $0.02 session."])
    spent = pane_usage(pane)
    assert (spent.tokens_in, spent.tokens_out, spent.reports) == (835 + 2100 + 1500, 53 + 64, 2)
    assert spent.cost_usd is None and spent.cost_reported == 0.01  # the first message's cost was not known


def test_a_usage_limit_is_looked_for_in_what_the_agent_says_not_in_the_work_it_quotes():
    quoted = json.dumps({"type": "user", "message": {"content": [
        {"type": "tool_result", "content": "- The API answers 429 past its rate limit"}]}})
    failed = json.dumps({"type": "result", "is_error": True, "result": "API Error: 429 rate limit exceeded"})
    codex = json.dumps({"type": "turn.failed", "error": {"message": "You've hit your usage limit."}})
    assert own_words(quoted) == "" and own_words('{"type":"user","message":{"content":"rate limit, cut') == ""
    assert "rate limit exceeded" in own_words(failed) and "usage limit" in own_words(codex)
    assert own_words("Claude usage limit reached. Your limit will reset at 5pm") == \
        "Claude usage limit reached. Your limit will reset at 5pm"


def test_a_report_caught_half_written_is_read_again_whole_so_its_quoted_work_is_not_taken_for_the_agents_words():
    report = json.dumps({"type": "user", "message": {"content": [
        {"type": "tool_result", "content": "# Briefing: the API answers 429 past its rate limit"}]}})
    half = "started\n" + report[:40]
    fresh = unread_lines(half, "started\n" + report + "\nnext")
    assert fresh == report + "\nnext"
    assert "rate limit" not in " ".join(own_words(line) for line in fresh.splitlines())
    # A last line that was already whole is not read twice (a usage limit would pause the team twice).
    assert unread_lines("started\nusage limit", "started\nusage limit\nnext") == "\nnext"
    # A pane whose history scrolled away is read again in full.
    assert unread_lines("old\nstarted", "started\nnext") == "started\nnext"


def test_a_run_that_reports_it_failed_has_failed_whatever_its_exit_status():
    ok = json.dumps({"type": "result", "is_error": False, "result": "Done.", "usage": {}})
    failed = json.dumps({"type": "result", "is_error": True, "result": "Credit balance is too low", "usage": {}})
    codex_failed = json.dumps({"type": "turn.failed", "error": {"message": "Quota exceeded."}})
    codex_ok = json.dumps({"type": "turn.completed", "usage": {"input_tokens": 1, "output_tokens": 1}})
    assert ended_in_error(f"{ok}\n{failed}\n") and ended_in_error(f"{codex_failed}\n\n")
    # Only the last run counts: one that failed before a restart that then succeeded is no failure.
    assert not ended_in_error(f"{failed}\n{ok}\n") and not ended_in_error(f"{codex_failed}\n{codex_ok}")
    assert not ended_in_error("Tokens: 1k sent, 20 received.\n") and not ended_in_error("")


def test_session_files_of_the_tuis_hold_what_they_spent():
    claude = "\n".join(json.dumps({"type": "assistant", "message": {"id": f"msg_{n}", "usage": {
        "input_tokens": 100, "output_tokens": 20}}}) for n in (1, 1, 2))  # a message is written once per block
    assert (session_usage(claude).tokens_in, session_usage(claude).tokens_out) == (200, 40)
    assert session_usage(claude).cost_usd is None
    codex = "\n".join(json.dumps({"type": "event_msg", "payload": {"type": "token_count", "info": {
        "total_token_usage": {"input_tokens": 100 * n, "output_tokens": 20 * n}}}}) for n in (1, 2, 3))
    assert (session_usage(codex).tokens_in, session_usage(codex).tokens_out) == (300, 60)  # running totals


def test_an_api_fault_is_read_in_each_clis_own_framing_and_never_in_the_work():
    claude = json.dumps({"type": "system", "subtype": "api_retry", "attempt": 1, "max_retries": 10,
                         "error_status": 401, "error": "authentication_failed"})
    codex = json.dumps({"type": "error", "message": "Reconnecting... 1/5 (unexpected status 401 Unauthorized: x)"})
    for said in (claude, codex, "litellm.AuthenticationError: AuthenticationError: OpenAIException - Incorrect",
                 "API Error: 401 {\"type\":\"error\"}", "Invalid API key · Please run /login"):
        assert api_fault(f"working\n{said}\n").final, said
    busy = json.dumps({"type": "system", "subtype": "api_retry", "error_status": 529, "error": "overloaded"})
    assert api_fault(busy) == ApiFault(False, "API Error: 529 overloaded (retry None of None)")
    assert not api_fault(json.dumps({"type": "error", "message": "exceeded retry limit, last status: 429"})).final
    # What the work says (a tool's output in a JSON report, or an auth slice's test output) is no fault.
    quoted = json.dumps({"type": "user", "message": {"content": [{"type": "tool_result",
                                                                  "content": "API Error: 401 authentication_error"}]}})
    assert api_fault(quoted) is None
    assert api_fault('E  assert {"detail": "authentication_error: Invalid API key"} == {}') is None
