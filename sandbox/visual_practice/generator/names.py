"""Pools of people's names, places, streets and phone numbers of an Ontario / Quebec practice.

Accented French-Canadian names are kept apart from the plain ones: they are the `accented_name`
quirk, so a clean practice (mess 0) draws from the plain pools only. Every accented character
here exists in Windows-1252, as it does in a real cp1252 export.
"""

from __future__ import annotations

import random

FIRST_PLAIN = (
    "James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas", "Daniel",
    "Matthew", "Anthony", "Mark", "Paul", "Steven", "Andrew", "Kevin", "Brian", "George", "Timothy",
    "Ryan", "Jacob", "Nicholas", "Eric", "Jonathan", "Justin", "Scott", "Brandon", "Benjamin", "Samuel",
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen",
    "Lisa", "Nancy", "Betty", "Sandra", "Ashley", "Emily", "Michelle", "Amanda", "Melissa", "Stephanie",
    "Rebecca", "Laura", "Emma", "Olivia", "Sophia", "Chloe", "Hannah", "Megan", "Rachel", "Victoria",
    "Marie", "Julie", "Nathalie", "Isabelle", "Sylvie", "Caroline", "Catherine", "Sophie", "Chantal", "Manon",
    "Jean", "Pierre", "Louis", "Marc", "Luc", "Yves", "Alain", "Guy", "Martin", "Simon",
    "Mathieu", "Philippe", "Nicolas", "Olivier", "Alexandre", "Vincent", "Maxime", "Gabriel", "Antoine", "Julien",
    "Wei", "Li", "Mei", "Jun", "Priya", "Arjun", "Ravi", "Anjali", "Aisha", "Omar",
    "Fatima", "Hassan", "Yusuf", "Leila", "Carlos", "Maria", "Sofia", "Diego", "Lucia", "Mateo",
    "Aiden", "Liam", "Noah", "Ethan", "Logan", "Owen", "Lucas", "Nora", "Ava", "Mia",
)
FIRST_ACCENTED = (
    "Élodie", "Hélène", "Gaétan", "Réjean", "Stéphane", "Frédéric", "Jérôme", "Benoît", "Françoise", "Géraldine",
    "Gisèle", "Mélanie", "Valérie", "Émilie", "Andrée", "Léa", "Zoé", "Chloé", "Noémie", "Maëlle",
    "André", "René", "Gérard", "Réal", "Noël", "Joël", "Raphaël", "Anaïs", "Aimée", "Cécile",
    "Jérémie", "Thérèse", "Ève", "Océane", "Clémence", "Édouard", "Honoré", "Josée", "Renée", "Sébastien",
)
LAST_PLAIN = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
    "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson",
    "Campbell", "Stewart", "MacDonald", "MacKenzie", "Fraser", "Murray", "Reid", "Morrison", "Ross", "Grant",
    "O'Brien", "O'Connor", "Kelly", "Murphy", "Ryan", "Walsh", "McCarthy", "Doyle", "Byrne", "Lynch",
    "Tremblay", "Gagnon", "Roy", "Bouchard", "Gauthier", "Morin", "Lavoie", "Fortin", "Ouellet", "Pelletier",
    "Lapointe", "Girard", "Simard", "Boucher", "Caron", "Beaulieu", "Cloutier", "Dube", "Poirier", "Fournier",
    "Leblanc", "Paquette", "Bergeron", "Lachance", "Nadeau", "Dufour", "Mercier", "Lemieux", "Vachon", "Dion",
    "Chen", "Wang", "Li", "Zhang", "Liu", "Wong", "Lam", "Nguyen", "Tran", "Pham",
    "Singh", "Patel", "Sharma", "Gill", "Khan", "Ali", "Ahmed", "Hussain", "Kim", "Park",
    "Silva", "Santos", "Costa", "Rossi", "Russo", "Romano", "Kowalski", "Nowak", "Novak", "Ivanov",
    "Van Der Berg", "De Luca", "St. Pierre", "Saint-Amour", "Da Silva", "MacLeod", "Mac Innes", "Abdi", "Osei", "Mensah",
)
LAST_ACCENTED = (
    "Bélanger", "Côté", "Bédard", "Lévesque", "Gélinas", "Thériault", "Bérubé", "Bélisle", "Hébert", "Séguin",
    "Lefèbvre", "Béland", "Fréchette", "Ménard", "Désilets", "Gendron-Côté", "Rhéaume", "Trépanier", "Vézina", "Pépin",
    "Émond", "Lépine", "Giguère", "Larivière", "Théorêt", "Boisvert-Hébert", "Brassard-Bélanger", "Dupré", "Noël", "Léger",
)
ONE_WORD_NAMES = ("Madonna", "Xiadani", "Suharto", "Zola", "Ngozi", "Tenzin", "Aroha", "Kalani")

