"""One small interface over the places a publish tree goes: S3-compatible storage, SFTP and a directory.

Every failure a user can cause (bad credentials, an unknown bucket, an unknown or changed host key, a full
disk, a host that does not answer) becomes one RadioError naming the target and the fix. Secrets never appear
in a message: a target is named by its URL, which holds none."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import posixpath
import re
import socket
import stat
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from radio.errors import RadioError
from radio.hosting import secrets
from radio.hosting.settings import Target
from radio.station import Station


@dataclass(frozen=True)
class Remote:
    size: int
    etag: str | None = None  # S3: the MD5 of a single-part upload


class HostingError(RadioError):
    """A target refused or failed: one line naming it and the fix."""

    def __init__(self, target: str, message: str, fix: str):
        super().__init__(message, where=target, fix=fix)


def md5_hex(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class Base:
    label: str
    keeps_etag = False  # whether list() gives an ETag to compare with a local MD5
    sets_headers = False  # whether put() can set Content-Type and Cache-Control

    def list(self) -> dict[str, Remote]:
        raise NotImplementedError

    def put(self, key: str, path: Path, content_type: str, cache_control: str) -> None:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def read(self, key: str) -> bytes:
        raise NotImplementedError

    def rename(self, src: str, dst: str) -> None:
        raise NotImplementedError

    def digest(self, key: str) -> tuple[int, str]:
        """(size, SHA-256) of the file as the target holds it, read back in chunks."""
        h, n = hashlib.sha256(), 0
        for chunk in self._chunks(key):
            h.update(chunk)
            n += len(chunk)
        return n, h.hexdigest()

    def _chunks(self, key: str):
        raise NotImplementedError

    def close(self) -> None:
        pass


class DirTarget(Base):
    """A local or mounted directory: each file written beside its place and renamed in."""

    def __init__(self, path: Path, label: str):
        self.base, self.label = path, label
        if not path.is_dir():
            raise HostingError(label, "the directory does not exist", "create it (or mount it), or correct the target")

    def _p(self, key: str) -> Path:
        return self.base / key

    def list(self) -> dict[str, Remote]:
        out = {}
        for dirpath, dirnames, filenames in os.walk(self.base):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for n in filenames:
                if n.startswith("."):
                    continue
                p = Path(dirpath) / n
                out[p.relative_to(self.base).as_posix()] = Remote(p.stat().st_size)
        return out

    def put(self, key, path, content_type, cache_control):
        dst = self._p(key)
        tmp = dst.parent / f".{dst.name}.part"
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "rb") as src, open(tmp, "wb") as out:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, dst)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise self._error(e) from None

    def _error(self, e: OSError) -> HostingError:
        if e.errno == errno.ENOSPC:
            return HostingError(self.label, "the disk is full", "free space there, then run this again")
        if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return HostingError(self.label, f"cannot write there ({e.strerror})",
                                "give this user write access, or pick another directory")
        return HostingError(self.label, f"cannot write there ({e.strerror})", "check the directory, then run this again")

    def delete(self, key):
        self._p(key).unlink(missing_ok=True)

    def read(self, key):
        return self._p(key).read_bytes()

    def rename(self, src, dst):
        os.replace(self._p(src), self._p(dst))

    def _chunks(self, key):
        with open(self._p(key), "rb") as f:
            while chunk := f.read(1 << 20):
                yield chunk


class S3Target(Base):
    keeps_etag = True
    sets_headers = True

    def __init__(self, bucket: str, prefix: str, label: str, *, endpoint: str | None, region: str | None,
                 path_style: bool, keys: tuple[str, str] | None):
        import boto3
        from botocore.config import Config as BotoConfig
        self.bucket, self.prefix, self.label = bucket, prefix.strip("/"), label
        kwargs = {"region_name": region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
                  or "us-east-1",
                  "config": BotoConfig(s3={"addressing_style": "path" if path_style else "virtual"},
                                       retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10,
                                       read_timeout=60)}
        if endpoint:
            kwargs["endpoint_url"] = endpoint
        if keys:
            kwargs["aws_access_key_id"], kwargs["aws_secret_access_key"] = keys
        self.client = boto3.session.Session().client("s3", **kwargs)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _error(self, e: Exception) -> HostingError:
        from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
        if isinstance(e, NoCredentialsError):
            return HostingError(self.label, "no credentials for the store",
                                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or write them into "
                                "private/hosting.toml under the target's name")
        if isinstance(e, EndpointConnectionError):
            return HostingError(self.label, "the store does not answer",
                                "check the endpoint (AWS_ENDPOINT_URL or the target's endpoint) and the network")
        if isinstance(e, ClientError):
            code = e.response.get("Error", {}).get("Code", "")
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken",
                        "AuthorizationHeaderMalformed", "InvalidClientTokenId"):
                return HostingError(self.label, f"the store refused the credentials ({code})",
                                    "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or private/hosting.toml")
            if code in ("NoSuchBucket",) or (status == 404 and code in ("404", "NotFound")):
                return HostingError(self.label, f"there is no bucket {self.bucket!r} at this store",
                                    "create the bucket, or correct the target's URL and endpoint")
            if code in ("AccessDenied", "AllAccessDisabled") or status == 403:
                return HostingError(self.label, f"the store refused access ({code or status})",
                                    "give these credentials read, write, list and delete on the bucket")
            if code in ("EntityTooLarge", "QuotaExceeded", "XMinioStorageFull", "InsufficientStorage") \
                    or status == 507:
                return HostingError(self.label, f"the store is full ({code or status})",
                                    "free space or raise the quota, then run this again")
            return HostingError(self.label, f"the store answered {code or status}",
                                "check the target's settings, then run this again")
        return HostingError(self.label, f"the store failed ({type(e).__name__})",
                            "check the endpoint and the network, then run this again")

    def _call(self, fn, *args, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError
        try:
            return fn(*args, **kwargs)
        except (BotoCoreError, ClientError) as e:
            raise self._error(e) from None

    def list(self):
        out = {}
        pfx = f"{self.prefix}/" if self.prefix else ""
        pager = self.client.get_paginator("list_objects_v2")

        def pages():
            return list(pager.paginate(Bucket=self.bucket, Prefix=pfx))
        for page in self._call(pages):
            for o in page.get("Contents", []):
                key = o["Key"][len(pfx):]
                if key and not any(part.startswith(".") for part in key.split("/")):
                    out[key] = Remote(int(o["Size"]), o.get("ETag", "").strip('"') or None)
        return out

    def put(self, key, path, content_type, cache_control):
        with open(path, "rb") as f:
            self._call(self.client.put_object, Bucket=self.bucket, Key=self._key(key), Body=f,
                       ContentType=content_type, CacheControl=cache_control)

    def delete(self, key):
        self._call(self.client.delete_object, Bucket=self.bucket, Key=self._key(key))

    def read(self, key):
        return self._call(lambda: self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read())

    def rename(self, src, dst):
        self._call(self.client.copy_object, Bucket=self.bucket, Key=self._key(dst),
                   CopySource={"Bucket": self.bucket, "Key": self._key(src)})
        self.delete(src)

    def _chunks(self, key):
        body = self._call(lambda: self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"])
        yield from body.iter_chunks(1 << 20)

    def allow_cors(self) -> str | None:
        """Let browsers' players fetch media and feeds from any page (what `_headers` asks); None, or why not."""
        from botocore.exceptions import BotoCoreError, ClientError
        try:
            self.client.put_bucket_cors(Bucket=self.bucket, CORSConfiguration={"CORSRules": [{
                "AllowedOrigins": ["*"], "AllowedMethods": ["GET", "HEAD"], "AllowedHeaders": ["Range"],
                "ExposeHeaders": ["Content-Length", "Content-Range", "Accept-Ranges"], "MaxAgeSeconds": 86400}]})
            return None
        except (BotoCoreError, ClientError) as e:
            return str(self._error(e).format_message())


