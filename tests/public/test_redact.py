"""redact_text: phones and e-mails masked in every usual spelling; dates, references, postcodes kept."""

from __future__ import annotations

import pytest

from gusp.public.redact import EMAIL_MASK, PHONE_MASK, redact_text

PHONES = [
    "06 12 34 56 78",
    "06.12.34.56.78",
    "06-12-34-56-78",
    "0612345678",
    "04 42 12 34 56",
    "+33 6 12 34 56 78",
    "+33612345678",
    "+33 (0)6 12 34 56 78",
    "0033 6 12 34 56 78",
    "0033612345678",
    "06 12 34 56 78".replace(" ", "\u00a0"),
    "+44 7700 900123",
    "07700 900123",
    "(555) 555-5555",
    "555-555-5555",
    "+1 555 555 5555",
    "+49 30 1234567",
    "030 1234567",
    "+212 6 12 34 56 78",
    "0 800 123 456",
]


@pytest.mark.parametrize("phone", PHONES)
def test_a_phone_is_masked_in_a_sentence(phone: str) -> None:
    text = f"Appeler Mme Durand au {phone}, merci."
    assert redact_text(text) == f"Appeler Mme Durand au {PHONE_MASK}, merci."


@pytest.mark.parametrize("phone", PHONES)
def test_a_phone_is_masked_alone_and_at_the_edges(phone: str) -> None:
    assert redact_text(phone) == PHONE_MASK
    bracketed = redact_text(f"({phone})")
    assert PHONE_MASK in bracketed and not any(c.isdigit() for c in bracketed)
    assert redact_text(f"tel:{phone}.") == f"tel:{PHONE_MASK}."


EMAILS = ["jean.durand@example.fr", "J.Durand+gusp@mairie-aix.fr", "marie_2@sub.domaine.org", "jean [at] example.fr",
          "jean(at)example.fr", "jean arobase example.fr", "élise@exemple.fr"]


@pytest.mark.parametrize("email", EMAILS)
def test_an_email_is_masked(email: str) -> None:
    assert redact_text(f"Écrire à {email} svp") == f"Écrire à {EMAIL_MASK} svp"


KEPT = [
    "Depuis le 12/03/2026 à 14h30.",
    "Depuis le 12.03.2026 à 14h30, 10 sacs.",
    "Le 2026-03-12 10 sacs déposés.",
    "Le 01.02.2026 10 personnes.",
    "Voir GUSP-2026-000001 et GUSP-2026-000123.",
    "13090 Aix-en-Provence",
    "13090 13100",
    "En 2025 et 2026, puis 2024-2026.",
    "Bâtiment B, 3e étage, porte 12, 45 logements.",
    "Il y a 3 500 000 euros de travaux.",
    "De 8h à 18h, 7 j/7.",
    "Lampadaire n° 1234 rue 5.",
    "Coordonnées 43.5283, 5.4497",
    "",
]


@pytest.mark.parametrize("text", KEPT)
def test_dates_references_postcodes_years_are_kept(text: str) -> None:
    assert redact_text(text) == text


def test_a_phone_next_to_other_numbers_is_masked_alone() -> None:
    assert redact_text("Bâtiment 12 06 12 34 56 78") == f"Bâtiment 12 {PHONE_MASK}"
    assert redact_text("13090 0612345678") == f"13090 {PHONE_MASK}"
    assert redact_text("le 12.03.2026 0612345678") == f"le 12.03.2026 {PHONE_MASK}"
    assert redact_text("GUSP-2026-000001 : 06 12 34 56 78") == f"GUSP-2026-000001 : {PHONE_MASK}"


def test_several_phones_and_emails_in_one_text() -> None:
    text = "M. X 06 12 34 56 78 ou 07.98.76.54.32, x@y.fr ; Mme Y +33 4 42 00 00 00."
    assert redact_text(text) == f"M. X {PHONE_MASK} ou {PHONE_MASK}, {EMAIL_MASK} ; Mme Y {PHONE_MASK}."


def test_none_stays_none() -> None:
    assert redact_text(None) is None


def test_long_hostile_input_is_quick() -> None:
    import time

    text = ("1 " * 5000) + ("(" * 3000) + ("0-" * 3000)
    started = time.perf_counter()
    redact_text(text)
    assert time.perf_counter() - started < 2
