"""E-mail addresses as every domain accepts them.

Deliberately loose (one @, no spaces): an address is checked for real when mail is sent.
But never control characters, which Postgres text refuses, nor the invisible ones:
zero-width and bidirectional marks make `a@b.co\u202e` look like another address in
every mail client.
"""

from __future__ import annotations

_UNSEEN = r"\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
ADDRESS_CHAR = rf"[^@\s{_UNSEEN}]"
# Any address: something, an @, something.
EMAIL_PATTERN = rf"^{ADDRESS_CHAR}+@{ADDRESS_CHAR}+$"
# An address whose domain has a dot and a last label without one: what a contact list holds.
DOTTED_EMAIL_PATTERN = rf"^{ADDRESS_CHAR}+@{ADDRESS_CHAR}+\.[^@\s.{_UNSEEN}]+$"
