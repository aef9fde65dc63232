"""Real stores on the loopback for the hosting tests: SeaweedFS (S3) and OpenSSH's sshd (SFTP).

Every service gets an explicit free port (other worktrees run these at the same time) and binds 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ACCESS_KEY, SECRET_KEY = "RADIOTESTKEY", "radio-test-secret-not-real"


def free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def wait_for(cond, what: str, bound: float = 60.0, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {proc.returncode}")
        time.sleep(0.1)
    raise RuntimeError(f"{what}: not ready within {bound} s")


def weed_binary() -> str:
    return str(Path(sys.executable).parent / "weed")


class Seaweed:
    def __init__(self, proc: subprocess.Popen, port: int, bucket: str):
        self.proc, self.port, self.bucket = proc, port, bucket
        self.endpoint = f"http://127.0.0.1:{port}"

    def env(self, key: str = ACCESS_KEY, secret: str = SECRET_KEY) -> dict:
        return {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret, "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_REGION": "us-east-1"}

    def get(self, key: str, headers: dict | None = None):
        req = urllib.request.Request(f"{self.endpoint}/{self.bucket}/{key}", headers=headers or {})
        return urllib.request.urlopen(req, timeout=30)


@contextmanager
def seaweed(tmp: Path, bucket: str = "radio"):
    """`weed mini` with one identity (ACCESS_KEY) and anonymous read, as a public bucket behind a CDN is."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "s3.json").write_text(json.dumps({"identities": [
        {"name": "radio", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
         "actions": ["Admin", "Read", "Write", "List", "Tagging"]},
        {"name": "anonymous", "actions": ["Read"]}]}))
    (tmp / "data").mkdir(exist_ok=True)
    p = free_ports(11)
    args = [weed_binary(), "mini", f"-dir={tmp / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-bucket={bucket}", f"-s3.config={tmp / 's3.json'}", "-s3.autoCreateBucket=false",
            f"-master.port={p[0]}", f"-master.port.grpc={p[1]}", f"-filer.port={p[2]}", f"-filer.port.grpc={p[3]}",
            f"-volume.port={p[4]}", f"-volume.port.grpc={p[5]}", f"-s3.port={p[6]}", f"-s3.port.grpc={p[7]}",
            f"-admin.port={p[8]}", f"-admin.port.grpc={p[9]}", f"-debug.port={p[10]}", "-webdav=false",
            "-s3.port.iceberg=0", "-s3.port.lance=0"]
    log = open(tmp / "weed.log", "wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=tmp, start_new_session=True)
    store = Seaweed(proc, p[6], bucket)
    try:
        def ready():
            try:
                urllib.request.urlopen(store.endpoint + "/", timeout=2)
            except urllib.error.HTTPError:
                pass
            except OSError:
                return False
            # the bucket must take a write before it is ready
            import boto3
            c = boto3.client("s3", endpoint_url=store.endpoint, aws_access_key_id=ACCESS_KEY,
                             aws_secret_access_key=SECRET_KEY, region_name="us-east-1")
            try:
                c.put_object(Bucket=bucket, Key=".ready", Body=b"1")
                return True
            except Exception:  # noqa: BLE001 (not up yet)
                return False
        wait_for(ready, "SeaweedFS", 90, proc)
        yield store
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        log.close()
        shutil.rmtree(tmp / "data", ignore_errors=True)


class Sshd:
    def __init__(self, proc, port: int, host_pub: str, client_key: Path):
        self.proc, self.port, self.host_pub, self.client_key = proc, port, host_pub, client_key

    def known_hosts_line(self) -> str:
        kind, key = self.host_pub.split()[:2]
        return f"[127.0.0.1]:{self.port} {kind} {key}\n"


def keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "radio-test", "-f", str(path)],
                   check=True, stdin=subprocess.DEVNULL)
    return path


@contextmanager
def sshd(tmp: Path):
    """OpenSSH's sshd on a free loopback port, a throwaway host key, one client key allowed, SFTP only."""
    tmp.mkdir(parents=True, exist_ok=True)
    host = keygen(tmp / "host_ed25519")
    client = keygen(tmp / "client_ed25519")
    (tmp / "authorized_keys").write_text((tmp / "client_ed25519.pub").read_text())
    (port,) = free_ports(1)
    cfg = tmp / "sshd_config"
    cfg.write_text(f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nPidFile {tmp / 'sshd.pid'}\n"
                   f"AuthorizedKeysFile {tmp / 'authorized_keys'}\nStrictModes no\nPasswordAuthentication no\n"
                   "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin prohibit-password\n"
                   "UsePAM no\nSubsystem sftp internal-sftp\nLogLevel ERROR\n")
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(cfg)], stdout=subprocess.DEVNULL,
                            stderr=open(tmp / "sshd.log", "wb"), start_new_session=True)
    try:
        def ready():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    return s.recv(4).startswith(b"SSH-")
            except OSError:
                return False
        wait_for(ready, "sshd", 30, proc)
        yield Sshd(proc, port, (tmp / "host_ed25519.pub").read_text(), client)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
