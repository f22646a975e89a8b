"""The local S3 server: real S3 API on loopback, keys required."""

from __future__ import annotations

import stat

import boto3
import botocore
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from movie_recs.services.s3 import LocalS3Proxy, S3Settings, settings_from_env


def test_signed_requests_round_trip(s3):
    client = s3.client()
    client.put_object(Bucket=s3.bucket, Key="probe/hello.txt", Body=b"hello")
    body = client.get_object(Bucket=s3.bucket, Key="probe/hello.txt")["Body"].read()
    assert body == b"hello"
    client.delete_object(Bucket=s3.bucket, Key="probe/hello.txt")


def test_anonymous_requests_are_refused(s3):
    anonymous = boto3.client(
        "s3",
        endpoint_url=s3.endpoint_url,
        region_name="us-east-1",
        config=Config(signature_version=botocore.UNSIGNED),
    )
    with pytest.raises(ClientError) as refused:
        anonymous.list_objects_v2(Bucket=s3.bucket)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_generated_keys_are_readable_by_their_owner_only(s3):
    assert stat.S_IMODE(LocalS3Proxy().credentials_file.stat().st_mode) == 0o600
    assert LocalS3Proxy().settings() == s3  # kept, not made again


def test_wrong_secret_is_refused(s3):
    forged = S3Settings(s3.endpoint_url, s3.access_key, "not-the-secret", s3.bucket)
    with pytest.raises(ClientError) as refused:
        forged.client().list_objects_v2(Bucket=s3.bucket)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_endpoint_without_keys_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://minio.internal:9000")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    with pytest.raises(RuntimeError, match="AWS_ACCESS_KEY_ID is not"):
        settings_from_env()


def test_only_the_local_server_skips_the_committers_cleanup(s3, monkeypatch):
    """The local server's env carries the workaround to dbt's Spark; another endpoint's not."""
    assert s3.env()["S3A_SKIP_COMMITTER_CLEANUP"] == "true"
    for name, value in s3.env().items():
        monkeypatch.setenv(name, value)
    assert settings_from_env() == s3  # what a nightly started with that env sees
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://minio.internal:9000")
    monkeypatch.delenv("S3A_SKIP_COMMITTER_CLEANUP")
    assert settings_from_env().env()["S3A_SKIP_COMMITTER_CLEANUP"] == "false"
