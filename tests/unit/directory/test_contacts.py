import pytest

from services.directory.contacts import ContactError, normalize_email, normalize_phone


@pytest.mark.parametrize(
    "raw", ["202-555-0123", "(202) 555-0123", " +1 202 555 0123 ", "2025550123"])
def test_phones_are_stored_in_e164(raw):
    assert normalize_phone(raw) == "+12025550123"


def test_the_default_region_reads_national_numbers():
    assert normalize_phone("020 7946 0018", default_region="GB") == "+442079460018"
    assert normalize_phone("+44 20 7946 0018") == "+442079460018"


@pytest.mark.parametrize("raw", ["555-01", "(555) 123-0001", "not a phone", "+999 123"])
def test_invalid_phones_name_the_field_and_the_rule(raw):
    with pytest.raises(ContactError) as caught:
        normalize_phone(raw)
    assert caught.value.field == "phone"
    assert "is not a valid phone number" in caught.value.message
    assert str(caught.value) == caught.value.message


def test_the_message_names_the_region_for_national_numbers():
    with pytest.raises(ContactError, match=r"^'555-01' is not a valid phone number for region US$"):
        normalize_phone("555-01")


def test_a_number_with_an_extension_is_refused_rather_than_truncated():
    with pytest.raises(ContactError, match="extension"):
        normalize_phone("202 555 0123 ext 4")


def test_empty_values_are_refused():
    with pytest.raises(ContactError, match="phone is empty"):
        normalize_phone("  ")
    with pytest.raises(ContactError, match="email is empty"):
        normalize_email("")


def test_an_unknown_default_region_is_a_programming_error():
    with pytest.raises(ValueError, match="region") as caught:
        normalize_phone("202-555-0123", default_region="XX")
    assert not isinstance(caught.value, ContactError)


def test_emails_are_normalized():
    assert normalize_email(" Ann.Lee@Example.COM ") == "Ann.Lee@example.com"


@pytest.mark.parametrize("raw", ["ann@", "ann", "ann@@example.com", "ann lee@example.com"])
def test_invalid_emails_name_the_field_and_the_rule(raw):
    with pytest.raises(ContactError) as caught:
        normalize_email(raw)
    assert caught.value.field == "email"
    assert caught.value.message.startswith(f"{raw!r} is not a valid email address")