class SftpTarget(Base):
    """SFTP with key authentication; the host key must already be in known_hosts (never trusted on first use)."""

    def __init__(self, host: str, port: int, path: str, label: str, *, user: str, pkey, known_hosts: Path | None):
        import paramiko
        self.label, self.base = label, path.rstrip("/") or "/"
        self.ssh = paramiko.SSHClient()
        try:
            if known_hosts is not None:
                self.ssh.load_host_keys(str(known_hosts))
            else:
                self.ssh.load_system_host_keys()
        except (OSError, paramiko.SSHException):
            raise HostingError(label, f"cannot read known_hosts {known_hosts or '~/.ssh/known_hosts'}",
                               "write the host's key there (ssh-keyscan, checked against its fingerprint)") from None
        self.ssh.set_missing_host_key_policy(paramiko.RejectPolicy())
        kh = str(known_hosts) if known_hosts else "~/.ssh/known_hosts"
        try:
            self.ssh.connect(host, port=port, username=user, pkey=pkey, allow_agent=pkey is None,
                             look_for_keys=pkey is None, timeout=15, banner_timeout=15, auth_timeout=15)
            self.sftp = self.ssh.open_sftp()
        except paramiko.BadHostKeyException:
            self.ssh.close()
            raise HostingError(label, "the host's key does not match known_hosts: this may not be your server",
                               f"ask the host's admin for its key fingerprint; if it really changed, replace "
                               f"its line in {kh}") from None
        except paramiko.AuthenticationException:
            self.ssh.close()
            raise HostingError(label, f"the host refused the key for user {user!r}",
                               "add the public key to the account's authorized_keys, or set the target's "
                               "user and key") from None
        except paramiko.SSHException as e:
            self.ssh.close()
            if "known_hosts" in str(e) or "not found in" in str(e):
                raise HostingError(label, "the host is not in known_hosts",
                                   f"add its key to {kh} (ssh-keyscan -p {port} {host}, checked against the "
                                   "fingerprint its admin gives you)") from None
            raise HostingError(label, f"SSH failed ({e})", "check the host and port, then run this again") from None
        except (OSError, socket.timeout) as e:
            self.ssh.close()
            raise HostingError(label, f"the host does not answer ({getattr(e, 'strerror', None) or e})",
                               "check the host, the port and the network") from None

    def _p(self, key: str) -> str:
        return posixpath.join(self.base, key)

    def _io(self, e: OSError, what: str) -> HostingError:
        if e.errno == errno.ENOSPC or "space" in str(e).lower() or "quota" in str(e).lower():
            return HostingError(self.label, "the host's disk is full", "free space there, then run this again")
        if e.errno in (errno.EACCES, errno.EPERM):
            return HostingError(self.label, f"permission denied on {what}", "give the account write access to "
                                "the folder, or correct the target's path")
        return HostingError(self.label, f"the host failed on {what} ({e.strerror or e}): is its disk full or the "
                            "folder read-only?", "check the host, then run this again")

    def list(self):
        out: dict[str, Remote] = {}

        def walk(d: str, rel: str) -> None:
            try:
                entries = self.sftp.listdir_attr(d)
            except FileNotFoundError:
                return
            for a in entries:
                if a.filename.startswith("."):
                    continue
                r = f"{rel}{a.filename}"
                if stat.S_ISDIR(a.st_mode or 0):
                    walk(posixpath.join(d, a.filename), r + "/")
                elif stat.S_ISREG(a.st_mode or 0):
                    out[r] = Remote(int(a.st_size or 0))
        try:
            self.sftp.stat(self.base)
        except FileNotFoundError:
            raise HostingError(self.label, "the folder does not exist on the host",
                               "create it, or correct the target's path") from None
        except OSError as e:
            raise self._io(e, self.base) from None
        walk(self.base, "")
        return out

    def _mkdirs(self, d: str) -> None:
        parts = [p for p in d.split("/") if p]
        cur = "/" if d.startswith("/") else ""
        for p in parts:
            cur = posixpath.join(cur, p) if cur else p
            try:
                self.sftp.stat(cur)
            except FileNotFoundError:
                self.sftp.mkdir(cur)

    def put(self, key, path, content_type, cache_control):
        dst = self._p(key)
        tmp = posixpath.join(posixpath.dirname(dst), f".{posixpath.basename(dst)}.part")
        try:
            self._mkdirs(posixpath.dirname(dst))
            self.sftp.put(str(path), tmp, confirm=True)
            self.sftp.chmod(tmp, 0o644)
            self.sftp.posix_rename(tmp, dst)
        except OSError as e:
            try:
                self.sftp.remove(tmp)
            except OSError:
                pass
            raise self._io(e, key) from None

    def delete(self, key):
        try:
            self.sftp.remove(self._p(key))
        except FileNotFoundError:
            pass
        except OSError as e:
            raise self._io(e, key) from None

    def read(self, key):
        buf = io.BytesIO()
        try:
            self.sftp.getfo(self._p(key), buf)
        except OSError as e:
            raise self._io(e, key) from None
        return buf.getvalue()

    def rename(self, src, dst):
        try:
            self.sftp.posix_rename(self._p(src), self._p(dst))
        except OSError as e:
            raise self._io(e, dst) from None

    def _chunks(self, key):
        try:
            with self.sftp.open(self._p(key), "rb") as f:
                f.prefetch()
                while chunk := f.read(1 << 20):
                    yield chunk
        except OSError as e:
            raise self._io(e, key) from None

    def close(self):
        self.ssh.close()


