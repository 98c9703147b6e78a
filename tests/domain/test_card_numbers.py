"""Card numbers in free text: written whole or in groups, Luhn-valid, masked to the first six and last four
digits; digit strings that fail Luhn, are too short or too long, or are one digit repeated are not cards."""

from __future__ import annotations

import pytest

from nexus_console.domain.card_numbers import find_card_numbers, luhn_valid, mask


@pytest.mark.parametrize(
    ("number", "valid"),
    [("4111111111111111", True), ("4111111111111112", False), ("378282246310005", True),
     ("79927398713", True), ("79927398710", False), ("5555555555554444", True), ("6011111111111117", True)],
)  # fmt: skip
def test_the_luhn_check(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


@pytest.mark.parametrize(
    ("text", "masked", "brand"),
    [
        ("card 4111111111111111 thanks", "411111******1111", "Visa"),
        ("4111 1111 1111 1111", "411111******1111", "Visa"),
        ("pay with 5555-5555-5555-4444 today", "555555******4444", "Mastercard"),
        ("amex: 3782 822463 10005", "378282*****0005", "American Express"),
    ],
)
def test_a_card_number_is_found_whole_or_grouped_and_only_its_mask_is_kept(
    text: str, masked: str, brand: str
) -> None:
    (found,) = find_card_numbers(text)
    assert (found.masked, found.brand) == (masked, brand)
    assert text[found.start : found.end].replace(" ", "").replace("-", "")[-4:] == masked[-4:]


@pytest.mark.parametrize(
    "text",
    [
        "order 4111111111111112",  # fails Luhn
        "phone +47 9123 4567",  # too short
        "id 41111111111111110000000",  # a longer run of digits is not a card
        "0000 0000 0000 0000",  # one digit repeated passes Luhn but is no card
        "4111  1111  1111  1111",  # double spaces: not how a card is written
        "version 2026.12.07",
    ],
)
def test_digit_strings_that_are_not_card_numbers_are_ignored(text: str) -> None:
    assert find_card_numbers(text) == []


def test_two_cards_in_one_text_are_both_found() -> None:
    found = find_card_numbers("4111111111111111 and 5555 5555 5555 4444")
    assert [card.masked for card in found] == ["411111******1111", "555555******4444"]


def test_a_mask_never_shows_more_than_six_and_four_digits() -> None:
    assert mask("4111111111111111") == "411111******1111"
    assert mask("4111111111111111111").count("*") == 9
