"""Category, free tags, regional flag and keywords (workers/classify.py) with config/tags.yaml and config/region.yaml.

The examples are invented, short and written for the kind of case they test; the dev corpus is only used for the
accuracy targets at the end.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from workers.classify import categorize, load_taxonomy
from workers.errors import ConfigError
from workers.keywords import keywords
from workers.region import is_regional, load_region

ROOT = Path(__file__).resolve().parent.parent
TAGS = ROOT / "config" / "tags.yaml"
REGION = ROOT / "config" / "region.yaml"
LABELS = Path(__file__).parent / "data" / "corpus" / "labels.json"


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy(TAGS)


@pytest.fixture(scope="module")
def region():
    return load_region(REGION)


# --- the shipped configuration --------------------------------------------------------------------------------------


def test_shipped_taxonomy_has_the_six_categories_in_order(taxonomy):
    """tags.yaml loads and declares the newsroom's categories, Panorama as the fallback."""
    assert taxonomy.categories == ("Politik", "Wirtschaft", "Sport", "Kultur", "Panorama", "Wissen")
    assert taxonomy.default == "Panorama"
    assert {"Polizei", "Verkehr", "Wetter"} <= {rules.name for rules in taxonomy.tags}


def test_shipped_region_is_rhein_neckar(region):
    """region.yaml loads: the Rhein-Neckar towns, with Ludwigshafen under its canonical name."""
    assert region.name == "Rhein-Neckar"
    assert {"Mannheim", "Heidelberg", "Ludwigshafen am Rhein", "Neustadt an der Weinstraße", "Mosbach"} <= set(
        region.towns
    )


def test_loading_is_cached_until_the_file_changes(tmp_path):
    """The same file gives the same object; a rewritten file is read again."""
    path = tmp_path / "tags.yaml"
    path.write_text("categories:\n  - name: A\n    keywords: {1: [eins]}\n", encoding="utf-8")
    first = load_taxonomy(path)
    assert load_taxonomy(path) is first
    path.write_text("categories:\n  - name: B\n    keywords: {1: [zwei]}\n", encoding="utf-8")
    os.utime(path, ns=(first_ns := path.stat().st_mtime_ns + 10**9, first_ns))
    assert load_taxonomy(path).categories == ("B",)


# --- categories -----------------------------------------------------------------------------------------------------

CATEGORY_CASES = [
    (
        "Politik",
        "Kreistag streitet über neue Buslinien",
        (
            "Der Kreistag hat am Dienstag über den Nahverkehrsplan beraten. Die Fraktionen von CDU und SPD legten einen "
            "gemeinsamen Antrag vor, die Opposition kündigte Widerstand an. Der Landrat will im Januar abstimmen lassen."
        ),
    ),
    (
        "Wirtschaft",
        "Möbelhersteller steigert Umsatz deutlich",
        (
            "Ein mittelständischer Möbelhersteller hat seinen Umsatz im Geschäftsjahr um elf Prozent gesteigert. Der "
            "Gewinn wuchs stärker als erwartet, teilte der Vorstand mit. Das Unternehmen will 60 Arbeitsplätze schaffen."
        ),
    ),
    (
        "Sport",
        "Zweitligist holt Punkt beim Tabellenführer",
        (
            "Mit einem späten Treffer hat der Zweitligist beim Tabellenführer ein 1:1 erreicht. Der Trainer lobte die "
            "Abwehr seiner Mannschaft. In der Tabelle bleibt das Team auf Rang sieben."
        ),
    ),
    (
        "Kultur",
        "Stadttheater eröffnet Spielzeit mit Komödie",
        (
            "Das Stadttheater eröffnet die neue Spielzeit mit einer Komödie. Die Regisseurin hat das Stück in die "
            "Gegenwart verlegt. Zur Premiere spielt auch das Orchester des Hauses; Karten gibt es an der Theaterkasse."
        ),
    ),
    (
        "Panorama",
        "Autofahrer flüchtet nach Unfall",
        (
            "Nach einem Unfall auf der Landstraße ist ein Autofahrer geflüchtet. Eine Radfahrerin wurde leicht verletzt. "
            "Die Polizei sucht Zeugen, die den dunklen Wagen gesehen haben."
        ),
    ),
    (
        "Wissen",
        "Forscherinnen entdecken neue Tiefseeart",
        (
            "Ein Forschungsteam hat in der Tiefsee eine bisher unbekannte Tierart entdeckt. Die Wissenschaftlerinnen "
            "beschreiben den Fund in einer Studie. Proben werden nun im Labor der Universität untersucht."
        ),
    ),
    (
        "Wirtschaft",
        "Carmaker cuts jobs as demand slows",
        (
            "A European carmaker said on Tuesday it would cut 2,000 jobs as demand for electric vehicles slowed. Shares "
            "of the company fell four percent. Investors had expected weaker earnings after a difficult quarter."
        ),
    ),
    (
        "Sport",
        "Striker scores twice as leaders stay unbeaten",
        (
            "The league leaders stayed unbeaten after their striker scored twice in a 3-1 win. The coach praised the "
            "squad's energy in the second half of the match."
        ),
    ),
]


