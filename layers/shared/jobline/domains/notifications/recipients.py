"""Recipients of a notification job: e-mail addresses and E.164 phone numbers, checked and normalised."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from jobline.domains.notifications.channels import E164

# One job sends to at most this many recipients: a bigger campaign is several jobs, so
# one attempt fits the queue's job timeout and one record stays far below DynamoDB's 400 KB.
MAX_RECIPIENTS = 1_000

# The dot-atom form of RFC 5322 (what SES accepts without quoting), with a dotted
# domain whose top-level label is alphabetic or punycode. Quoted local parts and IP
# literals are refused.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TOP_LABEL = r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})"
_EMAIL = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+{_TOP_LABEL}$")
_MAX_LOCAL_PART = 64
_MAX_ADDRESS = 254
# Characters people put in phone numbers for readability; everything else is refused.
_PHONE_PUNCTUATION = re.compile(r"[\s().-]")


def normalise_email(value: str) -> str:
    """`value` as a deliverable address (domain lower-cased); ValueError if it is not one."""
    address = value.strip()
    local, _, domain = address.rpartition("@")
    if len(address) > _MAX_ADDRESS or len(local) > _MAX_LOCAL_PART or not _EMAIL.match(address):
        raise ValueError(f"{value!r} is not a valid e-mail address")
    return f"{local}@{domain.lower()}"


def normalise_phone(value: str) -> str:
    """`value` in E.164 (`+` and up to 15 digits), readability punctuation removed; ValueError otherwise."""
    number = _PHONE_PUNCTUATION.sub("", value)
    if not E164.match(number):
        raise ValueError(f"{value!r} is not an E.164 phone number (like +14155550100)")
    return number


def unique(values: list[str]) -> list[str]:
    """`values` without repeats (compared case-insensitively), first spelling and order kept.

    A campaign that names someone twice means to reach them once, and the per-recipient
    delivery record is keyed by recipient.
    """
    seen: set[str] = set()
    kept = []
    for value in values:
        if value.casefold() not in seen:
            seen.add(value.casefold())
            kept.append(value)
    return kept


EmailAddress = Annotated[str, StringConstraints(max_length=320), AfterValidator(normalise_email)]
PhoneNumber = Annotated[str, StringConstraints(max_length=32), AfterValidator(normalise_phone)]
EmailRecipients = Annotated[list[EmailAddress], Field(min_length=1, max_length=MAX_RECIPIENTS), AfterValidator(unique)]
PhoneRecipients = Annotated[list[PhoneNumber], Field(min_length=1, max_length=MAX_RECIPIENTS), AfterValidator(unique)]


def listed(value: object) -> object:
    """One address as a list of one (BullMQ's `to: 'user@example.com'`); anything else as given."""
    # Checked here, so a bad single address is named as the field itself, not as its item 0.
    return [normalise_email(value)] if isinstance(value, str) else value


OneOrMoreEmails = Annotated[EmailRecipients, BeforeValidator(listed)]