CITIES = (  # (city, province, postal prefix letter, area codes)
    ("Toronto", "ON", "M", ("416", "647", "437")),
    ("Mississauga", "ON", "L", ("905", "289")),
    ("Ottawa", "ON", "K", ("613", "343")),
    ("Hamilton", "ON", "L", ("905", "289")),
    ("London", "ON", "N", ("519", "226")),
    ("Kingston", "ON", "K", ("613", "343")),
    ("Sudbury", "ON", "P", ("705", "249")),
    ("Montréal", "QC", "H", ("514", "438")),
    ("Laval", "QC", "H", ("450", "579")),
    ("Gatineau", "QC", "J", ("819", "873")),
    ("Québec", "QC", "G", ("418", "581")),
    ("Sherbrooke", "QC", "J", ("819", "873")),
)
PLAIN_CITIES = tuple(c for c in CITIES if c[0].isascii())
STREETS_EN = ("King St W", "Queen St E", "Yonge St", "Bloor St W", "Dundas St", "Main St", "Bank St",
              "Elgin St", "Wellington St", "Church St", "Maple Ave", "Oak Cres", "Lakeshore Blvd", "Carling Ave")
STREETS_FR = ("rue Saint-Denis", "boul. René-Lévesque", "rue Sainte-Catherine", "av. du Parc", "rue Principale",
              "ch. de la Côte-des-Neiges", "boul. Saint-Joseph", "rue Notre-Dame", "av. Laurier", "rue de l'Église")
STREETS_FR_PLAIN = tuple(s for s in STREETS_FR if s.isascii())
EMAIL_DOMAINS = ("gmail.com", "hotmail.com", "outlook.com", "yahoo.ca", "videotron.ca", "bell.net",
                 "rogers.com", "sympatico.ca", "icloud.com", "shaw.ca")
ASCII_FOLD = str.maketrans("àâäáçéèêëíîïóôöùûüÿñÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸÑ", "aaaaceeeeiiiooouuuynAAACEEEEIIOOUUUYN")


def person_name(rng: random.Random, accented: bool) -> tuple[str, str]:
    """(first, last); with `accented`, at least one of them carries an accent."""
    if not accented:
        return rng.choice(FIRST_PLAIN), rng.choice(LAST_PLAIN)
    which = rng.random()
    first = rng.choice(FIRST_ACCENTED) if which < 0.7 else rng.choice(FIRST_PLAIN)
    last = rng.choice(LAST_ACCENTED) if which > 0.4 else rng.choice(LAST_PLAIN)
    return first, last


def email_local(first: str, last: str, rng: random.Random) -> str:
    first = first.translate(ASCII_FOLD).lower().replace(" ", "").replace("'", "")
    last = last.translate(ASCII_FOLD).lower().replace(" ", "").replace("'", "").replace(".", "")
    style = rng.randrange(4)
    if not first:
        return f"{last}{rng.randrange(10, 99)}"
    if style == 0:
        return f"{first}.{last}"
    if style == 1:
        return f"{first[0]}{last}"
    if style == 2:
        return f"{first}{last}{rng.randrange(1, 99)}"
    return f"{first}_{last}"


def address(rng: random.Random, accented: bool) -> dict[str, str | None]:
    city, province, letter, _ = rng.choice(CITIES if accented else PLAIN_CITIES)
    if province == "QC":
        street = f"{rng.randrange(10, 9999)} {rng.choice(STREETS_FR if accented else STREETS_FR_PLAIN)}"
    else:
        street = f"{rng.randrange(10, 9999)} {rng.choice(STREETS_EN)}"
    return {
        "line1": street,
        "line2": rng.choice(("", "", "", f"Apt {rng.randrange(1, 2400)}", f"Suite {rng.randrange(100, 900)}")) or None,
        "city": city,
        "province": province,
        "postal_code": postal_code(rng, letter),
        "country": "CA",
    }


def postal_code(rng: random.Random, letter: str) -> str:
    letters = "ABCEGHJKLMNPRSTVWXYZ"
    return (f"{letter}{rng.randrange(10)}{rng.choice(letters)} "
            f"{rng.randrange(10)}{rng.choice(letters)}{rng.randrange(10)}")


AREA_CODES = {name: codes for name, _, _, codes in CITIES}


def area_code(rng: random.Random, city: str | None) -> str:
    return rng.choice(AREA_CODES.get(city or "", ("416", "647", "905", "613", "514")))


def phone_digits(rng: random.Random, city: str | None) -> str:
    """Ten digits; exchanges 200-999 as North American numbering requires."""
    return f"{area_code(rng, city)}{rng.randrange(200, 1000)}{rng.randrange(10_000):04d}"


def canonical_phone(digits: str) -> str:
    """How a clean practice writes a phone number: `416-555-0199`."""
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"


# Phone formats seen in real data, by the name the quirk manifest uses (clean data is `416-555-0199`).
PHONE_FORMATS: dict[str, str] = {
    "parentheses": "({a}) {b}-{c}",
    "dots": "{a}.{b}.{c}",
    "international": "+1 {a} {b} {c}",
    "digits_only": "{a}{b}{c}",
    "leading_one": "1-{a}-{b}-{c}",
    "extension": "{a}-{b}-{c} ext. {x}",
    "x_extension": "({a}) {b}-{c} x{x}",
}


def formatted_phone(digits: str, style: str, extension: int) -> str:
    return PHONE_FORMATS[style].format(a=digits[:3], b=digits[3:6], c=digits[6:], x=extension)