@pytest.mark.parametrize(
    ("expected", "title", "body"),
    CATEGORY_CASES,
    ids=[f"{case[0]}-{case[1].split()[0]}" for case in CATEGORY_CASES],
)
def test_a_story_gets_the_category_of_its_kind(taxonomy, expected, title, body):
    """One invented story per kind of news (and two in English) lands in its category."""
    category, _tags = categorize(title, body, taxonomy)

    assert category == expected


# The body has the same evidence for Wirtschaft (Sparkasse) and Sport (Verein); the headline decides.
BALANCED_BODY = "Der Verein und die Sparkasse stellten am Abend gemeinsame Pläne vor."


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Verein stellt neuen Trainer vor", "Sport"),
        ("Sparkasse steigert ihren Umsatz", "Wirtschaft"),
        ("Neuigkeiten vom Abend", "Wirtschaft"),
    ],
    ids=["title-sport", "title-wirtschaft", "neutral-title-tie-goes-to-config-order"],
)
def test_title_words_weigh_more_than_body_words(taxonomy, title, expected):
    """The same body goes to the category its headline names; a neutral headline leaves a tie to config order."""
    category, _tags = categorize(title, BALANCED_BODY, taxonomy)

    assert category == expected


def test_one_title_word_outweighs_the_same_word_in_the_body(taxonomy):
    """A Sport word in the headline beats a Wirtschaft word of the same weight in the lead."""
    category, _tags = categorize("Verein lädt zum Empfang", "Auch die Sparkasse ist am Abend dabei.", taxonomy)

    assert category == "Sport"


TIE_TAXONOMY = """
default: Alpha
categories:
  - name: Alpha
    keywords: {2: [Anpfiff]}
  - name: Beta
    hints: [Vermischtes]
    keywords: {2: [Konzert, "*schau*"]}
"""


@pytest.mark.parametrize(
    ("title", "hint", "expected"),
    [
        ("Anpfiff zum Konzert", None, "Alpha"),
        ("Anpfiff zum Konzert", "Beta", "Beta"),
        ("Anpfiff zum Konzert", "vermischtes", "Beta"),
        ("Anpfiff zum Konzert", "Unbekannt", "Alpha"),
        ("Nichts davon", None, "Alpha"),
        ("Nichts davon", "Beta", "Beta"),
        ("Anpfiff, Anpfiff und Anpfiff zur Modenschau", "Beta", "Alpha"),
    ],
    ids=["tie-first", "tie-hint", "tie-hint-alias", "unknown-hint", "no-evidence-default", "no-evidence-hint",
         "clear-text-beats-hint"],
)  # fmt: skip
def test_the_feed_hint_breaks_a_tie_but_does_not_override(tmp_path, title, hint, expected):
    """A tie goes to the hinted category (or the first one); clear evidence beats the hint."""
    path = tmp_path / "tags.yaml"
    path.write_text(TIE_TAXONOMY, encoding="utf-8")

    category, _tags = categorize(title, "", load_taxonomy(path), hint=hint)

    assert category == expected


