"""Client side of the domain's E2E policy: which profile to use for which peer device.

``gost-only``: GOST-OMEMO to everyone, refusal (PolicyViolation) for a recipient without a
GOST device. ``gost-preferred``: GOST-OMEMO where the peer has it, standard OMEMO for
their other devices, never to a GOST device's twin. ``standard``: standard OMEMO only."""

from __future__ import annotations

from client_sdk.e2e.errors import PolicyViolation

GOST_ONLY = "gost-only"
GOST_PREFERRED = "gost-preferred"
STANDARD = "standard"
PROFILES = (GOST_ONLY, GOST_PREFERRED, STANDARD)
FORM_TYPE = "urn:oplot:policy:0"
FIELD = "e2e-profile"
DEFAULT = GOST_PREFERRED


def check(profile: str) -> str:
    if profile not in PROFILES:
        raise ValueError(f"unknown E2E profile {profile!r}; one of {', '.join(PROFILES)}")
    return profile


def uses_gost(profile: str) -> bool:
    return profile != STANDARD


def uses_standard(profile: str) -> bool:
    return profile != GOST_ONLY


def require_gost(profile: str, without_gost: set[str]) -> None:
    """Refuse, naming the peers, when gost-only meets recipients lacking a GOST device."""
    if profile == GOST_ONLY and without_gost:
        names = ", ".join(sorted(without_gost))
        raise PolicyViolation(f"not sent: the domain policy is gost-only and {names} "
                              f"{'has' if len(without_gost) == 1 else 'have'} no GOST-OMEMO "
                              "device (ask them to use a certified Oplot client)")


def from_disco_form(form_values: dict[str, object]) -> str:
    """The profile from a disco#info extension form's values (default if absent/bad)."""
    value = form_values.get(FIELD)
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) and value in PROFILES else DEFAULT