def load_key(station: Station, rel: str, what: str):
    """A private key from private/ (Ed25519, ECDSA or RSA; OpenSSH or PEM format)."""
    import paramiko
    text = secrets.read_private(station, rel, what=what).decode("utf-8", "replace")
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError):
            continue
    raise RadioError(f"{what}: {rel} is not an unencrypted SSH private key", where="radio.toml",
                     fix="use an Ed25519, ECDSA or RSA key without a passphrase, kept under private/")


def label_of(url: str) -> str:
    """The target's URL as shown in messages: no user information, nothing secret."""
    u = urllib.parse.urlsplit(url)
    if u.scheme in ("s3", "sftp"):
        host = u.hostname or ""
        if u.port:
            host += f":{u.port}"
        return f"{u.scheme}://{host}{u.path}"
    return url


def resolve(station: Station, spec: str) -> Target:
    """--to NAME (a configured target) or a URL (s3://, sftp://, file:// or an absolute path)."""
    for t in station.full_config.publish.targets:
        if spec == t.name:
            return t
    if re.fullmatch(r"[a-z0-9-]+", spec):
        names = [t.name for t in station.full_config.publish.targets]
        raise RadioError(f"--to {spec}: no such target", where="radio.toml [publish]",
                         fix=f"use one of: {', '.join(names)}" if names else
                         "name a URL (s3://bucket/prefix, sftp://host/path, /a/directory) or add [[publish.targets]]")
    for t in station.full_config.publish.targets:
        if spec == t.url:
            return t
    from radio.hosting.settings import check_target_url
    try:
        check_target_url(spec)
    except ValueError as e:
        raise RadioError(f"--to: {e}", fix="name a configured target or a URL") from None
    name = re.sub(r"[^a-z0-9]+", "-", label_of(spec).lower()).strip("-")[:60] or "target"
    return Target(name=name, url=spec)


