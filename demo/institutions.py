"""What a demo client looks like: a Russian public institution with its place, name, INN and KPP,
monthly fee and the accountants the company talks to.

Every function draws from the ``Draws`` it is given, in a fixed order.
"""

from __future__ import annotations

from decimal import Decimal

from clients.models import AcquisitionChannel, ClientKind
from clients.validators import inn_with_check_digits
from demo import vocabulary as vocab
from demo.draws import Draws

# A region of ``vocabulary.REGIONS``: (name, tax region code, weight, phone code, cities with
# weights, municipal districts).
Region = tuple


def place(draws: Draws) -> tuple[Region, str]:
    """A region and a city in it, most of them in Krasnoyarsk Krai."""
    region = draws.weighted((r, r[2]) for r in vocab.REGIONS)
    city = draws.weighted(region[4])
    return region, city


def region_named(name: str) -> Region:
    return next(r for r in vocab.REGIONS if r[0] == name)


def inn_and_kpp(draws: Draws, region_code: str, taken: set[str]) -> tuple[str, str]:
    """A checksum-valid organisation INN of the region's tax offices, not in ``taken`` (added to
    it), and the KPP of the same office."""
    while True:
        office = f"{region_code}{draws.randint(1, 68):02d}"
        inn = inn_with_check_digits(f"{office}{draws.randint(0, 99999):05d}")
        if inn not in taken:
            taken.add(inn)
            return inn, f"{office}01001"


def institution_name(draws: Draws, kind: str, region: Region, city: str) -> str:
    """The official name of a school, kindergarten, hospital, administration, culture centre or
    other municipal body of ``city`` or of a district of ``region``."""
    district = draws.choice(region[5])
    district_fem = district[:-3] + "ая"
    district_masc = district[:-3] + "ий"
    village = draws.choice(vocab.VILLAGE_ADJECTIVES)
    # Big cities have schools and kindergartens up to № 150, small towns a few dozen.
    number = draws.randint(1, 150 if dict(region[4]).get(city, 0) >= 5 else 30)
    if region[1] == "24" or region[0].endswith("край"):
        health = "КГБУЗ"
    elif region[0].endswith("область"):
        health = "ОГБУЗ"
    else:
        health = "ГБУЗ"
    options = {
        ClientKind.SCHOOL: (
            f"МБОУ «Средняя общеобразовательная школа № {number}»",
            f"МАОУ «Гимназия № {number % 20 + 1}»",
            f"МБОУ «Лицей № {number % 15 + 1}»",
            f"МБОУ «Основная общеобразовательная школа № {number}»",
            f"МКОУ «{village[0]} средняя школа»",
        ),
        ClientKind.KINDERGARTEN: (
            f"МБДОУ «Детский сад № {number}»",
            f"МАДОУ «Детский сад № {number} «{draws.choice(vocab.KINDERGARTEN_NICKNAMES)}»»",
            f"МКДОУ «{village[1]} детский сад»",
        ),
        ClientKind.HOSPITAL: (
            f"{health} «Городская больница № {number % 20 + 1}»",
            f"{health} «Городская поликлиника № {number % 16 + 1}»",
            f"{health} «{district_fem} районная больница»",
            f"{health} «Стоматологическая поликлиника № {number % 6 + 1}»",
        ),
        ClientKind.ADMINISTRATION: (
            f"Администрация {district} района",
            f"Администрация города {city}",
            f"Администрация {village[2]} сельсовета",
            f"Финансовое управление администрации {district} района",
            f"Управление образования администрации {district} района",
        ),
        ClientKind.CULTURE: (
            f"МБУК «{village[1]} сельский Дом культуры»",
            f"МБУК «Централизованная библиотечная система {district} района»",
            f"МБУ ДО «Детская школа искусств № {number % 12 + 1}»",
            "МБУК «Городской Дом культуры»",
            f"МБУК «{district_masc} районный краеведческий музей»",
        ),
        ClientKind.OTHER: (
            f"МКУ «Централизованная бухгалтерия {district} района»",
            f"МБУ ДО «Спортивная школа № {number % 10 + 1}»",
            "МБУ «Комплексный центр социального обслуживания населения»",
            "МКУ «Центр хозяйственного обслуживания»",
            "МБУ «Молодёжный центр»",
        ),
    }[kind]
    return draws.choice(options)


def monthly_fee(draws: Draws, kind: str, channel: str) -> Decimal:
    """A fee in the range of the institution's kind, rounded to 500 roubles."""
    low, high = vocab.FEE_RANGES[kind]
    fee = draws.uniform(low, high)
    if channel == AcquisitionChannel.ACTIVE_SALES:
        fee *= 1.15  # a client won from a competitor at the highest possible fee
    return Decimal(int(round(fee / 500) * 500))


def city_phone(draws: Draws) -> str:
    """A Krasnoyarsk landline (the company's own and its local clients')."""
    return f"+7 (391) 2{draws.randint(10, 99)}-{draws.randint(10, 99)}-{draws.randint(10, 99)}"


def mobile_phone(draws: Draws) -> str:
    return f"+7 9{draws.randint(0, 99):02d} {draws.randint(100, 999)}-{draws.randint(10, 99)}-{draws.randint(10, 99)}"


def contact_line(draws: Draws) -> str:
    """How a referral names the person to call: "surname first name, position, phone"."""
    gender = draws.randint(0, 1)
    surname = draws.choice(vocab.SURNAMES)[gender]
    first = draws.choice(vocab.FEMALE_FIRST_NAMES if gender else vocab.MALE_FIRST_NAMES)
    position = draws.choice(vocab.REFERRAL_CONTACT_POSITIONS)
    return f"{surname} {first}, {position}, {mobile_phone(draws)}"


def lead(draws: Draws, taken_inns: set[str]) -> tuple[str, str, str]:
    """A referred organisation that has not become a client: name, INN (half the time), contact."""
    kind = draws.weighted(vocab.KIND_WEIGHTS)
    region, city = place(draws)
    inn = inn_and_kpp(draws, region[1], taken_inns)[0] if draws.random() < 0.5 else ""
    return institution_name(draws, kind, region, city), inn, contact_line(draws)


def contacts(draws: Draws, *, client_id: int, kind: str, phone_code: str) -> list[dict]:
    """The client's people as ``clients.Contact`` rows: one to three, the first a decision maker."""
    leaders, others = vocab.POSITIONS[kind]
    rows = []
    for index in range(draws.choice((1, 2, 2, 3))):
        gender = 1 if draws.random() < 0.8 else 0  # accountants are mostly women
        surname = draws.choice(vocab.SURNAMES)[gender]
        first = draws.choice(vocab.FEMALE_FIRST_NAMES if gender else vocab.MALE_FIRST_NAMES)
        patronymic = draws.choice(vocab.PATRONYMICS)[gender]
        if phone_code == "391" and draws.random() < 0.6:
            phone = city_phone(draws)
        else:
            phone = mobile_phone(draws)
        rows.append({
            "client_id": client_id,
            "name": f"{surname} {first} {patronymic}",
            "position": draws.choice(leaders if index == 0 else others),
            "phone": phone,
            "email": f"buh{client_id}.{index + 1}@example.org",
            "is_decision_maker": index == 0,
        })  # fmt: skip
    return rows
