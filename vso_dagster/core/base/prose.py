"""Phrases a slice spec builds from the master's own words, so they read as a person wrote them.

An endpoint's description is sometimes an instruction ("Create a todo") and sometimes a noun phrase
("Predicted arrival time"); "call X to …" needs the first, so a noun phrase becomes "to get the …".
Telling them apart looks at the first word: a common API verb, in the base or the third-person form
("Lists todos"), unless a preposition follows ("Lists of todos"). A rule of thumb, not a grammar.
"""

from __future__ import annotations

import re

VERBS = frozenset("""
accept add approve archive assign authenticate authorize book browse build calculate cancel change
charge check claim clear close collect complete compute confirm connect copy count create deactivate
delete deliver describe disable dispatch download edit email enable enqueue estimate exchange export
fetch filter find flag follow generate get grant import invite issue join list load lock log look
mark merge move notify open order pay ping place poll post predict preview publish purge put queue
rank rate read recommend record redeem refresh refund register reject remove rename render reorder
replace report request reschedule reset resolve restore retrieve retry return revoke rotate run save
schedule score search see send set share show sign start stop store stream submit subscribe summarize
summarise suspend sync tag track transfer trigger unlock unsubscribe update upload upsert validate
verify view vote withdraw
""".split())
DETERMINERS = frozenset("a an the one all each every any some no this that these those its their your our my".split())
PREPOSITIONS = frozenset("of for in on by from with within at about per to".split())
_WORD = re.compile(r"[A-Za-z]+")


def lowerfirst(text: str) -> str:
    """'Create a todo' -> 'create a todo'; an acronym ('ETA', 'JSON') keeps its case."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def base_verb(word: str) -> str | None:
    """The verb a description starts with ('Lists' -> 'list'), or None if it is not one."""
    word = word.lower()
    for form in (word, word[:-3] + "y" if word.endswith("ies") else "", word[:-2] if word.endswith("es") else "",
                 word[:-1] if word.endswith("s") else ""):
        if form in VERBS:
            return form
    return None


def purpose(description: str) -> str:
    """What calling an endpoint is for, as an infinitive: 'to create a todo', 'to get the
    predicted arrival time'; '' for an endpoint with no description."""
    text = description.strip().rstrip(".")
    words = _WORD.findall(text)
    first = _WORD.match(text)
    if not first:
        return ""
    noun_follows = len(words) > 1 and words[1].lower() in PREPOSITIONS
    if (verb := base_verb(first.group(0))) and not noun_follows:
        return f"to {verb}{text[first.end():]}"
    article = "" if first.group(0).lower() in DETERMINERS else "the "
    return f"to get {article}{lowerfirst(text)}"


def requirement_clause(requirement: dict) -> str:
    """A planned non-functional requirement ({"kind", "text"}) as something the system must do:
    'Availability: 99.5% monthly' -> 'meet the availability requirement: 99.5% monthly'. The
    master spec's parser took the kind from the text's own label, when it has one."""
    kind, text = requirement["kind"], requirement["text"].strip()
    label, _, rest = text.partition(":")
    if rest and label.strip().title() == kind:
        return f"meet the {kind.lower()} requirement: {rest.strip()}"
    return f"meet this requirement: {text}"
