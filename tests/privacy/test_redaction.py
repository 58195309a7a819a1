"""privacy.redaction: what callers say, the way speech recognition writes it, comes out with typed placeholders."""

from __future__ import annotations

import pytest

from privacy.redaction import luhn_ok, redact, redact_value


@pytest.mark.parametrize(
    ("said", "stored"),
    [
        # Cards: written in groups, spoken digit by digit, with commas between groups.
        ("My card is 4111 1111 1111 1111 thanks", "My card is [card] thanks"),
        ("it's 4111-1111-1111-1111", "it's [card]"),
        (
            "four one one one, one one one one, one one one one, one one one one",
            "[card]",
        ),
        ("five five five five five five five five five five five five four four four four", "[card]"),
        # E-mails, written and spoken.
        ("email jordan.smith@example.co.uk please", "email [email] please"),
        ("it's jordan at example dot com", "it's [email]"),
        ("Jordan dot Smith at gmail dot com.", "[email]."),
        # Phone numbers: phonenumbers' matcher for written ones, digit runs for spoken ones.
        ("call me at (415) 555-2671 or +44 20 7946 0958", "call me at [phone] or [phone]"),
        ("my number is five five five, two one two, three four five six seven", "my number is [phone]"),
        # SSNs: the 3-2-4 form, or nine digits after "social security".
        ("SSN 123-45-6789", "SSN [ssn]"),
        ("my social is one two three four five six seven eight nine", "my social is [ssn]"),
        # Dates of birth: after a birth word, or any numeric date in the 1900s.
        ("I was born on March 3rd, 1985.", "I was born on [dob]."),
        ("date of birth is march third nineteen eighty five", "date of birth is [dob]"),
        ("dob 03/15/1985", "dob [dob]"),
        ("it was 7/4/1976 I think", "it was [dob] I think"),
    ],
)
def test_personal_data_becomes_a_typed_placeholder(said, stored):
    assert redact(said) == stored


@pytest.mark.parametrize(
    "text",
    [
        "Can I come on March 3rd at 2 PM? One of us will be there at ten.",  # an appointment is not a birth date
        "I will be at home at five",  # "at" is not an e-mail without a domain
        "the price is 1,250,000 dollars, order 12345",  # not a phone: phonenumbers finds no valid number
        "card 4111 1111 1111 1112 thanks",  # fails Luhn: not a card (and too long for a phone)
        "oh okay, one moment",
        "Tuesday 2026-12-04 at 14:30",
        "",
    ],
)
def test_ordinary_speech_is_left_alone(text):
    assert redact(text) == text


def test_luhn():
    assert luhn_ok("4111111111111111") and luhn_ok("5555555555554444") and luhn_ok("378282246310005")
    assert not luhn_ok("4111111111111112")


def test_redact_value_walks_json_and_keeps_keys():
    value = {"messages": [{"role": "user", "content": "jordan at example dot com"}], "n": 3, "ok": True}
    assert redact_value(value) == {"messages": [{"role": "user", "content": "[email]"}], "n": 3, "ok": True}


def test_phone_replacement_is_the_callers_choice():
    assert redact("ring +1 415 555 2671", phone=lambda raw: "<" + raw[-2:] + ">") == "ring <71>"


def test_identifiers_and_machine_times_are_never_personal():
    tool_turn = {
        "arguments": {"start": "2026-12-08T14:30:00-05:00", "callback_at": "2026-12-05 15:00:00-05:00"},
        "result": {"id": "e52f6c23-4187-4901-9300-cad29a877bf2", "sid": "CA0123456789abcdef0123456789abcdef"},
    }
    assert redact_value(tool_turn) == tool_turn
    # ...but a birth date written the machine's way still is one.
    assert redact_value({"dob": "1985-03-15", "said": "born 2001-05-02"}) == {"dob": "[dob]", "said": "born [dob]"}
