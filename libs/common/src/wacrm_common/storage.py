"""S3 object storage (aioboto3): the bucket, puts, gets and short-lived signed URLs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aioboto3
from botocore.config import Config
from botocore.exceptions import ClientError

from wacrm_common.settings import Settings


class Storage:
    def __init__(self, settings: Settings) -> None:
        self.bucket = settings.s3_bucket
        self._session = aioboto3.Session()
        self._kwargs: dict[str, Any] = {
            "endpoint_url": settings.s3_endpoint_url,
            "aws_access_key_id": settings.s3_access_key_id.get_secret_value(),
            "aws_secret_access_key": settings.s3_secret_access_key.get_secret_value(),
            "region_name": settings.s3_region,
            "config": Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        }

    @asynccontextmanager
    async def client(self) -> AsyncIterator[Any]:
        async with self._session.client("s3", **self._kwargs) as s3:
            yield s3

    async def ensure_bucket(self) -> None:
        async with self.client() as s3:
            try:
                await s3.head_bucket(Bucket=self.bucket)
            except ClientError:
                await s3.create_bucket(Bucket=self.bucket)

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        async with self.client() as s3:
            await s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    async def get(self, key: str) -> tuple[bytes, str]:
        async with self.client() as s3:
            obj = await s3.get_object(Bucket=self.bucket, Key=key)
            async with obj["Body"] as body:
                return await body.read(), obj["ContentType"]

    async def signed_url(self, key: str, *, seconds: int = 300) -> str:
        async with self.client() as s3:
            url: str = await s3.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=seconds
            )
            return url