FORMS_TAXONOMY = """
default: Keine
categories:
  - name: Keine
    keywords: {1: [nichtsdergleichen]}
  - name: Exakt
    keywords: {1: [Tor]}
  - name: Anfang
    keywords: {1: [Minister*]}
  - name: Ende
    keywords: {1: ["*wahl"]}
  - name: Mitte
    keywords: {1: ["*schau*"]}
  - name: Phrase
    keywords: {1: [Deutscher Wetter*]}
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ein TOR", "Exakt"),
        ("Torwart", "Keine"),
        ("Ministerin", "Anfang"),
        ("Minister", "Anfang"),
        ("Kommunalwahl", "Ende"),
        ("Wahl", "Keine"),
        ("Modenschauen", "Mitte"),
        ("Der Deutsche Wetterdienst", "Keine"),
        ("Deutscher Wetterdienst", "Phrase"),
        ("EU-Minister", "Anfang"),
    ],
    ids=["exact-any-case", "exact-not-a-prefix", "prefix", "prefix-bare-word", "suffix-compound", "suffix-not-bare",
         "infix", "phrase-needs-its-words", "phrase", "hyphen-parts"],
)  # fmt: skip
def test_term_forms_match_as_documented(tmp_path, text, expected):
    """Word, stem*, *head, *part* and phrases match as tags.yaml documents."""
    path = tmp_path / "tags.yaml"
    path.write_text(FORMS_TAXONOMY, encoding="utf-8")

    assert categorize(text, "", load_taxonomy(path))[0] == expected


def test_a_hint_against_a_clear_story_changes_nothing(taxonomy):
    """A football report from a culture feed stays Sport."""
    title, body = CATEGORY_CASES[2][1:]

    assert categorize(title, body, taxonomy, hint="Kultur")[0] == "Sport"


@pytest.mark.parametrize(
    ("title", "body", "wanted", "unwanted"),
    [
        (
            "Einbrecher in Kiosk gefasst",
            "Die Polizei hat zwei Einbrecher festgenommen. Zeugen hatten die Beamten alarmiert.",
            {"Polizei"},
            {"Wetter"},
        ),
        (
            "Glätte und Schnee zum Wochenstart",
            "Der Wetterdienst erwartet Schnee und Glätte, die Temperaturen fallen unter null Grad.",
            {"Wetter"},
            {"Polizei"},
        ),
        (
            "Vollsperrung auf der Autobahn",
            "Wegen einer Baustelle ist die Autobahn am Wochenende gesperrt, eine Umleitung ist ausgeschildert.",
            {"Verkehr"},
            {"Wetter"},
        ),
        ("Galerie zeigt Zeichnungen", "Die Ausstellung zeigt Zeichnungen aus drei Jahrzehnten.", set(), {"Polizei"}),
        (
            "Fashion brand opens flagship store",
            "The brand said its new store would sell the brand's shoes.",
            set(),
            {"Feuerwehr"},
        ),
    ],
    ids=["polizei", "wetter", "verkehr", "none", "english-brand-is-no-fire"],
)
def test_free_tags_come_from_their_rules(taxonomy, title, body, wanted, unwanted):
    """A tag is set when its words score enough, and not otherwise."""
    _category, tags = categorize(title, body, taxonomy)

    assert wanted <= set(tags)
    assert not unwanted & set(tags)


# --- regional -------------------------------------------------------------------------------------------------------

REGIONAL_CASES = [
    (
        "dateline-capitals",
        True,
        "Neue Kita eröffnet",
        "MANNHEIM (dnk): Die Stadt hat am Montag eine Kita mit sechs Gruppen eröffnet. Sie liegt nahe dem Bahnhof.",
        [],
    ),
    (
        "dateline-agency",
        True,
        "Uni startet Vorlesungsreihe",
        "Heidelberg (dnk) – Die Universität lädt von Dezember an zu öffentlichen Vorträgen über Klimafolgen ein.",
        [],
    ),
    (
        "dateline-local",
        True,
        "Dom bekommt neue Beleuchtung",
        "Speyer. Der Dom soll vom Frühjahr an mit sparsamen Leuchten angestrahlt werden, kündigte das Domkapitel an.",
        [],
    ),
    (
        "place-in-title",
        True,
        "Hemsbach: Rathaus bleibt am Freitag geschlossen",
        "Wegen einer Schulung der Mitarbeiter bleibt das Rathaus am Freitag geschlossen.",
        [],
    ),
    (
        "subject-early-and-repeated",
        True,
        "Neue Buslinie verbindet zwei Stadtteile",
        (
            "Die Verkehrsbetriebe in Ludwigshafen richten eine neue Buslinie ein. Sie fährt alle 20 Minuten vom "
            "Oggersheimer Markt bis zum Hauptbahnhof Ludwigshafen. Die Ludwigshafener Stadtwerke zahlen die Haltestellen."
        ),
        [],
    ),
    (
        "passing-mention",
        False,
        "Bahn kündigt neue Fernzüge an",
        (
            "BERLIN (ndw): Die Bahn will im kommenden Jahr mehr Fernzüge einsetzen. Die neuen Züge sollen vor allem auf den "
            "Strecken nach Süden fahren. Gebaut werden sie von mehreren Herstellern, darunter ein Zulieferer aus Mannheim."
        ),
        [],
    ),
    (
        "dateline-of-a-national-story",
        False,
        "Einzelhändler blicken skeptisch auf Weihnachten",
        (
            "Mannheim (dnk) – Der deutsche Einzelhandel rechnet mit einem mäßigen Weihnachtsgeschäft, wie ein "
            "Forschungsinstitut am Mittwoch in Mannheim mitteilte. Befragt wurden 900 Händler im ganzen Bundesgebiet."
        ),
        [],
    ),
    (
        "english-about-mannheim",
        True,
        "Start-up opens test track for delivery robots",
        (
            "MANNHEIM, Germany (CWS) — A Mannheim-based start-up has opened a test track for delivery robots in the "
            "city's harbour district. The company plans to run trials with local bakeries in Mannheim next spring."
        ),
        [],
    ),
    (
        "ambiguous-name-alone",
        False,
        "Neustadt: Stadtfest fällt aus",
        "Das Stadtfest fällt in diesem Jahr wegen Bauarbeiten auf dem Marktplatz aus.",
        [],
    ),
    (
        "ambiguous-name-confirmed-by-places",
        True,
        "Neustadt: Stadtfest fällt aus",
        "Das Stadtfest fällt in diesem Jahr wegen Bauarbeiten auf dem Marktplatz aus.",
        ["Neustadt an der Weinstraße"],
    ),
    (
        "places-only-elsewhere",
        False,
        "Hafen meldet Rekordumschlag",
        "HAMBURG (ndw): Der Hafen hat so viele Container umgeschlagen wie nie zuvor.",
        ["Hamburg"],
    ),
]


@pytest.mark.parametrize(
    ("expected", "title", "body", "places"), [case[1:] for case in REGIONAL_CASES], ids=[c[0] for c in REGIONAL_CASES]
)
def test_regional_means_about_the_region(region, expected, title, body, places):
    """Dateline, headline or a repeated early mention make a story regional; a passing mention does not."""
    assert is_regional(title, body, places, region) is expected


# --- keywords -------------------------------------------------------------------------------------------------------

KEYWORD_TITLE = "Europäische Union einigt sich auf Regeln für Batterierecycling"
KEYWORD_BODY = (
    "BRÜSSEL (ndw): Die Mitgliedstaaten der Europäischen Union haben sich am Dienstag auf strengere Regeln für das "
    "Batterierecycling geeinigt. Von 2030 an sollen 70 Prozent des Lithiums zurückgewonnen werden. Die Europäische "
    "Union will damit unabhängiger von Importen werden. Hersteller kritisierten die Vorgaben für das Batterierecycling."
)


@pytest.mark.parametrize("limit", [0, 1, 3, 8], ids=["zero", "one", "three", "default"])
def test_keywords_respect_the_limit(limit):
    """Never more keywords than asked for, and some when the story has content words."""
    found = keywords(KEYWORD_TITLE, KEYWORD_BODY, "de", limit=limit)

    assert len(found) <= limit
    assert (limit == 0) == (not found)


@pytest.mark.parametrize("language", ["de", None], ids=["german", "detected"])
def test_keywords_skip_stopwords_and_numbers_and_prefer_phrases(language):
    """No stopword, no number, no case-insensitive duplicate; the name beats its parts."""
    found = keywords(KEYWORD_TITLE, KEYWORD_BODY, language)

    folded = [keyword.casefold() for keyword in found]
    assert len(set(folded)) == len(folded)
    assert not {"die", "der", "für", "sich", "am", "von", "an", "prozent"} & {w for k in folded for w in k.split()}
    assert not any(ch.isdigit() for keyword in found for ch in keyword)
    assert any(keyword.startswith("Europäische") and keyword.endswith("Union") for keyword in found)
    assert "Union" not in found
    assert "Batterierecycling" in found
    assert "Brüssel" in found  # a dateline in capitals comes back in its normal spelling


def test_english_keywords_prefer_names_and_repeated_phrases():
    """English: capitalised names and phrases that recur; one-off lower-case words and stopwords are skipped."""
    found = keywords(
        "Harbour authority approves new cruise terminal",
        "PORTSMOUTH (CWS) — The harbour authority approved a new cruise terminal on Monday. The cruise terminal will "
        "open in 2028, said Maria Ellison, the authority's chair. Critics of the cruise terminal fear more traffic.",
        "en",
    )

    assert "cruise terminal" in found
    assert "Maria Ellison" in found
    assert not {"the", "on", "said", "will"} & {word.casefold() for keyword in found for word in keyword.split()}


# --- config errors --------------------------------------------------------------------------------------------------

VALID_CATEGORY = "categories:\n  - name: Sport\n    keywords: {3: [Tor]}\n"


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("categories:\n  - name: Sport\n    keywords: {x: [Tor]}\n", ["category 'Sport'", "weight must be a number", "'x'"]),
        ("categories:\n  - name: Sport\n    keywords: {3: [Tor, tor]}\n", ["category 'Sport'", "'tor' is listed twice"]),
        ("categories:\n  - name: Sport\n    keywords: {3: ['T*r']}\n", ["category 'Sport'", "term 'T*r'"]),
        ("categories:\n  - name: Sport\n    keywords: {3: Tor}\n", ["category 'Sport'", "list of non-empty strings"]),
        ("categories:\n  - name: Sport\n    colour: red\n    keywords: {3: [Tor]}\n", ["category 'Sport'", "'colour'"]),
        ("categories:\n  - name: Sport\n", ["category 'Sport'", "keywords must map weights"]),
        ("categories:\n  - keywords: {3: [Tor]}\n", ["every category needs a mapping with a 'name'"]),
        (VALID_CATEGORY + "default: Kultur\n", ["default must be one of the categories", "'Kultur'"]),
        (VALID_CATEGORY + "title_weight: heavy\n", ["title_weight must be a number", "'heavy'"]),
        (VALID_CATEGORY + "tags:\n  - name: Polizei\n    min_score: -1\n    keywords: {3: [Polizei]}\n",
         ["tag 'Polizei'", "min_score must be a number"]),
        (VALID_CATEGORY + VALID_CATEGORY.removeprefix("categories:\n"), ["category 'Sport'", "name is used twice"]),
        ("tags: []\n", ["non-empty list under 'categories'"]),
        ("categories: [\n", ["not valid YAML"]),
    ],
    ids=["weight-not-number", "duplicate-term", "star-inside", "terms-not-list", "unknown-field", "no-keywords",
         "no-name", "unknown-default", "bad-setting", "tag-min-score", "duplicate-category", "no-categories",
         "bad-yaml"],
)  # fmt: skip
def test_invalid_taxonomy_raises_config_error_naming_file_entry_and_field(tmp_path, text, fragments):
    """ConfigError starts with the file and names the category or tag, the field and the bad value."""
    path = tmp_path / "tags.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_taxonomy(path)

    assert str(caught.value).startswith(f"{path}: ")
    for fragment in fragments:
        assert fragment in str(caught.value)


VALID_REGION = "name: Testgau\ntowns: [Musterstadt]\n"


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("towns: [Musterstadt]\n", ["name must be the region's name"]),
        ("name: Testgau\ntowns: []\n", ["towns must list the region's towns"]),
        (VALID_REGION + "aliases: {Muster: Beispielheim}\n", ["alias 'Muster'", "one of the towns", "'Beispielheim'"]),
        (VALID_REGION + "region_words: {Testland: viel}\n", ["region word 'Testland'", "weight must be a number"]),
        (VALID_REGION + "weights: {title: hoch}\n", ["weights", "title must be a number", "'hoch'"]),
        (VALID_REGION + "weights: {headline: 3}\n", ["weights", "unknown field 'headline'"]),
        (VALID_REGION + "threshold: [3]\n", ["threshold must be a number"]),
        (VALID_REGION + "districts: Altstadt\n", ["districts must be a list of non-empty strings"]),
    ],
    ids=["no-name", "no-towns", "alias-to-unknown-town", "region-word-weight", "weight-not-number",
         "unknown-weight", "threshold-not-number", "districts-not-list"],
)  # fmt: skip
def test_invalid_region_raises_config_error_naming_file_entry_and_field(tmp_path, text, fragments):
    """ConfigError starts with the file and names the entry and field."""
    path = tmp_path / "region.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_region(path)

    assert str(caught.value).startswith(f"{path}: ")
    for fragment in fragments:
        assert fragment in str(caught.value)


@pytest.mark.parametrize("load", [load_taxonomy, load_region], ids=["tags", "region"])
def test_a_missing_config_file_is_a_config_error(tmp_path, load):
    """A missing file names itself."""
    path = tmp_path / "missing.yaml"

    with pytest.raises(ConfigError, match="file not found"):
        load(path)


# --- the labelled dev corpus ----------------------------------------------------------------------------------------


def test_dev_corpus_category_and_regional_accuracy(taxonomy, region):
    """Category accuracy ≥ 0.90 and regional accuracy ≥ 0.95 over all label records, with the labelled places."""
    stories = json.loads(LABELS.read_text(encoding="utf-8"))["stories"]
    wrong_category, wrong_regional = [], []
    for story in stories:
        category, _tags = categorize(story["title"], story["clean_text"], taxonomy, places=story["places"])
        if category != story["category"]:
            wrong_category.append((story["id"], story["category"], category))
        if is_regional(story["title"], story["clean_text"], story["places"], region) != story["regional"]:
            wrong_regional.append((story["id"], story["regional"]))

    assert 1 - len(wrong_category) / len(stories) >= 0.90, wrong_category
    assert 1 - len(wrong_regional) / len(stories) >= 0.95, wrong_regional
