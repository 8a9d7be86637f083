"""Attachments' bytes in an S3-compatible bucket (AWS S3, MinIO, Aliyun OSS, Tencent COS).

The same ``FileStore`` protocol as the local folder: an object per file under
``<prefix><tenant>/<key>``, keys random and made here. An upload is spooled (memory up to
8 MB, then a temporary file) while its size and SHA-256 are computed, so the limit holds
before anything reaches the bucket, then sent with boto3's managed transfer (multipart
for large files) in a worker thread. A download is fetched into a spooled file, so the
API can check it against the record's checksum before streaming it.

boto3 is an optional dependency (``pip install tessera[s3]``); credentials come from its
usual chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, a profile, an instance role).
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import AsyncIterator
from typing import Any, BinaryIO

import anyio.to_thread

from runtime.sql import naming
from runtime.storage.files import CHUNK, FileMissing, Stored, StoreUnavailable, write_within

#: Bytes of an upload or download kept in memory before spilling to a temporary file.
SPOOL = 8 << 20

#: S3 error codes that mean "no such object".
_MISSING = {"NoSuchKey", "404", "NotFound"}


class S3Files:
    """Files in ``bucket`` under ``<prefix><tenant>/<key>``."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    @classmethod
    def connect(
        cls, bucket: str, *, endpoint: str | None = None, region: str | None = None
    ) -> S3Files:
        """Return a store on ``bucket`` of the S3 service at ``endpoint`` (None: AWS)."""
        import boto3  # optional: only a deployment that keeps files in S3 needs it

        client = boto3.client("s3", endpoint_url=endpoint or None, region_name=region or None)
        return cls(client, bucket)

    def _name(self, tenant: str, key: str) -> str:
        if not key.isalnum():  # keys are made here: anything else is not one of ours
            raise FileMissing(key)
        return f"{self.prefix}{naming.fit(tenant)}/{key}"

    async def put(self, tenant: str, chunks: AsyncIterator[bytes], limit: int) -> Stored:
        key = secrets.token_hex(16)
        with tempfile.SpooledTemporaryFile(max_size=SPOOL) as spool:
            size, sha256 = await write_within(chunks, spool, limit)  # type: ignore[arg-type]
            spool.seek(0)
            name = self._name(tenant, key)
            try:
                await anyio.to_thread.run_sync(
                    lambda: self.client.upload_fileobj(spool, self.bucket, name)
                )
            except Exception as exc:  # botocore's errors: the service, the bucket, the network
                raise StoreUnavailable(
                    f"the bucket {self.bucket!r} refused the file: {exc}"
                ) from None
        return Stored(key, size, sha256)

    def open(self, tenant: str, key: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._name(tenant, key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise FileMissing(key) from None
            raise StoreUnavailable(f"the bucket {self.bucket!r} refused: {exc}") from None
        except Exception as exc:  # the endpoint cannot be reached
            raise StoreUnavailable(f"the file store cannot be reached: {exc}") from None
        body = answer["Body"]
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 (the caller closes it)
        try:
            for chunk in iter(lambda: body.read(CHUNK), b""):
                spool.write(chunk)
        except BaseException:
            spool.close()
            raise
        finally:
            body.close()
        spool.seek(0)
        return spool  # type: ignore[return-value]

    def delete(self, tenant: str, key: str) -> None:
        try:
            name = self._name(tenant, key)
        except FileMissing:
            return
        self.client.delete_object(Bucket=self.bucket, Key=name)  # absent: S3 says 204 too
