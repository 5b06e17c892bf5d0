"""Story identity: the URL key, the text fingerprint, the facts compared, and near-duplicate verification.

These decide whether two feed entries become one published story. A wrong "same" hides a story from readers
(two police reports from different towns shown as one); a wrong "different" shows the same story twice.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from pathlib import Path

import pytest

from workers.dedup import verify
from workers.identity import canonical_url, contradictions, dateline_place, facts, text_fingerprint, url_key
from workers.story import Story

CORPUS = Path(__file__).parent / "data" / "corpus"
LABELS = json.loads((CORPUS / "labels.json").read_text(encoding="utf-8"))
RECORDS = {record["id"]: record for record in LABELS["stories"]}
THRESHOLD = 0.3  # the default `dedup_threshold`


def _story(body_text: str) -> Story:
    return Story(id="x" * 64, feed_id="f", guid=None, url=None, title="t", content_html="", body_text=body_text)


# --- canonical URL and URL key ---------------------------------------------------------------------------------

CANONICAL = "https://example.com/news/a"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("http://example.com/news/a", CANONICAL, id="http-folded-to-https"),
        pytest.param("https://www.example.com/news/a", CANONICAL, id="www-dropped"),
        pytest.param("https://EXAMPLE.Com/news/a", CANONICAL, id="host-lower-cased"),
        pytest.param("https://WWW.EXAMPLE.COM/news/a", CANONICAL, id="upper-case-www-dropped"),
        pytest.param("http://example.com:80/news/a", CANONICAL, id="default-http-port-dropped"),
        pytest.param("https://example.com:443/news/a", CANONICAL, id="default-https-port-dropped"),
        pytest.param("https://example.com:8080/news/a", "https://example.com:8080/news/a", id="other-port-kept"),
        pytest.param("https://example.com/news/a#kommentare", CANONICAL, id="fragment-dropped"),
        pytest.param("https://example.com/news/a/", CANONICAL, id="trailing-slash-folded"),
        pytest.param("https://example.com/", "https://example.com", id="root-slash-folded"),
        pytest.param("https://example.com/news/a?utm_source=rss", CANONICAL, id="utm_source-dropped"),
        pytest.param("https://example.com/news/a?utm_medium=email", CANONICAL, id="utm_medium-dropped"),
        pytest.param("https://example.com/news/a?fbclid=IwAR0abc", CANONICAL, id="fbclid-dropped"),
        pytest.param("https://example.com/news/a?gclid=Cj0KCQ", CANONICAL, id="gclid-dropped"),
        pytest.param("https://example.com/news/a?mc_cid=4f2a", CANONICAL, id="mc_cid-dropped"),
        pytest.param("https://example.com/news/a?mc_eid=91bd", CANONICAL, id="mc_eid-dropped"),
        pytest.param("https://example.com/news/a?msclkid=7c1e", CANONICAL, id="msclkid-dropped"),
        pytest.param("https://example.com/news/a?UTM_Source=rss", CANONICAL, id="tracking-name-case-insensitive"),
        pytest.param("https://example.com/news?id=3", "https://example.com/news?id=3", id="content-param-id-kept"),
        pytest.param(
            "https://example.com/news?artikel=48207&utm_source=rss&fbclid=x",
            "https://example.com/news?artikel=48207",
            id="content-param-kept-tracking-dropped",
        ),
        pytest.param(
            "https://example.com/news?id=3&artikel=48207",
            "https://example.com/news?artikel=48207&id=3",
            id="content-params-sorted",
        ),
        pytest.param("https://example.com/news/%c3%a4", "https://example.com/news/%C3%A4", id="percent-case-upper"),
        pytest.param("https://example.com/news/%7Ea", "https://example.com/news/~a", id="unreserved-decoded"),
        pytest.param("  https://example.com/news/a  ", CANONICAL, id="surrounding-space-stripped"),
        pytest.param(
            "http://www.Example.COM:80/news/a/?utm_source=rss&id=3&gclid=x#top",
            "https://example.com/news/a?id=3",
            id="everything-at-once",
        ),
    ],
)
def test_canonical_url_folds_what_does_not_name_the_story(url: str, expected: str) -> None:
    """Links that differ only in scheme, host spelling, port, fragment, tracking or slash name one article."""
    assert canonical_url(url) == expected


BASE_ARTICLE = "https://www.ndw.example/meldungen/2026/11/09/duengemittel-48207.html?artikel=48207&id=3"


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(
            "http://www.ndw.example/meldungen/2026/11/09/duengemittel-48207.html?artikel=48207&id=3", id="http"
        ),
        pytest.param(
            "https://ndw.example/meldungen/2026/11/09/duengemittel-48207.html?artikel=48207&id=3", id="no-www"
        ),
        pytest.param(
            "https://NDW.example/meldungen/2026/11/09/duengemittel-48207.html?artikel=48207&id=3", id="host-case"
        ),
        pytest.param(
            "https://www.ndw.example:443/meldungen/2026/11/09/duengemittel-48207.html?artikel=48207&id=3", id="port-443"
        ),
        pytest.param(
            "https://www.ndw.example/meldungen/2026/11/09/duengemittel-48207.html?id=3&artikel=48207", id="param-order"
        ),
        pytest.param(
            "https://www.ndw.example/meldungen/2026/11/09/duengemittel-48207.html?artikel=48207&id=3#galerie",
            id="fragment",
        ),
        pytest.param(
            "https://www.ndw.example/meldungen/2026/11/09/duengemittel-48207.html/?artikel=48207&id=3",
            id="trailing-slash",
        ),
        pytest.param(
            "https://www.ndw.example/meldungen/2026/11/09/duengemittel-48207.html"
            "?utm_source=newsletter&utm_medium=email&artikel=48207&mc_cid=a1&mc_eid=b2&id=3",
            id="newsletter-tracking",
        ),
        pytest.param(
            "https://www.ndw.example/meldungen/2026/11/09/duengemittel-48207.html"
            "?artikel=48207&fbclid=IwAR0&gclid=Cj0&msclkid=7c&id=3",
            id="ad-click-ids",
        ),
        pytest.param(
            "http://ndw.example:80/meldungen/2026/11/09/duengemittel-48207.html/?id=3&utm_source=rss&artikel=48207#top",
            id="all-variations",
        ),
    ],
)
def test_same_story_url_variants_share_a_key(variant: str) -> None:
    """The same article linked with another scheme, host spelling or tracking is recognised as one story."""
    assert url_key(variant) == url_key(BASE_ARTICLE)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        pytest.param("https://example.com/news/a", "https://example.com/news/b", id="other-path"),
        pytest.param("https://example.com/news/a", "https://example.com/sport/a", id="other-section"),
        pytest.param("https://example.com/news?id=3", "https://example.com/news?id=4", id="other-id"),
        pytest.param("https://example.com/news?id=3", "https://example.com/news", id="id-missing"),
        pytest.param(
            "https://example.com/news?artikel=48207", "https://example.com/news?artikel=48208", id="other-artikel"
        ),
        pytest.param("https://example.com/news/a", "https://example.org/news/a", id="other-host"),
        pytest.param("https://example.com/news/a", "https://news.example.com/news/a", id="other-subdomain"),
        pytest.param("https://example.com/news/a", "https://example.com:8080/news/a", id="other-port"),
        pytest.param("https://example.com/news/A", "https://example.com/news/a", id="path-case-matters"),
    ],
)
def test_different_articles_get_different_keys(one: str, other: str) -> None:
    """Two different articles are never merged just because their links look alike."""
    assert url_key(one) != url_key(other)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(None, id="none"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("mailto:x@y", id="mailto"),
        pytest.param("ftp://h/x", id="ftp"),
        pytest.param("javascript:alert(1)", id="javascript"),
        pytest.param("http://", id="no-host"),
        pytest.param("http://[::1", id="broken-ipv6-host"),
        pytest.param("not a url", id="not-a-url"),
    ],
)
def test_unusable_url_has_no_key(url: str | None) -> None:
    """An entry without a usable web link gets no URL identity (it is matched by guid or text instead)."""
    assert (canonical_url(url), url_key(url)) == (None, None)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("https://example.com/news/a", id="plain"),
        pytest.param("http://www.example.com/news/a?utm_source=rss&id=3", id="folded"),
        pytest.param("https://example.com/news/%C3%A4", id="percent-encoded"),
    ],
)
def test_url_key_is_the_full_sha256_of_the_canonical_url(url: str) -> None:
    """Keys are full-length SHA-256 hex digests, so unrelated links never collide on a truncated hash."""
    key = url_key(url)
    assert key is not None and re.fullmatch(r"[0-9a-f]{64}", key)
    assert key == hashlib.sha256(canonical_url(url).encode()).hexdigest()


# --- text fingerprint ------------------------------------------------------------------------------------------

TITLE = "Neue Grundschule für Waldblick"
BODY = "Der Gemeinderat hat den Bau am späten Abend beschlossen. Die Schule soll 2029 fertig sein."


@pytest.mark.parametrize(
    ("title", "body"),
    [
        pytest.param(TITLE, BODY.replace(". ", ".  "), id="double-space"),
        pytest.param(TITLE, BODY.replace(". ", ".\n\n"), id="paragraph-break"),
        pytest.param(TITLE, BODY.replace(" ", "\t"), id="tabs"),
        pytest.param(TITLE, BODY.replace("Der ", "Der\u00a0", 1), id="no-break-space"),
        pytest.param(TITLE, f"  \n{BODY}\n  ", id="surrounding-whitespace"),
        pytest.param(TITLE.replace("ü", "u\u0308"), BODY, id="decomposed-umlaut-in-title"),
        pytest.param(TITLE, BODY.replace("spät", "spa\u0308t"), id="decomposed-umlaut-in-body"),
        pytest.param(f"  {TITLE}\n", BODY, id="title-whitespace"),
    ],
)
def test_text_fingerprint_ignores_invisible_differences(title: str, body: str) -> None:
    """Re-sent copies that differ only in whitespace or Unicode composition count as the same text."""
    assert text_fingerprint(title, body) == text_fingerprint(TITLE, BODY)


def test_text_fingerprint_treats_decomposed_and_composed_umlauts_alike() -> None:
    """A decomposed umlaut (a + combining diaeresis) looks like "ä" to a reader, so the fingerprint is the same."""
    assert text_fingerprint("Bericht", "Spa\u0308te Einigung in Bru\u0308ssel") == text_fingerprint(
        "Bericht", "Späte Einigung in Brüssel"
    )


@pytest.mark.parametrize(
    ("title", "body"),
    [
        pytest.param(TITLE, BODY.replace("2029", "2030"), id="number-changed"),
        pytest.param(TITLE, BODY.replace("Bau", "Abriss"), id="word-changed"),
        pytest.param(TITLE, BODY.replace("beschlossen", "vertagt"), id="verb-changed"),
        pytest.param(TITLE, BODY + " Eltern begrüßen das.", id="sentence-added"),
        pytest.param(TITLE, BODY.lower(), id="case-changed"),
        pytest.param("Grundschule für Waldblick beschlossen", BODY, id="headline-changed"),
        pytest.param(TITLE + " Der Gemeinderat", BODY.removeprefix("Der Gemeinderat "), id="text-moved-into-title"),
    ],
)
def test_text_fingerprint_changes_when_the_story_changes(title: str, body: str) -> None:
    """Any change a reader can see, in the headline or the body, gives another fingerprint."""
    assert text_fingerprint(title, body) != text_fingerprint(TITLE, BODY)


# --- facts and contradictions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ours", "theirs", "word"),
    [
        pytest.param("Die Sitzung ist am Montag.", "Die Sitzung ist am Dienstag.", "am", id="weekday"),
        pytest.param("Beginn ist um 19 Uhr.", "Beginn ist um 18.30 Uhr.", "um", id="time"),
        pytest.param("Unfall auf der Bundesstraße 37.", "Unfall auf der Bundesstraße 3.", "bundesstrasse", id="road"),
        pytest.param("Der FC gewann mit 3:1.", "Der FC gewann mit 2:0.", "mit", id="score"),
        pytest.param("Die Messe beginnt im März.", "Die Messe beginnt im April.", "im", id="month"),
        pytest.param(
            "Der Rat tagt am Donnerstag, 12. November.", "Der Rat tagt am Donnerstag, 19. November.", "am", id="date"
        ),
    ],
)
def test_differing_facts_after_the_same_word_contradict(ours: str, theirs: str, word: str) -> None:
    """Template reports about another day, time, road or result are recognised as other stories."""
    found = contradictions(facts(ours), facts(theirs))
    assert [w for w, _, _ in found] == [word]


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        pytest.param("Beginn ist am Montag um 19 Uhr.", "Um 19 Uhr geht es am Montag los.", id="same-facts-reordered"),
        pytest.param("Beginn ist um 19 Uhr.", "Beginn ist um 19.00 Uhr.", id="full-hour-written-two-ways"),
        pytest.param(
            "Auf der Bundesstraße 37 staute es sich am Freitag.",
            "Am Freitag staute es sich auf der Bundesstraße 37.",
            id="road-and-day-reordered",
        ),
        pytest.param("Beginn ist am Montag.", "Beginn ist am Montag um 19 Uhr.", id="time-on-one-side-only"),
        pytest.param("Die Sitzung ist öffentlich.", "Die Sitzung ist am Dienstag.", id="day-on-one-side-only"),
        pytest.param("Die Firma hat 3.000 Beschäftigte.", "Die Firma hat 3000 Beschäftigte.", id="thousands-separator"),
        pytest.param("Anpfiff ist um 18:30 Uhr.", "Anpfiff ist um 18.30 Uhr.", id="time-separator"),
        pytest.param("Die Sitzung ist am Montag.", "Die Sitzung ist AM MONTAG.", id="case"),
    ],
)
def test_matching_or_one_sided_facts_do_not_contradict(ours: str, theirs: str) -> None:
    """A rewrite that keeps the facts, or adds a detail the other lacks, is not mistaken for another story."""
    assert contradictions(facts(ours), facts(theirs)) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("um 18.30 Uhr", {"um#": {"1830"}}, id="time-separator-dropped"),
        pytest.param("um 19.00 Uhr", {"um#": {"19"}}, id="full-hour-is-the-hour"),
        pytest.param(
            "am Donnerstag, 12. November", {"am": {"donnerstag", "november"}, "am#": {"12"}}, id="date-to-one-word"
        ),
        pytest.param("Bundesstraße 37", {"bundesstrasse#": {"37"}}, id="road-number"),
        pytest.param("Die Sitzung ist öffentlich.", {}, id="no-facts"),
    ],
)
def test_facts_are_grouped_by_the_word_before_them(text: str, expected: dict[str, set[str]]) -> None:
    """Facts are keyed by the word that introduces them, so "am Montag" is compared with "am Dienstag"."""
    assert facts(text) == expected


# --- verify against the labelled corpus ------------------------------------------------------------------------

HARD_NEGATIVES = [
    pytest.param(RECORDS[pair["members"][0]], RECORDS[pair["members"][1]], id=f"{pair['id']}-{pair['kind']}")
    for pair in LABELS["hard_negative_pairs"]
]
REWRITE_PAIRS = [
    pytest.param(RECORDS[a], RECORDS[b], id=f"{group['id']}-{a}-{b}")
    for group in LABELS["dup_groups"]
    for a, b in itertools.combinations(
        [m["record"] for m in group["members"] if m["relation"] in ("original", "rewrite")], 2
    )
]


def test_corpus_has_cases() -> None:
    """Guard: the corpus tables below are not silently empty."""
    assert len(HARD_NEGATIVES) >= 8 and len(REWRITE_PAIRS) >= 12


@pytest.mark.parametrize(("ours", "theirs"), HARD_NEGATIVES)
def test_hard_negative_pairs_are_not_merged(ours: dict, theirs: dict) -> None:
    """Look-alike reports (same boilerplate, other town, day or score) stay separate stories, with a reason."""
    similarity, merge, reason = verify(_story(ours["clean_text"]), theirs["clean_text"], THRESHOLD)
    assert not merge, f"merged at {similarity:.2f}: {reason}"
    assert "differ" in reason or "below threshold" in reason


@pytest.mark.parametrize(("ours", "theirs"), REWRITE_PAIRS)
def test_agency_rewrites_are_merged(ours: dict, theirs: dict) -> None:
    """The same story rewritten by another agency or paper is published once."""
    similarity, merge, reason = verify(_story(ours["clean_text"]), theirs["clean_text"], THRESHOLD)
    assert merge, reason
    assert similarity >= THRESHOLD


# --- verify on synthetic tricky cases --------------------------------------------------------------------------
# Invented texts: people, shops, clubs and phone numbers are fictional.

POLICE_WEINHEIM = (
    "WEINHEIM (pol): "
    "Unbekannte sind in der Nacht zum Dienstag in eine Bäckerei in der Hauptstraße eingebrochen. "
    "Nach ersten Erkenntnissen hebelten die Täter gegen 2.30 Uhr die Hintertür auf und erbeuteten rund 400 Euro "
    "Wechselgeld aus der Kasse. "
    "Ein Anwohner hörte verdächtige Geräusche und verständigte die Polizei, die Streife traf aber niemanden mehr "
    "an.\n\n"
    "Die Polizei bittet Zeugen, die im Tatzeitraum verdächtige Personen oder Fahrzeuge beobachtet haben, sich "
    "beim zuständigen Polizeirevier unter der Telefonnummer 0621 174-4444 zu melden. "
    "Hinweise nimmt auch jede andere Polizeidienststelle entgegen. "
    "Die Kriminalpolizei hat die Spuren am Tatort gesichert, die Ermittlungen dauern an."
)

POLICE_HEMSBACH = (
    "HEMSBACH (pol): "
    "Unbekannte sind in der Nacht zum Donnerstag in einen Kiosk in der Bahnhofstraße eingebrochen. "
    "Nach ersten Erkenntnissen schlugen die Täter gegen 4 Uhr eine Scheibe ein und erbeuteten Zigaretten im Wert "
    "von rund 1200 Euro. "
    "Ein Anwohner hörte das Klirren und verständigte die Polizei, die Streife traf aber niemanden mehr an.\n\n"
    "Die Polizei bittet Zeugen, die im Tatzeitraum verdächtige Personen oder Fahrzeuge beobachtet haben, sich "
    "beim zuständigen Polizeirevier unter der Telefonnummer 0621 174-4444 zu melden. "
    "Hinweise nimmt auch jede andere Polizeidienststelle entgegen. "
    "Die Kriminalpolizei hat die Spuren am Tatort gesichert, die Ermittlungen dauern an."
)

DISPATCH = (
    "MOSBACH (ndw): "
    "Der Gemeinderat von Mosbach hat am Mittwochabend den Bau einer neuen Grundschule im Stadtteil Waldblick "
    "beschlossen. "
    "Das Gebäude soll Platz für 320 Kinder bieten und im Sommer 2029 fertig sein. "
    "Die Kosten schätzt die Verwaltung auf 18,5 Millionen Euro, das Land übernimmt etwa ein Drittel. "
    "Oberbürgermeisterin Jolanda Pfistermann sprach von einer Investition in die Zukunft der Stadt. "
    "Die Fraktion der Freien Wähler stimmte dagegen und verwies auf die angespannte Haushaltslage. "
    "Eltern hatten seit Jahren über zu enge Klassenräume in der alten Schule geklagt. "
    "Der Architektenwettbewerb soll noch in diesem Winter ausgeschrieben werden. "
    "Während der Bauzeit bleibt der Unterricht im bisherigen Gebäude."
)

DISPATCH_REWRITE = (
    "MOSBACH (ndw): "
    "Der Gemeinderat von Mosbach hat am Mittwochabend den Bau einer neuen Grundschule im Stadtteil Waldblick "
    "beschlossen. "
    "Oberbürgermeisterin Jolanda Pfistermann sprach von einer Investition in die Zukunft der Stadt. "
    "Das Gebäude soll Platz für 320 Kinder bieten und im Sommer 2029 fertig sein. "
    "Die Kosten schätzt die Verwaltung auf 18,5 Millionen Euro, das Land übernimmt etwa ein Drittel. "
    "Der Architektenwettbewerb soll noch in diesem Winter ausgeschrieben werden. "
    "Die Fraktion der Freien Wähler stimmte dagegen und verwies auf die angespannte Haushaltslage. "
    "Während der Bauzeit bleibt der Unterricht im bisherigen Gebäude."
)

WEATHER_MONDAY = (
    "OFFENBACH (ndw): "
    "Am Montag bleibt es im Südwesten überwiegend stark bewölkt, gebietsweise fällt leichter Regen. "
    "Die Höchstwerte liegen zwischen 11 und 14 Grad, im Bergland bei 8 Grad. "
    "Der Wind weht schwach bis mäßig aus Südwest, auf den Höhen sind einzelne stürmische Böen möglich. "
    "In der Nacht lockert die Bewölkung von Westen her auf, die Tiefstwerte sinken auf 5 bis 2 Grad. "
    "In ungeschützten Lagen ist Bodenfrost möglich. "
    "Der Wetterdienst rät Autofahrern, in den frühen Morgenstunden mit glatten Straßen auf Brücken zu rechnen "
    "und vorsichtig zu fahren."
)

WEATHER_TUESDAY = (
    "OFFENBACH (ndw): "
    "Am Dienstag bleibt es im Südwesten überwiegend stark bewölkt, gebietsweise fällt leichter Regen. "
    "Die Höchstwerte liegen zwischen 7 und 10 Grad, im Bergland bei 4 Grad. "
    "Der Wind weht schwach bis mäßig aus Südwest, auf den Höhen sind einzelne stürmische Böen möglich. "
    "In der Nacht lockert die Bewölkung von Westen her auf, die Tiefstwerte sinken auf 1 bis minus 3 Grad. "
    "In ungeschützten Lagen ist Bodenfrost möglich. "
    "Der Wetterdienst rät Autofahrern, in den frühen Morgenstunden mit glatten Straßen auf Brücken zu rechnen "
    "und vorsichtig zu fahren."
)

MATCH_A = (
    "ALTHEIM (mb): "
    "Der FC Altheim hat am Sonntag sein Heimspiel in der Kreisliga gegen den SV Rotbach mit 3:1 gewonnen. "
    "Vor 240 Zuschauern brachte Timo Kesselring die Gastgeber in der 12. "
    "Minute in Führung, Rotbach glich kurz vor der Pause durch einen Foulelfmeter aus. "
    "Nach dem Seitenwechsel drängten die Gastgeber auf das zweite Tor und wurden belohnt: "
    "Erst traf Jannik Oswald per Kopf, dann machte erneut Kesselring alles klar. "
    "Mit dem Sieg klettert der FC Altheim auf den vierten Tabellenplatz. "
    "Am kommenden Wochenende tritt die Mannschaft auswärts an, Anpfiff ist um 15 Uhr. "
    "Die Ergebnisse aller Partien des Spieltags und die aktuelle Tabelle der Kreisliga stehen wie immer im "
    "Sportteil der Montagsausgabe."
)

MATCH_B = (
    "NEUBERG (mb): "
    "Der TSV Neuberg hat am Sonntag sein Heimspiel in der Kreisliga gegen die SpVgg Lindenhof mit 2:0 gewonnen. "
    "Vor 180 Zuschauern brachte Dennis Maurer die Gastgeber in der 34. "
    "Minute in Führung, Lindenhof scheiterte kurz vor der Pause mit einem Foulelfmeter. "
    "Nach dem Seitenwechsel drängten die Gastgeber auf das zweite Tor und wurden belohnt: "
    "Erst traf Luca Brenner per Kopf, dann hielt die Abwehr bis zum Schlusspfiff. "
    "Mit dem Sieg klettert der TSV Neuberg auf den siebten Tabellenplatz. "
    "Am kommenden Wochenende tritt die Mannschaft auswärts an, Anpfiff ist um 15 Uhr. "
    "Die Ergebnisse aller Partien des Spieltags und die aktuelle Tabelle der Kreisliga stehen wie immer im "
    "Sportteil der Montagsausgabe."
)


@pytest.mark.parametrize(
    ("ours", "theirs", "merge", "reason"),
    [
        pytest.param(POLICE_WEINHEIM, POLICE_HEMSBACH, False, "facts differ", id="police-same-boilerplate-other-town"),
        pytest.param(DISPATCH, DISPATCH_REWRITE, True, "near-duplicate", id="dispatch-reordered-sentence-dropped"),
        pytest.param(WEATHER_MONDAY, WEATHER_TUESDAY, False, "facts differ", id="weather-other-day-and-temperatures"),
        pytest.param(MATCH_A, MATCH_B, False, "facts differ", id="match-template-other-teams-and-score"),
    ],
)
def test_tricky_look_alikes(ours: str, theirs: str, merge: bool, reason: str) -> None:
    """Texts alike enough to pass the similarity threshold are merged only when their facts agree, so a
    reader sees a rewrite once but two burglaries, two forecasts or two matches as separate stories."""
    similarity, merged, why = verify(_story(ours), theirs, THRESHOLD)
    assert merged is merge, f"similarity {similarity:.2f}: {why}"
    assert reason in why


# --- datelines -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "place"),
    [
        pytest.param("BRÜSSEL (ndw): Die Minister einigten sich.", "brüssel", id="agency-caps"),
        pytest.param("Brüssel (dnk) – Die Minister einigten sich.", "brüssel", id="agency-name"),
        pytest.param("LUDWIGSHAFEN AM RHEIN (ndw): Eine Halle brannte.", "ludwigshafen", id="caps-several-words"),
        pytest.param("Viernheim, 9. November 2026 – Die Firma eröffnet.", "viernheim", id="press-release-date"),
        pytest.param("Neustadt an der Weinstraße, 9. November 2026 – Das Team.", "neustadt", id="town-with-an-der"),
        pytest.param("Kiel. Mehrere Staaten wollen kooperieren.", "kiel", id="name-and-full-stop"),
        pytest.param("FRANKFURT/MAIN (ndw): Der Dax schloss höher.", "frankfurt", id="slash"),
        pytest.param("WHITEHAVEN, England (CWS) — The home side won.", "whitehaven", id="english-wire"),
        pytest.param("Die Stadt Speyer will im Sommer, so der Plan, bauen.", None, id="ordinary-sentence"),
        pytest.param("Der Weihnachtsmarkt öffnet. Er hat 40 Buden.", None, id="no-dateline"),
    ],
)
def test_the_dateline_place_is_read_from_how_wire_copy_opens(text: str, place: str | None) -> None:
    assert dateline_place(text) == place


POLICE_TEMPLATE = (
    "{town}: Unbekannte sind in der Nacht zum Montag in ein Geschäft in der Innenstadt eingebrochen. Die Täter "
    "hebelten gegen 3 Uhr die Hintertür auf und durchsuchten die Verkaufsräume. Sie erbeuteten Bargeld in Höhe "
    "von etwa 500 Euro. Der Sachschaden wird auf rund 1.000 Euro geschätzt. Die Polizei bittet Zeugen, die "
    "verdächtige Personen beobachtet haben, sich beim zuständigen Revier zu melden. Hinweise nimmt die "
    "Kriminalpolizei unter der bekannten Rufnummer entgegen."
)


def test_template_reports_filed_from_other_towns_stay_apart_even_with_the_same_figures() -> None:
    """Two police reports alike to the last number are still two burglaries when filed from two towns."""
    similarity, merge, reason = verify(
        _story(POLICE_TEMPLATE.format(town="WEINHEIM")), POLICE_TEMPLATE.format(town="HEMSBACH"), 0.3
    )

    assert similarity > 0.8
    assert not merge
    assert "datelines differ (weinheim vs hemsbach)" in reason


def test_the_same_dispatch_with_the_dateline_written_another_way_is_merged() -> None:
    similarity, merge, _ = verify(
        _story(POLICE_TEMPLATE.format(town="WEINHEIM (ndw)")), POLICE_TEMPLATE.format(town="Weinheim (dnk) –"), 0.3
    )

    assert merge and similarity > 0.8
