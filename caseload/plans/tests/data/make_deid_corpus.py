"""Writes deid_corpus.json: synthetic records with identifiers of every HIPAA Safe Harbor class
planted in their free text (run it again after changing the pools; the output is committed).

Every person, place, organisation and number here is invented. `planted` lists, per class,
the exact strings that must never reach an outside AI service; `clinical` lists phrases that
must survive de-identification.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

CLIENTS = [
    ("Toby Okafor", "Tobes"),
    ("Marisol Vega", "Mari"),
    ("Derek Lindqvist", "Deke"),
    ("Priya Raman", "Pree"),
    ("Samuel Achterberg", "Sammy"),
    ("Keisha Thornton", "Kiki"),
    ("Owen Fitzgerald", "Oz"),
    ("Lucia Moretti", "Lu"),
    ("Jamal Whitaker", "Jay"),
    ("Hannah Kowalczyk", "Hanna-Banana"),
    ("Mateo Alvarado", "Teo"),
    ("Grace Nakamura", "Gigi"),
    ("Victor Osei", "Vic"),
    ("Rebecca Lindholm", "Becca"),
    ("Andre Dubois", "Dre"),
    ("Fatima Haddad", "Tima"),
    ("Connor McAllister", "Con"),
    ("Yasmin Farouk", "Yaz"),
    ("Elijah Brennan", "Eli"),
    ("Sofia Castellano", "Sofi"),
    ("Noah Abernathy", "Noodle"),
    ("Chloe Delacroix", "Coco"),
    ("Marcus Oyelaran", "Marc"),
    ("Ingrid Sorensen", "Inky"),
    ("Theo Papadakis", "Teddy"),
    ("Aaliyah Jennings", "Leelee"),
    ("Benjamin Hartley", "Benny"),
    ("Nadia Petrova", "Nadya"),
    ("Luis Quintero", "Lucho"),
    ("Olivia Sandoval", "Liv"),
    ("Caleb Worthington", "Cal"),
    ("Zara Mahmood", "Zee"),
]
RELATIVES = [
    ("sister", "Jenna"),
    ("brother", "Marcus"),
    ("mother", "Denise"),
    ("father", "Raymond"),
    ("husband", "Trevor"),
    ("wife", "Melissa"),
    ("boyfriend", "Kyle"),
    ("girlfriend", "Brianna"),
    ("son", "Tyler"),
    ("daughter", "Madison"),
    ("cousin", "Rafael"),
    ("grandmother", "Dorothy"),
    ("uncle", "Leonard"),
    ("aunt", "Patricia"),
    ("stepfather", "Gordon"),
    ("best friend", "Alyssa"),
]
SURNAMES = [
    "Kowalski",
    "Brennan",
    "Castillo",
    "Henderson",
    "Nguyen",
    "Schultz",
    "Okonkwo",
    "Ramirez",
    "Gallagher",
    "Jablonski",
    "Harrington",
    "Delgado",
    "Sutherland",
    "Whitfield",
    "Moreno",
]
MANAGER_FIRST = ["Deb", "Gary", "Lorraine", "Phil", "Tamara", "Russell", "Heather", "Doug"]
EMPLOYERS = [
    ("works at", "Kroger"),
    ("works at", "Riverside Diner"),
    ("is employed by", "Cascade Logistics"),
    ("works for", "Pacific Northwest Bank"),
    ("works at", "Home Depot"),
    ("was laid off from", "Boeing"),
    ("works at", "Harbor Freight Tools"),
    ("works at", "Sunrise Senior Living Center"),
    ("works for", "Evergreen Construction LLC"),
    ("works at", "Starbucks"),
    ("works for", "Tri-County Transit Authority"),
]
HOSPITALS = [
    "St. Joseph Medical Center",
    "Mercy General Hospital",
    "Providence Regional Medical Center",
    "Valley View Hospital",
    "Good Samaritan Hospital",
    "Fairview Behavioral Health",
    "Harborview Medical Center",
    "Lakeside Psychiatric Hospital",
]
SCHOOLS = [
    "Lincoln High School",
    "Pierce College",
    "Roosevelt Middle School",
    "Gonzaga University",
    "Eastside Elementary",
    "University of Oregon",
    "Bellevue College",
    "Jefferson Academy",
]
CITIES = [
    "Tacoma",
    "Boise",
    "Spokane",
    "Dayton",
    "Fresno",
    "Eugene",
    "Albuquerque",
    "Tucson",
    "Sacramento",
    "Omaha",
    "Wichita",
    "Chattanooga",
    "Savannah",
    "Duluth",
    "Bakersfield",
    "Green Bay",
    "Fort Collins",
    "Santa Rosa",
]
SMALL_TOWNS = [("Enumclaw", "WA"), ("Sandpoint", "Idaho"), ("Yreka", "CA"), ("Tillamook", "Oregon")]
COUNTIES = ["Pierce County", "Kitsap County", "Ada County", "Lane County"]
OCCUPATIONS = [
    "the only night-shift pharmacist in town",
    "a lead engineer on the city's light-rail project",
    "the head baseball coach for the varsity team",
    "a sous-chef at a well-known steakhouse",
    "the youth pastor for a large congregation",
    "a K-9 handler with the sheriff's office",
]
PRESCRIBERS = ["Dr. Lena Alvarez", "Dr. Howard Kim", "Dr. Amara Nwosu", "Dr. Peter Lindgren"]
CLINICAL = [
    ("panic attacks several times a week", "GAD-7 of 15"),
    ("low mood and anhedonia", "PHQ-9 of 17"),
    ("nightmares and hypervigilance", "PCL-5 of 48"),
    ("drinking 2-3 beers most evenings to sleep", "AUDIT of 14"),
    ("intrusive checking rituals", "Y-BOCS of 24"),
    ("irritability and poor concentration", "ASRS of 42"),
]


def date_forms(rng: random.Random) -> list[tuple[str, str]]:
    """(as written, the part that must not be sent: every element but the year)."""
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    names = [
        "January",
        "February",
        "March",
        "April",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ]
    name = names[rng.randrange(len(names))]
    year = rng.choice([2019, 2021, 2023, 2024, 2025])
    return [
        (f"{month:02d}/{day:02d}/{year}", f"{month:02d}/{day:02d}"),
        (f"{year}-{month:02d}-{day:02d}", f"{year}-{month:02d}-{day:02d}"),
        (f"{name} {day}, {year}", f"{name} {day}"),
        (f"{day} {name} {year}", f"{day} {name}"),
        (f"{name} {day}th", f"{name} {day}th"),
        (f"{month}/{day}/{year % 100:02d}", f"{month}/{day}/"),
        (f"mid-{name}", name),
        (f"Christmas {year}", "Christmas"),
    ]


def record(index: int, rng: random.Random) -> dict[str, object]:
    client, nickname = CLIENTS[index]
    first, last = client.split(" ", 1)
    is_child = index % 5 == 0
    (kin1, rel1), (kin2, rel2) = rng.sample(RELATIVES, 2)
    rel2_last = rng.choice(SURNAMES)
    manager = f"{rng.choice(MANAGER_FIRST)} {rng.choice(SURNAMES)}"
    verb, employer = EMPLOYERS[index % len(EMPLOYERS)]
    hospital = HOSPITALS[index % len(HOSPITALS)]
    school = SCHOOLS[index % len(SCHOOLS)]
    city, city2 = rng.sample(CITIES, 2)
    town, state = SMALL_TOWNS[index % len(SMALL_TOWNS)]
    county = COUNTIES[index % len(COUNTIES)]
    occupation = OCCUPATIONS[index % len(OCCUPATIONS)]
    prescriber = PRESCRIBERS[index % len(PRESCRIBERS)]
    symptom, score = CLINICAL[index % len(CLINICAL)]
    dates = date_forms(rng)
    mrn = f"{rng.randint(10, 99)}{rng.randint(100000, 999999)}"
    account = f"AC-{rng.randint(1000000, 9999999)}"
    licence = f"WDL{rng.randint(100000, 999999)}B"
    letters = rng.choice("ABCDEFGH") + rng.choice("KLMNPRST") + rng.choice("XYZW")
    plate = f"{letters}{rng.randint(1000, 9999)}"
    ssn = f"{rng.randint(100, 899)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"
    handle = f"{first.lower()}{last.lower()}{rng.randint(10, 99)}"
    phone_other = f"({rng.randint(201, 989)}) 555-{rng.randint(1000, 9999)}"
    email_other = f"{rel1.lower()}.{rel2_last.lower()}@gmail.com"
    url = f"https://www.gofundme.com/f/help-{first.lower()}-{last.lower()}"
    ip = f"73.{rng.randint(10, 250)}.{rng.randint(10, 250)}.{rng.randint(10, 250)}"
    zip_code = f"9{rng.randint(1000, 9999)}"
    old_age = rng.randint(91, 99)
    initials = f"{first[0]}.{last[0]}."
    street = f"{rng.randint(100, 9999)} {rng.choice(['Maple', 'Cedar', 'Alder', 'Birch'])} Street"
    address = f"{street}\n{city}, WA {zip_code}"
    guardian = f"{rng.choice(['Denise', 'Carla', 'Robert', 'Angela'])} {last}" if is_child else ""
    emergency = f"{rel2} {rel2_last}"
    birth_year = 2014 if is_child else rng.randint(1960, 2000)
    dob = f"{birth_year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"

    household = "mom" if is_child else f"their {kin1}"
    concerns = (
        f'{first} (goes by "{nickname}") presents with {symptom} since {dates[6][0]}, worse '
        f"after {dates[7][0]}. {score}. Lives in {city} with {household} {rel1}. "
        f"{first} {verb} {employer}, where the manager, {manager}, cut hours on "
        f"{dates[0][0]}. "
        + (
            f"{first} attends {school} and struggles with peers. "
            if is_child
            else f"{first} works as {occupation}. "
        )
    )
    history = (
        f"Admitted to {hospital} on {dates[2][0]} (MRN {mrn}) and discharged {dates[3][0]}. "
        f"Grew up in {town}, {state}, moved to {county} in {dates[1][0][:4]}. "
        f"Her {kin2} {rel2} {rel2_last} (born {dates[5][0]}) is {old_age} years old and lives "
        f"near {city2}. Insurance account {account}; driver's license {licence}; plate "
        f"{plate}. SSN {ssn}. Prior therapist notes faxed from {phone_other}."
    )
    notes = [
        f"Assessment: {initials} reports {symptom}; {score}. Posted about it on Instagram "
        f"@{handle} and a fundraiser at {url}. Plan: follow up with {prescriber}.",
        f"Note: {rel1} emailed from {email_other} on {dates[4][0]}; login from IP {ip} flagged. "
        f"Response: {nickname} engaged well; practised grounding.",
        f"Assessment: {symptom} continues. Plan: coordinate with {rel2} {rel2_last} at "
        f"{dates[1][0]}.",
    ]
    planted = {
        "client name": [first, last, client],
        "nickname": [nickname],
        "initials": [initials],
        "relatives' names": [rel1, rel2, rel2_last],
        "manager's name": manager.split(),
        "guardian": guardian.split()[:1] if guardian else [],
        "prescriber": prescriber.split()[1:],
        "employer": [employer],
        "hospital": [hospital],
        "school": [school] if is_child else [],
        "occupation detail": [occupation] if not is_child else [],
        "city": [city, city2, town, county],
        "street address": [street, zip_code],
        "dates": [part for _, part in dates],
        "birth date": [dob],
        "age over 89": [f"{old_age} years"],
        "record number": [mrn],
        "account number": [account],
        "licence number": [licence],
        "vehicle plate": [plate],
        "ssn": [ssn],
        "phone": [phone_other],
        "email": [email_other],
        "url": [url, "gofundme"],
        "handle": [handle],
        "ip address": [ip],
    }
    return {
        "client": client,
        "child": is_child,
        "guardian": guardian,
        "date_of_birth": dob,
        "address": address,
        "phone": f"(206) 555-{rng.randint(1000, 9999)}",
        "emergency_name": emergency,
        "prescriber": prescriber,
        "presenting_concerns": concerns,
        "history": history,
        "notes": notes,
        "planted": planted,
        "clinical": [symptom, score],
    }


def main() -> None:
    rng = random.Random(20261207)
    corpus = [record(index, rng) for index in range(len(CLIENTS))]
    path = Path(__file__).with_name("deid_corpus.json")
    path.write_text(json.dumps(corpus, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(corpus)} records written to {path.name}")


if __name__ == "__main__":
    main()
