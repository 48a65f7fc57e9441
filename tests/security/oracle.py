"""An independent oracle of who may do what (SPEC §1), for the security suite.

Written from the role table in plain Python over a snapshot of plain values: it never calls
``clients.selectors`` or any other scoping code of the product, so a bug there cannot hide itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DIRECTOR, MENTOR, CLIENT_MANAGER = "director", "mentor", "client_manager"
RETURN_MANAGER, SALES_MANAGER = "return_manager", "sales_manager"
ACTIVE_CASES = {"open", "claimed", "free_month"}


@dataclass(frozen=True)
class Person:
    id: int
    role: str
    mentor_id: int | None
    is_active: bool


@dataclass(frozen=True)
class Case:
    id: int
    client_id: int
    status: str
    return_manager_id: int | None


@dataclass
class Org:
    people: dict[int, Person] = field(default_factory=dict)
    client_manager: dict[int, int | None] = field(default_factory=dict)  # client id → manager id
    cases: list[Case] = field(default_factory=list)

    @classmethod
    def snapshot(cls) -> Org:
        """Plain values read straight from the tables."""
        from clients.models import Client
        from retention.models import LostCase
        from staff.models import User

        org = cls()
        for row in User.objects.values("id", "role", "mentor_id", "is_active"):
            org.people[row["id"]] = Person(**row)
        for row in Client.objects.values("id", "manager_id"):
            org.client_manager[row["id"]] = row["manager_id"]
        for row in LostCase.objects.values("id", "client_id", "status", "return_manager_id"):
            org.cases.append(Case(**row))
        return org

    def _client_id(self, obj) -> int:
        """A client, or anything hanging off one (contract, call, request, case, referral)."""
        if isinstance(obj, int):
            return obj
        kind = type(obj).__name__
        if kind == "Client":
            return obj.pk
        if kind == "Referral":  # seen through the client that named it
            return obj.referrer_id
        return obj.client_id

    def _reads(self, person: Person, client_id: int) -> bool:
        owner = self.client_manager[client_id]
        if person.role == DIRECTOR:
            return True
        if person.role == MENTOR:
            if owner == person.id:
                return True
            return owner is not None and self.people[owner].mentor_id == person.id
        if person.role in (CLIENT_MANAGER, SALES_MANAGER):
            return owner == person.id
        if person.role == RETURN_MANAGER:
            return any(
                case.client_id == client_id
                and (case.status in ACTIVE_CASES or case.return_manager_id == person.id)
                for case in self.cases
            )
        return False

    def can(self, user, action: str, obj=None) -> bool:
        """``action``: view, edit (log work, change details, contracts), reassign, export."""
        if user is None or not getattr(user, "pk", None):
            return False
        person = self.people[user.pk]
        if not person.is_active:
            return False
        if action == "export":
            return person.role in (DIRECTOR, MENTOR)
        client_id = self._client_id(obj)
        if not self._reads(person, client_id):
            return False
        if action == "view":
            return True
        if action == "edit":
            if person.role != RETURN_MANAGER:
                return True
            return any(
                case.client_id == client_id
                and case.status in ACTIVE_CASES
                and case.return_manager_id == person.id
                for case in self.cases
            )
        if action == "reassign":
            if person.role in (DIRECTOR, MENTOR):
                return True
            return person.role == SALES_MANAGER and self.client_manager[client_id] == person.id
        raise ValueError(action)

    def visible(self, user) -> set[int]:
        return {pk for pk in self.client_manager if self.can(user, "view", pk)}

    def editable(self, user) -> set[int]:
        return {pk for pk in self.client_manager if self.can(user, "edit", pk)}
