"""Language detection: the configured languages only, the feed's hint on short text, clear and mixed prose."""

from __future__ import annotations

import pytest

from workers.language import detect_language

GERMAN = (
    "Die Außenminister der Europäischen Union haben am Montag in Brüssel über weitere Hilfen für die Ukraine "
    "beraten. Nach dem Treffen sagte die Delegationsleiterin, man sei sich über die Grundzüge einig, die "
    "Einzelheiten würden aber noch verhandelt."
)
ENGLISH = (
    "The foreign ministers of the European Union met in Brussels on Monday to discuss further aid for Ukraine. "
    "After the meeting the head of the delegation said that they had agreed on the outline, but that the "
    "details were still being negotiated."
)
# Few function words of either list: the detector decides, not the vote.
GERMAN_TELEGRAM = "Bundesliga: Hoffenheim schlägt Freiburg klar. Kramarić trifft doppelt, Baumann hält Elfmeter."
# An English headline and quote over German copy: the German function words outvote the borrowed ones.
MIXED = (
    "“Made in Germany” is back – Exporte der Maschinenbauer steigen wieder. Die Branche meldet für das dritte "
    "Quartal ein Plus, wie der Verband am Dienstag in Frankfurt mitteilte. „Das ist mehr als erwartet“, sagte "
    "der Präsident des Verbands."
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [(GERMAN, "de"), (ENGLISH, "en"), (GERMAN_TELEGRAM, "de"), (MIXED, "de")],
    ids=["german", "english", "german-telegram-style", "english-quote-in-german"],
)
def test_detects_german_and_english(text: str, expected: str) -> None:
    assert detect_language(text, ["de", "en"]) == expected


def test_short_text_falls_back_to_the_feed_hint() -> None:
    assert detect_language("Eilmeldung", ["de", "en"], hint="en") == "en"


def test_answer_is_always_a_configured_language() -> None:
    french = "Les ministres des affaires étrangères se sont réunis lundi à Bruxelles pour parler de l'aide."
    assert detect_language(french, ["de", "en"]) in ("de", "en")


def test_a_language_without_a_function_word_list_is_left_to_the_detector() -> None:
    french = (
        "Les ministres des affaires étrangères de l'Union européenne se sont réunis lundi à Bruxelles pour "
        "discuter d'une aide supplémentaire à l'Ukraine. Le chef de la délégation a dit que les détails restent."
    )
    assert detect_language(french, ["de", "en", "fr"]) == "fr"


def test_one_configured_language_needs_no_detection() -> None:
    assert detect_language(ENGLISH, ["de"]) == "de"
