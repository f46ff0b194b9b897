from services.directory import keys


def test_keys_are_checked_against_their_hash_only():
    key, prefix, stored = keys.generate()
    assert keys.prefix_of(key) == prefix
    assert keys.matches(key, stored)
    assert key not in stored
    assert not keys.matches(key[:-1] + ("A" if key[-1] != "A" else "B"), stored)


def test_malformed_keys_have_no_prefix():
    assert keys.prefix_of("") is None
    assert keys.prefix_of("Bearer abc") is None
    assert keys.prefix_of("th_short_x") is None
