"""The one storage layer: a local folder or an S3 prefix, addressed by the same keys.

Keys are relative, '/'-separated paths (``raw/demo/robes/items/r1-00001.jsonl``).
Every write is atomic: a local write goes to a temporary file in the same folder and
is renamed into place; an S3 PUT is atomic by nature. Transient S3 errors (throttling,
5xx, dropped connections) are retried with exponential back-off.

>>> store = open_store("/tmp/s2s-doctest")
>>> store.write_json("a/b.json", {"x": 1})
>>> store.read_json("a/b.json")
{'x': 1}
"""

from __future__ import annotations

import functools
import io
import json
import logging
import os
import shutil
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tenacity import (
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from dataset.core.errors import StoreError, StoreUnreachable

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

_TRANSIENT_S3_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "SlowDown",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "InternalError",
        "ServiceUnavailable",
        "500",
        "502",
        "503",
        "504",
    }
)


def _is_transient(exc: BaseException) -> bool:
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(exc, ConnectionError | HTTPClientError):
        return True
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code")) in _TRANSIENT_S3_CODES
    return False


_s3_retry = retry(
    retry=retry_if_exception(_is_transient),
    stop=stop_after_attempt(5),
    wait=wait_exponential_jitter(initial=0.2, max=5.0),
    reraise=True,
)


TEMPORARY_SUFFIX = ".tmp"  # ".<name>.<random>.tmp": an atomic write in progress


@functools.cache
def _umask() -> int:
    """The process umask, read without changing it (os.umask would, for every thread)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    current = os.umask(0o022)
    os.umask(current)
    return current


def new_file_mode() -> int:
    """The mode ``open()`` gives a new file: 0666 less the umask (mkstemp's is 0600)."""
    return 0o666 & ~_umask()


def write_file_atomically(path: Path, data: bytes) -> None:
    """Write ``path`` through a temporary file in its folder, then rename it into place.

    The file gets the mode of any file the process creates (umask-respecting), so a pod
    running under another uid on a shared volume can read what this one wrote.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), new_file_mode())
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check_key(key: str) -> str:
    if not key or key.startswith("/") or ".." in key.split("/"):
        raise StoreError(f"invalid store key: {key!r} (keys are relative paths without '..')")
    return key


class Store(ABC):
    """A place to read and write objects by key. Build one with :func:`open_store`."""

    uri: str

    @abstractmethod
    def read_bytes(self, key: str) -> bytes:
        """The whole object; :class:`StoreError` naming the key when it does not exist."""

    @abstractmethod
    def write_bytes(self, key: str, data: bytes) -> None:
        """Write the whole object atomically (readers see the old or the new, never half)."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys under ``prefix`` (recursive), sorted."""

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def size(self, key: str) -> int: ...

    @abstractmethod
    def check(self) -> None:
        """Fail fast with a one-line :class:`StoreError` if the store is unreachable."""

    @abstractmethod
    def download(self, key: str, dest: Path) -> None:
        """Copy an object to a local file (atomically)."""

    @abstractmethod
    def upload(self, src: Path, key: str) -> None:
        """Copy a local file to an object (atomically)."""

    @abstractmethod
    def uri_for(self, key: str) -> str:
        """A URI other tools understand for ``key``: a local path or ``s3://bucket/key``."""

    def local_path(self, key: str) -> Path | None:
        """The file behind ``key`` when the store is a local folder, else ``None``."""
        return None

    def remove_stale_temporaries(self, prefix: str, older_than_s: float = 0.0) -> int:
        """Delete what killed writers left under ``prefix``; how many. S3 leaves none."""
        return 0

    # Typed helpers on top of bytes, so every format goes through the atomic path.
    def read_text(self, key: str) -> str:
        return self.read_bytes(key).decode("utf-8")

    def write_text(self, key: str, text: str) -> None:
        self.write_bytes(key, text.encode("utf-8"))

    def read_json(self, key: str) -> Any:
        try:
            return json.loads(self.read_bytes(key))
        except json.JSONDecodeError as exc:
            raise StoreError(f"{self.uri_for(key)}: not valid JSON ({exc})") from exc

    def write_json(self, key: str, obj: Any) -> None:
        self.write_text(key, json.dumps(obj, indent=2, default=str) + "\n")

    def read_parquet(self, key: str) -> pd.DataFrame:
        import pandas as pd

        return pd.read_parquet(io.BytesIO(self.read_bytes(key)))

    def write_parquet(self, key: str, frame: pd.DataFrame) -> None:
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        self.write_bytes(key, buffer.getvalue())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.uri!r})"