def open_target(station: Station, t: Target, *, user: str | None = None, key: str | None = None,
                known_hosts: str | None = None) -> Base:
    url = t.url
    label = label_of(url)
    if url.startswith("/") or url.startswith("file://"):
        path = Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path) if url.startswith("file://") else url)
        return DirTarget(path, label)
    u = urllib.parse.urlsplit(url)
    if u.scheme == "s3":
        if not u.hostname:
            raise RadioError(f"{label}: no bucket in the URL", fix="write s3://BUCKET/PREFIX")
        endpoint = t.endpoint or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        return S3Target(u.netloc.split("@")[-1], u.path, label, endpoint=endpoint, region=t.region,
                        path_style=t.path_style, keys=secrets.s3_keys(station, t.name))
    if u.scheme == "sftp":
        import getpass
        key_rel = key or t.key
        pkey = load_key(station, key_rel, f"{t.name}.key") if key_rel else None
        kh_rel = known_hosts or t.known_hosts
        if kh_rel:
            kh = secrets.private_path(station, kh_rel, what=f"{t.name}.known_hosts")
        else:
            default = station.private_dir / "known_hosts"
            kh = default if default.is_file() else None
        return SftpTarget(u.hostname or "", u.port or 22, urllib.parse.unquote(u.path) or "/", label,
                          user=user or t.user or u.username or getpass.getuser(), pkey=pkey, known_hosts=kh)
    raise RadioError(f"{label}: not a target", fix="write s3://bucket/prefix, sftp://host/path or a directory path")
