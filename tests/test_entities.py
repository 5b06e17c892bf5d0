"""Entity tagger (`workers.entities`): one behaviour per test, on short invented sentences; plus the corpus score."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workers.entities import Entities, extract_entities, warm_up

CORPUS_LABELS = Path(__file__).parent / "data" / "corpus" / "labels.json"


def tag(body: str, *, title: str = "", language: str = "de") -> Entities:
    return extract_entities(title, body, language)


@pytest.mark.parametrize(
    ("body", "language", "place"),
    [
        ("Die Delegation reiste weiter nach Mailand.", "de", "Mailand"),
        ("Der Zug aus Warschau hatte Verspätung.", "de", "Warschau"),
        ("Ministers met in Brussels on Monday.", "en", "Brüssel"),
        ("The court in The Hague ruled on Friday.", "en", "Den Haag"),
        ("Die Fähre legte in Ludwigshafen an.", "de", "Ludwigshafen am Rhein"),
        ("FRANKFURT/MAIN (xyz): Die Börse schloss fester.", "de", "Frankfurt am Main"),
        ("Neustadt. Die Weinlese ist beendet.", "de", "Neustadt an der Weinstraße"),
        ("Die Kommission tagte in Kyjiw.", "de", "Kiew"),
    ],
    ids=[
        "mailand",
        "warschau",
        "brussels",
        "the-hague",
        "ludwigshafen-short",
        "frankfurt-dateline",
        "neustadt-dateline",
        "kyjiw",
    ],
)
def test_places_are_canonical_german_names(body: str, language: str, place: str) -> None:
    assert place in tag(body, language=language).places


@pytest.mark.parametrize(
    ("body", "absent"),
    [
        ("Der Mannheimer Stadtrat Paul Kern stimmte dagegen.", "Mannheim"),
        ("Belgische Behörden ermitteln gegen den Händler.", "Belgien"),
        ("Im Speyerer Dom fand ein Konzert statt.", "Speyer"),
        ("Die Bäckerei liegt in der Weinheimer Hauptstraße.", "Weinheim"),
    ],
    ids=["mannheimer", "belgische", "speyerer", "weinheimer"],
)
def test_demonyms_are_not_places(body: str, absent: str) -> None:
    assert absent not in tag(body).places


@pytest.mark.parametrize(
    ("body", "org", "place"),
    [
        ("Das Regierungspräsidium Karlsruhe bittet um Geduld.", "Regierungspräsidium Karlsruhe", "Karlsruhe"),
        ("Die Anzeige nahm das Polizeirevier Eberbach auf.", "Polizeirevier Eberbach", "Eberbach"),
        ("Der FC Viktoria Hemsbach gewann mit 2:0.", "FC Viktoria Hemsbach", "Hemsbach"),
    ],
    ids=["regierungspraesidium", "polizeirevier", "football-club"],
)
def test_place_only_inside_an_organisation_name_is_not_a_place(body: str, org: str, place: str) -> None:
    found = tag(body)
    assert org in found.organizations
    assert place not in found.places


@pytest.mark.parametrize(
    ("body", "language", "org"),
    [
        ("Die EZB hält die Zinsen stabil.", "de", "Europäische Zentralbank"),
        ("Die Minister der Europäischen Union berieten.", "de", "Europäische Union"),
        ("Mehrere Nato-Staaten schicken Schiffe.", "de", "NATO"),
        ("Ein Vertreter der Vereinten Nationen sprach.", "de", "Vereinte Nationen"),
        ("The ECB kept rates on hold.", "en", "Europäische Zentralbank"),
        ("The EU's trade chief travelled to Tokyo.", "en", "Europäische Union"),
    ],
    ids=["ezb", "eu-genitive", "nato-compound", "un-dative", "ecb-english", "eu-possessive"],
)
def test_organisation_aliases_map_to_canonical_names(body: str, language: str, org: str) -> None:
    assert org in tag(body, language=language).organizations


@pytest.mark.parametrize(
    ("body", "language", "org"),
    [
        ("Die Lindner Feinmechanik GmbH stellt zehn Leute ein.", "de", "Lindner Feinmechanik GmbH"),
        ("Der Kleingartenverein Sonnenhang e.V. feiert.", "de", "Kleingartenverein Sonnenhang e.V."),
        ("Der TSV Grünbach siegte deutlich.", "de", "TSV Grünbach"),
        ("Der Sprecher des Landesamts für Straßenbau schwieg.", "de", "Landesamt für Straßenbau"),
        ("Die Auswahl des Deutschen Ringerbundes reist an.", "de", "Deutscher Ringerbund"),
        ("Der Energiekonzern Voltara senkt die Preise.", "de", "Voltara"),
        ("Analysts at the Harbour Research Institute disagreed.", "en", "Harbour Research Institute"),
        ("Kestrel Rovers drew 1-1 at home.", "en", "Kestrel Rovers"),
    ],
    ids=["gmbh", "ev", "club-prefix", "landesamt-genitive", "adjective-genitive", "descriptor", "en-suffix", "en-club"],
)
def test_organisations_found_by_form(body: str, language: str, org: str) -> None:
    assert org in tag(body, language=language).organizations


@pytest.mark.parametrize(
    ("body", "language", "person"),
    [
        ("„Wir bleiben dran“, sagte Bürgermeisterin Dr. Ines Haller.", "de", "Ines Haller"),
        ("Das bestätigte Prof. Dr. Konrad Weißgerber am Montag.", "de", "Konrad Weißgerber"),
        ("Delegationsleiterin Wairimu Ndegwa-Kimani forderte mehr Geld.", "de", "Wairimu Ndegwa-Kimani"),
        ("“It was hard,” said Tavita Leiataua after the race.", "en", "Tavita Leiataua"),
    ],
    ids=["role-and-title", "two-titles", "role-unknown-given-name", "en-speech-verb"],
)
def test_persons_without_titles_or_functions(body: str, language: str, person: str) -> None:
    assert tag(body, language=language).persons == [person]


@pytest.mark.parametrize(
    "body",
    [
        "Foto: Jana Beispiel\n\nDer Markt öffnet am Samstag.",
        "Von Max Muster\n\nDer Markt öffnet am Samstag.",
        "Der Markt öffnet am Samstag. (Foto: Jana Beispiel)",
        "Text und Foto: Jana Beispiel\n\nDer Markt öffnet am Samstag.",
    ],
    ids=["photo-credit-line", "byline", "inline-credit", "text-and-photo"],
)
def test_bylines_and_credits_are_not_persons(body: str) -> None:
    assert tag(body).persons == []


def test_surname_alone_is_no_new_person_and_no_place() -> None:
    found = tag("Trainerin Sandra Weil lobte das Team. „Wir waren gut“, sagte Weil.")
    assert (found.persons, found.places) == (["Sandra Weil"], [])


def test_english_story_gets_german_canonical_places() -> None:
    found = tag(
        "DUBLIN, Ireland (XYZ) — The firm will open offices in Munich and Cologne and hire staff near "
        "Ludwigshafen, close to the Rhine, it said. Rivals in Scotland and the Netherlands were surprised.",
        language="en",
    )
    assert found.places == [
        "Dublin",
        "Irland",
        "München",
        "Köln",
        "Ludwigshafen am Rhein",
        "Rhein",
        "Schottland",
        "Niederlande",
    ]


def test_districts_and_quoted_titles_are_not_places() -> None:
    found = tag("Im Stadtteil Neckarau eröffnet das Festival „Klänge aus Pfalz“ in Mannheim.")
    assert found.places == ["Mannheim"]


def test_dev_corpus_micro_f1_per_field() -> None:
    warm_up()
    stories = json.loads(CORPUS_LABELS.read_text(encoding="utf-8"))["stories"]
    counts = {name: [0, 0, 0] for name in ("persons", "organizations", "places")}  # hits, predicted, expected
    for record in stories:
        found = extract_entities(record["title"], record["clean_text"], record["language"])
        for name, count in counts.items():
            got, want = set(getattr(found, name)), set(record[name])
            count[0] += len(got & want)
            count[1] += len(got)
            count[2] += len(want)
    for name, (hits, predicted, expected) in counts.items():
        precision, recall = hits / predicted, hits / expected
        f1 = 2 * precision * recall / (precision + recall)
        assert f1 >= 0.85, f"{name}: P={precision:.3f} R={recall:.3f} F1={f1:.3f}"
