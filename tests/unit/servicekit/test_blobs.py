"""The shared file store: content-addressed, written whole or not at all."""

import hashlib

import pytest

from servicekit.blobs import BlobStore


def test_bytes_are_stored_once_under_their_digest_and_read_back(tmp_path):
    store = BlobStore(tmp_path)
    digest = store.put(b"agenda")
    assert digest == hashlib.sha256(b"agenda").hexdigest()
    assert store.put(b"agenda") == digest                  # the same bytes: the same file
    assert store.get(digest) == b"agenda"
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [digest]


def test_a_damaged_or_unknown_blob_is_an_error_not_other_bytes(tmp_path):
    store = BlobStore(tmp_path, cached=0)
    digest = store.put(b"agenda")
    next(p for p in tmp_path.rglob(digest)).write_bytes(b"tampered")
    with pytest.raises(ValueError, match="damaged"):
        store.get(digest)
    with pytest.raises(FileNotFoundError):
        store.get("0" * 64)
    with pytest.raises(ValueError, match="not a sha256"):
        store.get("../../secrets.json")


def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    store = BlobStore(tmp_path)

    def fail(_fd):
        raise OSError("disk full")

    monkeypatch.setattr("servicekit.blobs.os.fsync", fail)
    with pytest.raises(OSError):
        store.put(b"agenda")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_the_last_blobs_read_are_kept_and_the_oldest_let_go(tmp_path):
    store = BlobStore(tmp_path, cached=2)
    first, second, third = (store.put(b) for b in (b"one", b"two", b"three"))
    for digest in (first, second, third):
        store.get(digest)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            path.unlink()                            # the files gone: only memory answers
    assert (store.get(second), store.get(third)) == (b"two", b"three")
    with pytest.raises(FileNotFoundError):
        store.get(first)
