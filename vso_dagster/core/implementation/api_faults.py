"""What an agent says when its model API fails it, and which failures a retry cannot mend.

Each CLI says so in its own words, read from its pane (only the agent's own words: see
agent_usage.own_words):
- Claude Code retries any failed request, a refused key included, up to 10 times over minutes;
  its stream-json prints each retry as `{"type":"system","subtype":"api_retry","error_status":401,...}`
  (read as "API Error: 401 authentication_failed (retry 1 of 10)"), its TUI as "API Error: 401 ...".
- Codex retries a request 5 times ("Reconnecting... 1/5 (unexpected status 401 Unauthorized: ...)")
  and then exits with an error; on a rate limit it gives up at once ("exceeded retry limit, last
  status: 429 Too Many Requests").
- Aider prints litellm's exception ("litellm.AuthenticationError: ...", "litellm.RateLimitError:
  ...") and retries a rate limit itself; a refused key ends its run with exit status 0.
A refused key is final: the team fails at once, naming the cause, with no restart (each would be
refused again). A busy API (rate limit, overload) is the CLI's to retry, and VSO's to restart
should the CLI give up; VSO notes it in the run log. Checked with Claude Code 2.1.197, codex-cli
0.171.0 and aider-chat 0.86.2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .agent_usage import own_words

# Each CLI's own framing of the failure, never a bare word: in a TUI's pane a tool's output (an auth
# slice's tests, say) is text too, and may well say "authentication_error".
KEY_REFUSED = re.compile(r"API Error: 40[13]\b|unexpected status 40[13]\b|litellm\.AuthenticationError|"
                         r"Invalid API key · ")
API_BUSY = re.compile(r"API Error: (?:429|5\d\d)\b|status:? (?:429|5\d\d)\b|"
                      r"litellm\.(?:RateLimitError|ServiceUnavailableError|InternalServerError)")


@dataclass(frozen=True)
class ApiFault:
    final: bool  # the key was refused: no retry can mend it
    said: str  # the agent's own line

    @property
    def reason(self) -> str:
        return "its model API refused the key" if self.final else "its model API is busy"


def api_fault(text: str) -> ApiFault | None:
    """The first refused key the agent reports in `text`, else the first busy API, else None."""
    busy = None
    for line in text.splitlines():
        said = own_words(line).strip()
        if not said:
            continue
        if KEY_REFUSED.search(said):
            return ApiFault(True, said[:300])
        if busy is None and API_BUSY.search(said):
            busy = ApiFault(False, said[:300])
    return busy
