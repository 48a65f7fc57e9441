"""Who works in the demo department (SPEC §1 staffing), and since when.

A director, mentors leading about five client managers each (some of them trainees, one hired to
replace a manager who left), a return manager and sales managers, scaled to the size of the
base. Each client manager has a quality: it scales their losses (1.0 = the company average) and,
inversely, the referrals their clients bring.
"""

from __future__ import annotations

import datetime

from core.dates import ONE_DAY, add_months
from demo import vocabulary as vocab
from demo.draws import Draws
from staff.models import DEFAULT_CAPACITY, Role

# The company of SPEC §1 has this many paying clients; staff scales with clients / BASE_CLIENTS.
BASE_CLIENTS = 1500

# Client managers of one 12-person department: (profile, quality).
MANAGER_SLOTS = (
    ("veteran", 0.75),
    ("veteran", 0.9),
    ("veteran", 1.0),
    ("veteran", 1.05),
    ("veteran", 1.2),
    ("veteran", 1.4),
    ("mid", 0.95),
    ("mid", 1.1),
    ("replacement", 1.0),
    ("trainee", 1.25),
    ("trainee", 1.3),
    ("trainee", 1.2),
)
MENTOR_QUALITY = 0.7
FORMER_QUALITY = 1.5
MENTOR_CAPACITY = 60


class Person:
    """A member of staff as the simulation knows them; ``id`` is the future ``staff.User`` id."""

    __slots__ = (
        "capacity",
        "dismissed_on",
        "full_name",
        "gender",
        "group",
        "hired_on",
        "id",
        "mentor",
        "profile",
        "quality",
        "ramp_until",
        "role",
        "username",
    )

    def __init__(self, username: str, role: str, profile: str = "", quality: float = 1.0):
        self.username, self.role, self.profile, self.quality = username, role, profile, quality
        self.id = 0
        self.full_name = ""
        self.gender = 0
        self.mentor: Person | None = None
        self.group = 0
        self.hired_on = self.ramp_until = self.dismissed_on = None
        self.capacity = MENTOR_CAPACITY if role == Role.MENTOR else DEFAULT_CAPACITY

    def available(self, day: datetime.date) -> bool:
        """Employed on ``day`` (hired, not yet dismissed): the simulated ``is_active``."""
        return self.hired_on <= day and (self.dismissed_on is None or day < self.dismissed_on)

    def trainee(self, day: datetime.date) -> bool:
        return self.ramp_until is not None and day <= self.ramp_until


def staff_plan(clients: int) -> list[Person]:
    """Who works in the department, in id order (no dates or names yet)."""
    scale = clients / BASE_CLIENTS
    mentors = [Person(f"mentor{i + 1}", Role.MENTOR, "mentor", MENTOR_QUALITY) for i in range(max(3, round(3 * scale)))]  # fmt: skip
    managers = []
    for i in range(max(12, round(12 * scale))):
        profile, quality = MANAGER_SLOTS[i % len(MANAGER_SLOTS)]
        managers.append(Person(f"manager{i + 1}", Role.CLIENT_MANAGER, profile, quality))
    replacements = [m for m in managers if m.profile == "replacement"]
    formers = [
        Person(f"former{i + 1}", Role.CLIENT_MANAGER, "former", FORMER_QUALITY)
        for i in range(len(replacements))
    ]
    returners = [
        Person("returner" if i == 0 else f"returner{i + 1}", Role.RETURN_MANAGER, "returner")
        for i in range(max(1, round(scale)))
    ]
    sales = [
        Person(f"sales{i + 1}", Role.SALES_MANAGER, "sales")
        for i in range(max(2, round(2 * scale)))
    ]
    for i, person in enumerate(managers):
        person.mentor = mentors[i % len(mentors)]
    for former, replacement in zip(formers, replacements, strict=True):
        former.mentor = replacement.mentor
    director = Person("director", Role.DIRECTOR, "director")
    return [director, *mentors, *managers, *formers, *returners, *sales]


def staff_hire(
    people: list[Person], *, draws: Draws, start: datetime.date, today: datetime.date
) -> None:
    """Give the planned staff names (unique full names) and their hiring, ramp-up and dismissal
    dates: most were hired before the history ``start``, the mid-career managers during it, the
    trainees a few months before ``today``; each former manager left months ago and a
    replacement was hired a few days later."""
    span = (today - start).days
    names = set()
    for person in people:
        while True:
            person.gender = draws.randint(0, 1)
            surname = draws.choice(vocab.SURNAMES)[person.gender]
            first = draws.choice(
                vocab.FEMALE_FIRST_NAMES if person.gender else vocab.MALE_FIRST_NAMES
            )
            patronymic = draws.choice(vocab.PATRONYMICS)[person.gender]
            full_name = f"{surname} {first} {patronymic}"
            if full_name not in names:
                names.add(full_name)
                person.full_name = full_name
                break
    mid_index = 0
    for person in people:
        profile = person.profile
        if profile == "director":
            person.hired_on = start - draws.days(1400, 2200)
        elif profile == "mentor":
            person.hired_on = start - draws.days(900, 2600)
        elif profile == "veteran":
            person.hired_on = start - draws.days(120, 2000)
        elif profile == "mid":
            share = (0.3, 0.6)[mid_index % 2] + draws.uniform(-0.08, 0.08)
            mid_index += 1
            person.hired_on = start + datetime.timedelta(days=int(span * share))
            person.ramp_until = person.hired_on + draws.days(120, 180)
        elif profile == "trainee":
            person.hired_on = today - draws.days(35, 115)
            person.ramp_until = max(person.hired_on + draws.days(120, 180), today + ONE_DAY)
        elif profile == "returner":
            person.hired_on = start - draws.days(200, 700)
        elif profile == "sales":
            person.hired_on = start - draws.days(300, 1100)
        elif profile == "former":
            person.hired_on = start - draws.days(600, 1500)
    formers = [p for p in people if p.profile == "former"]
    replacements = [p for p in people if p.profile == "replacement"]
    for i, (former, replacement) in enumerate(zip(formers, replacements, strict=True)):
        months_ago = min(7 + i % 4, 12 * span // 366 - 2)
        former.dismissed_on = max(add_months(today, -months_ago), start)
        replacement.hired_on = former.dismissed_on + draws.days(3, 14)
        replacement.ramp_until = replacement.hired_on + draws.days(120, 180)
