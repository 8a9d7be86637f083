"""Where attachments' bytes live: a local folder by default, one subfolder per tenant.

A file is written to a temporary name beside its final one and renamed when complete,
so a reader never sees half a file, and its SHA-256 and size are computed while it is
written, so the limit holds without buffering the whole upload. Keys are random and
carry no name a person gave, so a file name can never point outside the folder.

The store is a small protocol (``FileStore``): an S3-compatible store can take its
place without the API or the record service knowing.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from runtime.sql import naming

#: Bytes read or written at a time.
CHUNK = 1 << 16


class FileTooLarge(ValueError):
    """More bytes came than the limit allows; nothing was kept."""


class FileMissing(LookupError):
    """The record names a file the store does not have."""


class StoreUnavailable(OSError):
    """The store cannot be reached or written (a bucket gone, a disk full): the API
    answers 503, and the record is left as it was."""


@dataclass(frozen=True)
class Stored:
    key: str
    size: int
    sha256: str


@runtime_checkable
class FileStore(Protocol):
    async def put(self, tenant: str, chunks: AsyncIterator[bytes], limit: int) -> Stored: ...

    def open(self, tenant: str, key: str) -> BinaryIO: ...

    def delete(self, tenant: str, key: str) -> None: ...


class LocalFiles:
    """Files under ``root/<tenant>/<two characters>/<key>``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, tenant: str, key: str) -> Path:
        if not key.isalnum():  # keys are made here: anything else is not one of ours
            raise FileMissing(key)
        return self.root / naming.fit(tenant) / key[:2] / key

    async def put(self, tenant: str, chunks: AsyncIterator[bytes], limit: int) -> Stored:
        key = secrets.token_hex(16)
        path = self._path(tenant, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"the file folder cannot be written: {exc.strerror}") from None
        partial = path.with_suffix(".partial")
        try:
            with partial.open("wb") as out:
                size, sha256 = await write_within(chunks, out, limit)
                out.flush()
                os.fsync(out.fileno())
            partial.rename(path)
        except FileTooLarge:
            partial.unlink(missing_ok=True)
            raise
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise StoreUnavailable(f"the file folder cannot be written: {exc.strerror}") from None
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return Stored(key, size, sha256)

    def open(self, tenant: str, key: str) -> BinaryIO:
        try:
            return self._path(tenant, key).open("rb")
        except FileNotFoundError:
            raise FileMissing(key) from None
        except OSError as exc:
            raise StoreUnavailable(f"the file folder cannot be read: {exc.strerror}") from None

    def delete(self, tenant: str, key: str) -> None:
        with contextlib.suppress(FileMissing):
            self._path(tenant, key).unlink(missing_ok=True)


async def write_within(chunks: AsyncIterator[bytes], out: BinaryIO, limit: int) -> tuple[int, str]:
    """Write ``chunks`` to ``out``, refusing more than ``limit`` bytes as they come (no
    upload is buffered whole to be measured); return the size and the SHA-256."""
    digest, size = hashlib.sha256(), 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise FileTooLarge(size)
        digest.update(chunk)
        out.write(chunk)
    return size, digest.hexdigest()


def checksum(source: BinaryIO) -> str:
    """Return the SHA-256 of what ``source`` holds from here on."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: source.read(CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


def chunks_of(source: BinaryIO) -> Iterator[bytes]:
    """Yield ``source`` in chunks, then close it."""
    try:
        yield from iter(lambda: source.read(CHUNK), b"")
    finally:
        source.close()
