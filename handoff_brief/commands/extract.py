"""`handoff-brief extract`: print the handoff JSON that a PDF/A-3 brief carries."""

from __future__ import annotations

from ..embedded import EMBEDDED_NAME, NothingEmbedded, embedded_handoff
from ..errors import HandoffBriefError, InvalidHandoff
from .common import Outcome


def run(source: str, outcome: Outcome | None = None) -> Outcome:
    outcome = outcome or Outcome()
    try:
        data = embedded_handoff(source)
    except NothingEmbedded:
        raise HandoffBriefError(f"{source}: carries no {EMBEDDED_NAME}; only briefs rendered "
                                "with --pdf-variant pdf/a-3b or pdf/a-3u embed the "
                                "handoff") from None
    except InvalidHandoff as error:
        problems = "\n".join(f"  {problem}" for problem in error.problems)
        raise HandoffBriefError(f"{error.headline}:\n{problems}\nhandoff-brief embeds only "
                                "valid handoffs, so this PDF was changed after it was rendered "
                                "or written by another tool; render the brief again from its "
                                "handoff") from None
    outcome.say(data.decode("utf-8").rstrip("\n"))
    return outcome