class LocalStore(Store):
    """A folder on disk; created on first write."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().resolve()
        self.uri = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def local_path(self, key: str) -> Path:
        return self._path(key)

    def read_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise StoreError(f"{self._path(key)}: no such object in store") from None

    def write_bytes(self, key: str, data: bytes) -> None:
        write_file_atomically(self._path(key), data)

    def remove_stale_temporaries(self, prefix: str, older_than_s: float = 0.0) -> int:
        folder = self.root / prefix if prefix else self.root
        if not folder.is_dir():
            return 0
        cutoff = time.time() - older_than_s
        removed = 0
        for path in folder.rglob(f".*{TEMPORARY_SUFFIX}"):
            try:
                if path.is_file() and path.stat().st_mtime <= cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                pass  # its writer finished (renamed it) meanwhile
        return removed

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> Iterator[str]:
        base = self.root / prefix if prefix else self.root
        # A prefix may end mid-name ("runs/r1"): walk its folder and filter.
        folder = base if base.is_dir() else base.parent
        if not folder.is_dir():
            return iter(())
        keys = []
        for path in folder.rglob("*"):
            if path.is_file() and not path.name.startswith("."):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        return iter(sorted(keys))

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise StoreError(f"{self._path(key)}: no such object in store") from None

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"{self.root}: store folder cannot be created ({exc.strerror})"
            ) from None
        if not os.access(self.root, os.W_OK):
            raise StoreError(f"{self.root}: store folder is not writable")

    def download(self, key: str, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.tmp")
        shutil.copyfile(self._path(key), tmp)
        os.replace(tmp, dest)

    def upload(self, src: Path, key: str) -> None:
        self.write_bytes(key, Path(src).read_bytes())

    def uri_for(self, key: str) -> str:
        return str(self._path(key))


class S3Store(Store):
    """An ``s3://bucket/prefix``; endpoint from ``AWS_ENDPOINT_URL`` (MinIO, moto...)."""

    def __init__(self, uri: str) -> None:
        rest = uri[len("s3://") :]
        bucket, _, prefix = rest.partition("/")
        if len(bucket) < 3:
            raise StoreError(f"invalid S3 URI {uri!r}: bucket names have 3 to 63 characters")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.uri = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            # boto3 reads AWS_ENDPOINT_URL itself; credentials come from the standard chain.
            self._client = boto3.client(
                "s3",
                config=Config(retries={"max_attempts": 2, "mode": "standard"}),
            )
        return self._client

    def _key(self, key: str) -> str:
        _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _translate(self, exc: Exception, key: str) -> StoreError | StoreUnreachable:
        from botocore.exceptions import ClientError, NoCredentialsError

        if _is_transient(exc):  # still failing after the retries: an outage, not bad input
            return StoreUnreachable(f"{self.uri_for(key)}: store unreachable ({exc})")
        if isinstance(exc, NoCredentialsError):
            return StoreError(f"{self.uri}: no AWS credentials found (standard AWS chain)")
        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404"):
                return StoreError(f"{self.uri_for(key)}: no such object in store")
            if code == "NoSuchBucket":
                return StoreError(f"{self.uri}: bucket {self.bucket!r} does not exist")
            return StoreError(f"{self.uri_for(key)}: S3 error {code}")
        return StoreError(f"{self.uri_for(key)}: {exc}")

    def _call(self, key: str, fn: Any, **kwargs: Any) -> Any:
        try:
            return _s3_retry(fn)(**kwargs)
        except (StoreError, StoreUnreachable):
            raise
        except Exception as exc:
            raise self._translate(exc, key) from exc

    def read_bytes(self, key: str) -> bytes:
        response = self._call(key, self.client.get_object, Bucket=self.bucket, Key=self._key(key))
        return response["Body"].read()

    def write_bytes(self, key: str, data: bytes) -> None:
        self._call(key, self.client.put_object, Bucket=self.bucket, Key=self._key(key), Body=data)

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            _s3_retry(self.client.head_object)(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise self._translate(exc, key) from exc
        except Exception as exc:
            raise self._translate(exc, key) from exc

    def list(self, prefix: str = "") -> Iterator[str]:
        full = f"{self.prefix}/{prefix}" if self.prefix else prefix
        strip = len(self.prefix) + 1 if self.prefix else 0
        paginator = self.client.get_paginator("list_objects_v2")
        keys: list[str] = []
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                keys.extend(obj["Key"][strip:] for obj in page.get("Contents", []))
        except Exception as exc:
            raise self._translate(exc, prefix or ".") from exc
        return iter(sorted(keys))

    def delete(self, key: str) -> None:
        self._call(key, self.client.delete_object, Bucket=self.bucket, Key=self._key(key))

    def size(self, key: str) -> int:
        response = self._call(key, self.client.head_object, Bucket=self.bucket, Key=self._key(key))
        return int(response["ContentLength"])

    def check(self) -> None:
        from botocore.exceptions import ClientError

        try:
            _s3_retry(self.client.head_bucket)(Bucket=self.bucket)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            if code in ("404", "NoSuchBucket"):
                raise StoreError(f"{self.uri}: bucket {self.bucket!r} does not exist") from None
            if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                raise StoreError(f"{self.uri}: access denied (check AWS credentials)") from None
            raise self._translate(exc, ".") from exc
        except Exception as exc:
            raise self._translate(exc, ".") from exc

    def download(self, key: str, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.tmp")
        self._call(
            key,
            self.client.download_file,
            Bucket=self.bucket,
            Key=self._key(key),
            Filename=str(tmp),
        )
        os.replace(tmp, dest)

    def upload(self, src: Path, key: str) -> None:
        self._call(
            key, self.client.upload_file, Filename=str(src), Bucket=self.bucket, Key=self._key(key)
        )

    def uri_for(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"


def open_store(uri: str | os.PathLike[str]) -> Store:
    """A :class:`Store` for a local path (or ``file://`` URI) or an ``s3://bucket/prefix``."""
    text = str(uri)
    if text.startswith("s3://"):
        return S3Store(text)
    if text.startswith("file://"):
        text = text[len("file://") :]
    if "://" in text:
        raise StoreError(f"unsupported store URI {text!r}: use a local path or s3://bucket/prefix")
    return LocalStore(text)
