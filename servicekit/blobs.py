"""The file store shared by every instance: documents messaging sends and (later) tickets'
attachments. Content-addressed files under `storage.path` (default `<data_dir>/blobs`): on
one box every instance sees the same folder; deployed, it is one volume every instance
mounts (docker-compose's `blobs` volume, a ReadWriteMany claim on Kubernetes). A file is
named by its sha256, so the same bytes are stored once, a name never changes what it holds,
and the database row that refers to it carries the digest to check it by. A write goes to
a temporary file, is flushed to disk and then renamed into place: a crash leaves either the
whole file or nothing."""

import hashlib
import os
import re
import tempfile
from pathlib import Path

from nameko.extensions import DependencyProvider

from servicekit.config import data_dir

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class BlobStore:
    def __init__(self, root, cached=4):
        self.root = Path(root)
        # a send reads its document once per batch: the last few are kept in memory (a
        # blob never changes what it holds, so what is cached cannot go stale)
        self._recent = {}
        self._cached = cached

    def put(self, data):
        """Store `data`; answers its sha256 (hex)."""
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if path.exists():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return digest

    def get(self, digest):
        """The bytes stored under `digest`; FileNotFoundError when there are none, and
        ValueError when what is stored no longer matches its digest."""
        if digest in self._recent:
            return self._recent[digest]
        data = self._path(digest).read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise ValueError(f"blob {digest} is damaged: its bytes no longer match")
        if len(self._recent) >= self._cached:
            self._recent.pop(next(iter(self._recent)))
        self._recent[digest] = data
        return data

    def _path(self, digest):
        if not _DIGEST.match(digest or ""):
            raise ValueError(f"not a sha256 digest: {digest!r}")
        return self.root / digest[:2] / digest[2:4] / digest


def blob_store(config):
    storage = config.get("storage") or {}
    return BlobStore(storage.get("path") or data_dir(config) / "blobs")


class Blobs(DependencyProvider):
    """The shared file store as a nameko dependency (built once, in setup)."""

    def setup(self):
        self.store = blob_store(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.store
