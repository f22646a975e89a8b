"""S3-compatible object storage: the endpoint in AWS_ENDPOINT_URL, or a local S3Proxy.

MinIO's server is AGPL and cannot be installed from this project's registries,
so local runs and tests use S3Proxy (Apache-2.0, from Maven Central) with its
filesystem backend. Any S3 endpoint works by configuration: set
AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and S3_BUCKET).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from movie_recs.settings import (
    PROJECT_ROOT,
    S3PROXY_JARS_DIR,
    env_int,
    generated_secrets,
    state_dir,
)

DEFAULT_PORT = 59000
DEFAULT_BUCKET = "movie-recs"
START_TIMEOUT_S = 60
S3PROXY_LOGGING = PROJECT_ROOT / "setup" / "s3proxy" / "logback.xml"


@dataclass(frozen=True)
class S3Settings:
    endpoint_url: str
    access_key: str
    secret_key: str
    bucket: str
    region: str = "us-east-1"
    # Leave Hadoop's committer `_temporary/` folder behind (the MLlib model's
    # writes): see LocalS3Proxy.settings.
    skip_committer_cleanup: bool = False

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "S3_BUCKET": self.bucket,
            "S3A_SKIP_COMMITTER_CLEANUP": str(self.skip_committer_cleanup).lower(),
        }

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 3},
                # newer SDKs send checksum headers that S3-compatible stores may reject
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    def ensure_bucket(self) -> None:
        client = self.client()
        try:
            client.head_bucket(Bucket=self.bucket)
        except ClientError:
            client.create_bucket(Bucket=self.bucket)


def settings_from_env() -> S3Settings | None:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        return None
    try:
        return S3Settings(
            endpoint_url=endpoint,
            access_key=os.environ["AWS_ACCESS_KEY_ID"],
            secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
            bucket=os.environ.get("S3_BUCKET", DEFAULT_BUCKET),
            region=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            skip_committer_cleanup=os.environ.get("S3A_SKIP_COMMITTER_CLEANUP") == "true",
        )
    except KeyError as missing:
        raise RuntimeError(f"AWS_ENDPOINT_URL is set but {missing.args[0]} is not") from None


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class LocalS3Proxy:
    """S3Proxy on 127.0.0.1 with generated keys; objects under `<state>/s3/`."""

    def __init__(self, root: Path | None = None, port: int | None = None) -> None:
        self.root = (root or state_dir()) / "s3"
        self.port = port or env_int("MOVIE_RECS_S3_PORT", DEFAULT_PORT)
        self.data_dir = self.root / "data"
        self.credentials_file = self.root / "credentials.json"
        self.properties_file = self.root / "s3proxy.properties"
        self.pid_file = self.root / "s3proxy.pid"
        self.log_file = self.root / "s3proxy.log"

    def settings(self) -> S3Settings:
        creds = generated_secrets(
            self.credentials_file,
            lambda: {
                "access_key": "movie-recs-" + secrets.token_hex(4),
                "secret_key": secrets.token_urlsafe(30),
            },
        )
        return S3Settings(
            endpoint_url=f"http://127.0.0.1:{self.port}",
            access_key=creds["access_key"],
            secret_key=creds["secret_key"],
            bucket=os.environ.get("S3_BUCKET", DEFAULT_BUCKET),
            # The filesystem backend retries deleting a folder that is not
            # empty for 10 s, and the committer's cleanup deletes `_temporary/0/`
            # before what is under it: 10 s per write. Skipped, it leaves an
            # empty `_temporary/0/` beside the files, which readers ignore.
            skip_committer_cleanup=True,
        )

    def _write_properties(self, settings: S3Settings) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        lines = [
            f"s3proxy.endpoint=http://127.0.0.1:{self.port}",
            # v2 and v4 signatures; requests without a valid signature are refused
            "s3proxy.authorization=aws-v2-or-v4",
            f"s3proxy.identity={settings.access_key}",
            f"s3proxy.credential={settings.secret_key}",
            "jclouds.provider=filesystem",
            f"jclouds.filesystem.basedir={self.data_dir}",
        ]
        self.properties_file.write_text("\n".join(lines) + "\n")
        self.properties_file.chmod(0o600)

    def _pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text())
            os.kill(pid, 0)
            return pid
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return None

    def is_running(self) -> bool:
        return self._pid() is not None and _port_open(self.port)

    def start(self) -> S3Settings:
        settings = self.settings()
        if self.is_running():
            return settings
        if _port_open(self.port):
            raise RuntimeError(
                f"port {self.port} is taken by another process; "
                "set MOVIE_RECS_S3_PORT to run the local S3 server elsewhere"
            )
        if not any(S3PROXY_JARS_DIR.glob("s3proxy-*.jar")):
            raise RuntimeError(f"S3Proxy jars missing in {S3PROXY_JARS_DIR}: run `make setup`")
        self._write_properties(settings)
        with open(self.log_file, "ab") as log:
            process = subprocess.Popen(
                [
                    "java",
                    "-Xmx512m",
                    f"-Dlogback.configurationFile={S3PROXY_LOGGING}",
                    "-cp",
                    f"{S3PROXY_JARS_DIR}/*",
                    "org.gaul.s3proxy.Main",
                    "--properties",
                    str(self.properties_file),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid_file.write_text(str(process.pid))
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _port_open(self.port):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(
                    f"S3Proxy did not start on port {self.port}; see {self.log_file}:\n"
                    + self.log_file.read_text()[-2000:]
                )
            time.sleep(0.2)
        return settings

    def stop(self) -> None:
        pid = self._pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while self._pid() is not None and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.1)
        self.pid_file.unlink(missing_ok=True)


def ensure_s3() -> S3Settings:
    """The configured endpoint, or the local S3Proxy, started, with the bucket made."""
    settings = settings_from_env()
    if settings is None:
        settings = LocalS3Proxy().start()
    settings.ensure_bucket()
    return settings
