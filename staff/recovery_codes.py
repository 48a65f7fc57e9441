"""Two-factor recovery codes (RELIABILITY R13): a set of ten single-use codes that confirm a
sign-in in place of the authenticator app, for a lost or broken phone.

Each code is 10 characters drawn at random from an alphabet without look-alikes (no 0/o, 1/l/i),
shown as two groups of five ("abcde-fghjk"), about 50 bits of chance. Only a salted PBKDF2 hash
is stored (``RecoveryCode.code_hash``); the plain codes exist once, in the answer that shows them.

django-otp's own ``otp_static`` plugin keeps its codes in plain text, so it is not used. A
recovery code confirms the session through the user's confirmed TOTP device instead: the session
is then verified exactly as after an app code (``django_otp.login``), and wrong recovery codes
count against that device's throttling, so switching between the two forms gains no tries.
"""

from __future__ import annotations

import secrets

from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import transaction
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from staff.models import RecoveryCode, SecurityEventKind, User

ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
CODE_LENGTH = 10
GROUP_LENGTH = 5
CODES_PER_SET = 10


class RecoveryCodeHasher(PBKDF2PasswordHasher):
    """Django's PBKDF2 hasher with fewer rounds than for passwords: a code has ~50 random bits,
    not a person's choice, so 50,000 rounds still make guessing one from its hash take years,
    while a sign-in checks a typed code against all ten hashes in a fraction of a second.

    The stored text is Django's usual ``pbkdf2_sha256$rounds$salt$hash``; ``verify`` compares in
    constant time. The hasher is used directly, whatever ``PASSWORD_HASHERS`` lists."""

    iterations = 50_000


_hasher = RecoveryCodeHasher()


def recovery_code_normalise(text: str) -> str:
    """The code as stored: lower case, without the separating hyphen or spaces people type."""
    return "".join(text.split()).replace("-", "").lower()


def _new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def _grouped(code: str) -> str:
    return f"{code[:GROUP_LENGTH]}-{code[GROUP_LENGTH:]}"


def _well_formed(code: str) -> bool:
    return len(code) == CODE_LENGTH and all(char in ALPHABET for char in code)


def recovery_codes_usable(user: User):
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True, revoked_at__isnull=True)


def recovery_codes_left(user: User) -> int:
    return recovery_codes_usable(user).count()


def recovery_codes_generate(user: User) -> list[str]:
    """Issue a fresh set of codes for ``user`` and return them, grouped for reading. The unused
    codes of the previous set stop working in the same transaction; used ones stay as history."""
    codes = [_new_code() for _ in range(CODES_PER_SET)]
    hashes = [_hasher.encode(code, _hasher.salt()) for code in codes]
    with transaction.atomic():
        # One regeneration at a time per user, so two at once cannot leave two sets usable.
        User.objects.select_for_update(no_key=True).filter(pk=user.pk).first()
        now = timezone.now()
        recovery_codes_usable(user).update(revoked_at=now)
        RecoveryCode.objects.bulk_create(
            RecoveryCode(user=user, code_hash=code_hash, created_at=now) for code_hash in hashes
        )
    return [_grouped(code) for code in codes]


def recovery_code_consume(user: User, code: str) -> TOTPDevice | None:
    """Check ``code`` against the user's usable recovery codes and, when one matches, mark it
    used and return the user's confirmed TOTP device (the one the session is then verified with).

    A wrong code counts as a failed attempt on that device, so the growing pause after wrong app
    codes applies to recovery codes too, and while it lasts no code is checked at all. The device
    and code rows are locked, so two uses of one code at the same moment let only one through.
    Returns None when the code is refused or the user has no confirmed device."""
    normalised = recovery_code_normalise(code)
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=True)
            .order_by("pk")
            .first()
        )
        if device is None:
            return None
        allowed, _details = device.verify_is_allowed()
        if not allowed:
            return None
        match = None
        if _well_formed(normalised):
            for candidate in recovery_codes_usable(user).select_for_update().order_by("pk"):
                # Every usable hash is checked, so the time taken does not tell which matched.
                if _hasher.verify(normalised, candidate.code_hash) and match is None:
                    match = candidate
        if match is None:
            device.throttle_increment()
            return None
        spent = RecoveryCode.objects.filter(
            pk=match.pk, used_at__isnull=True, revoked_at__isnull=True
        ).update(used_at=timezone.now())
        if not spent:  # cannot happen under the row lock; never let a code through twice
            return None
        device.throttle_reset()
    return device


def recovery_session_verify(request, code: str) -> bool:
    """Confirm the signed-in session of ``request`` with a recovery code, as a TOTP code would.
    Success and failure are both recorded as security events (R26)."""
    from staff.security_events import security_event_record

    user = request.user
    device = recovery_code_consume(user, code)
    if device is None:
        security_event_record(
            SecurityEventKind.OTP_FAILED, request=request, user=user, stage="recovery"
        )
        return False
    otp_login(request, device)
    security_event_record(
        SecurityEventKind.RECOVERY_CODE_USED,
        request=request,
        user=user,
        codes_left=recovery_codes_left(user),
    )
    return True


def recovery_codes_issue(request) -> list[str]:
    """A new set for the signed-in user of ``request``, recorded as a security event."""
    from staff.security_events import security_event_record

    codes = recovery_codes_generate(request.user)
    security_event_record(
        SecurityEventKind.RECOVERY_CODES_ISSUED, request=request, user=request.user
    )
    return codes
