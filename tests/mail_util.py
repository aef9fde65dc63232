"""Mail fixtures: a week of correspondents' messages (all fictional), a throwaway CA, and real local servers.

The servers are real: Dovecot (Debian's dovecot-imapd) for IMAP over TLS, aiosmtpd for SMTP with STARTTLS and
AUTH. Each is started on 127.0.0.1 on a free port with a configuration written into the test's own folder.
"""

from __future__ import annotations

import mailbox
import os
import shutil
import socket
import ssl
import subprocess
import time
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
import datetime as dt

FROM_HERON = "Marta Invented <marta.invented@example.org>"
FROM_QUARRY = "Pavel Madeup <pavel.madeup@example.org>"
FROM_LANTERN = "Sofia Imaginary <sofia.imaginary@example.org>"
FROM_BIRCH = "Oleg Notreal <oleg.notreal@example.org>"
FROM_LEDGER = "Ilya Fictional <ilya.fictional@example.org>"
STRANGER = "A Stranger <stranger@example.net>"
BIG_LIMIT_MB = 0.2  # the test station's [mail] max_attachment_mb


def _date(day: int, hour: int = 9) -> str:
    return format_datetime(dt.datetime(2026, 11, day, hour, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))))


def _msg(sender: str, subject: str, mid: str, day: int, hour: int = 9) -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "Desk <desk@radio.example.org>"
    m["Subject"] = subject
    m["Date"] = _date(day, hour)
    m["Message-ID"] = mid
    m["Received"] = "from laptop.home.example.net (198.51.100.23) by mx.example.org; Mon, 16 Nov 2026 08:59:00 +0000"
    m["User-Agent"] = "Fictional Mail 1.0"
    return m


def messages() -> list[tuple[str, bytes]]:
    """(what, raw bytes): three good reports, one duplicate and six kinds of bad input."""
    out: list[tuple[str, bytes]] = []

    m = _msg(FROM_HERON, "Dockers at Port Alder stop work over unpaid night shifts", "<plain-1@mail.example.org>", 16)
    m["Authentication-Results"] = "mx.radio.example.org; dkim=pass header.d=example.org; spf=pass " \
                                  "smtp.mailfrom=example.org"
    m.set_content("Dockers at the grain terminal in Port Alder stopped work on Monday night.\n\n"
                  "They say the night shifts of October have not been paid. Write to me at "
                  "marta.invented@example.org if you need more.\n\n-- \nMarta Invented\n+00 555 0142\n")
    out.append(("plain", m.as_bytes()))

    m = _msg(FROM_QUARRY, "Quarry drivers elect a strike committee", "<html-1@mail.example.org>", 17)
    m.set_content("<html><body><p>Drivers at the <b>North Basin</b> quarry met on Tuesday.</p>"
                  "<p>They elected a strike committee of five.</p></body></html>", subtype="html")
    out.append(("html", m.as_bytes()))

    m = _msg(FROM_LANTERN, "Smelter canteen workers win a raise", "<attach-1@mail.example.org>", 18)
    m.set_content("Canteen workers at the smelter won a raise of ten per cent after a week of meetings.\n"
                  "The letter from management is attached.\n")
    m.add_attachment(b"%PDF-1.4 fictional letter\n", maintype="application", subtype="pdf",
                     filename="../../letter from management.pdf")
    m.add_attachment(b"\xff\xd8\xff\xe0 fictional photo", maintype="image", subtype="jpeg", filename="canteen.jpg")
    m.set_boundary("=_attach-1")  # the same bytes every time: a message delivered twice is one message
    out.append(("attachment", m.as_bytes()))

    # the same message delivered twice (a second server on the way adds its own trace header)
    out.append(("duplicate", b"Received: from mx2.radio.example.org by desk.radio.example.org; "
                             b"Mon, 16 Nov 2026 09:05:00 +0000\r\n" + out[0][1]))

    raw = (f"From: {FROM_BIRCH}\r\nTo: desk@radio.example.org\r\nSubject: Hospital porters\r\n"
           f"Date: {_date(18, 11)}\r\nMessage-ID: <charset-1@mail.example.org>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=x-klingon-7\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
           "Porters at the hospital \xe9\xe8 stopped.\r\n").encode("latin-1")
    out.append(("bad charset", raw))

    m = _msg(STRANGER, "I have news about the port", "<stranger-1@mail.example.net>", 18, 12)
    m.set_content("Someone you do not know writes to the desk.\n")
    out.append(("unknown sender", m.as_bytes()))

    m = _msg(FROM_HERON, "Open this page", "<script-1@mail.example.org>", 19)
    m.set_content("<html><body><p>Read this</p><script>alert(1)</script></body></html>", subtype="html")
    out.append(("script", m.as_bytes()))

    m = _msg(FROM_LEDGER, "Photos from the gate", "<notext-1@mail.example.org>", 19, 10)
    m.set_content("")
    m.add_attachment(b"\x89PNG fictional", maintype="image", subtype="png", filename="gate.png")
    m.set_boundary("=_notext-1")
    out.append(("no text", m.as_bytes()))

    raw = (f"From: {FROM_QUARRY}\r\nTo: desk@radio.example.org\r\nSubject: Broken\r\n"
           f"Date: {_date(19, 11)}\r\nMessage-ID: <mime-1@mail.example.org>\r\nMIME-Version: 1.0\r\n"
           'Content-Type: multipart/mixed; boundary="XYZ"\r\n\r\n'
           "no boundary line ever comes\r\n").encode()
    out.append(("malformed MIME", raw))

    m = _msg(FROM_LANTERN, "Video of the meeting", "<huge-1@mail.example.org>", 19, 12)
    m.set_content("The whole meeting, filmed.\n")
    m.add_attachment(os.urandom(int(BIG_LIMIT_MB * 1_000_000) + 50_000), maintype="video", subtype="mp4",
                     filename="meeting.mp4")
    out.append(("huge attachment", m.as_bytes()))
    return out


EXPECTED_TAKEN = {"dockers-at-port-alder-stop-work-over-unpaid-nigh", "quarry-drivers-elect-a-strike-committee",
                  "smelter-canteen-workers-win-a-raise"}
EXPECTED_QUARANTINE = {"<charset-1@mail.example.org>": "unknown charset 'x-klingon-7'",
                       "<stranger-1@mail.example.net>": "unknown sender (not in private/correspondents.yaml)",
                       "<script-1@mail.example.org>": "HTML with scripts (<script>)",
                       "<notext-1@mail.example.org>": "no text",
                       "<mime-1@mail.example.org>": "malformed MIME (StartBoundaryNotFoundDefect)",
                       "<huge-1@mail.example.org>": "attachment of 0.25 MB is over the 0.2 MB limit"}
SENDER_VALUES = ["marta.invented@example.org", "Marta Invented", "pavel.madeup@example.org", "Pavel Madeup",
                 "sofia.imaginary@example.org", "Sofia Imaginary", "198.51.100.23", "laptop.home.example.net",
                 "+00 555 0142"]


def write_maildir(path: Path, items: list[tuple[str, bytes]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    box = mailbox.Maildir(str(path), create=True)
    for _, raw in items:
        box.add(raw)
    box.close()
    return path


def write_mbox(path: Path, items: list[tuple[str, bytes]]) -> Path:
    box = mailbox.mbox(str(path), create=True)
    for _, raw in reversed(items):  # another order than the Maildir's: the result must not depend on it
        box.add(raw)
    box.close()
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_ca(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost; SSL_CERT_FILE=cert makes clients trust it."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


def wait_port(port: int, proc: subprocess.Popen | None = None, seconds: float = 20) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


class Dovecot:
    """A real Dovecot serving IMAP over TLS on 127.0.0.1, one user from a passwd-file, Maildir storage."""

    def __init__(self, folder: Path, cert: Path, key: Path, user: str = "desk", password: str = "fictional-pw"):
        self.folder, self.user, self.password = folder, user, password
        self.port = free_port()  # IMAPS (TLS from the first byte)
        self.starttls_port = free_port()  # IMAP with STARTTLS required before login
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o755)
        import pwd
        import tempfile
        me = pwd.getpwuid(os.getuid()).pw_name
        # Dovecot never delivers mail as root: as root, the mailbox belongs to 'nobody' in a folder it can reach
        self.mail_root = Path(tempfile.mkdtemp(prefix="radio-dovecot-"))
        os.chmod(self.mail_root, 0o755)
        home = self.mail_root / user
        home.mkdir()
        uid, gid = os.getuid(), os.getgid()
        if uid == 0:
            nobody = pwd.getpwnam("nobody")
            uid, gid = nobody.pw_uid, nobody.pw_gid
            os.chown(home, uid, gid)
        (folder / "passwd").write_text(f"{user}:{{PLAIN}}{password}:{uid}:{gid}::{home}::\n")
        conf = folder / "dovecot.conf"
        conf.write_text(f"""
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = yes
auth_mechanisms = plain
first_valid_uid = 0
default_login_user = {'dovenull' if os.getuid() == 0 else me}
default_internal_user = {me}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {folder}/passwd
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    port = {self.starttls_port}
  }}
  inet_listener imaps {{
    port = {self.port}
    ssl = yes
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
""")
        self.proc = subprocess.Popen([shutil.which("dovecot") or "/usr/sbin/dovecot", "-F", "-c", str(conf)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            wait_port(self.port, self.proc)
            wait_port(self.starttls_port, self.proc)
        except RuntimeError:
            self.stop()
            log = (folder / "dovecot.log")
            raise RuntimeError(f"dovecot did not start: {self.proc.stdout.read().decode()[-2000:]} "
                               f"{log.read_text()[-2000:] if log.exists() else ''}")

    def url(self, folder: str = "INBOX") -> str:
        return f"imaps://127.0.0.1:{self.port}/{folder}"

    def connect(self, cafile: Path):
        import imaplib
        conn = imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=ssl.create_default_context(cafile=str(cafile)))
        conn.login(self.user, self.password)
        return conn

    def fill(self, cafile: Path, items: list[tuple[str, bytes]], folder: str = "INBOX") -> None:
        conn = self.connect(cafile)
        for _, raw in items:
            typ, _ = conn.append(folder, "", None, raw)
            assert typ == "OK"
        conn.logout()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.mail_root, ignore_errors=True)


def walkthrough(readme: Path, name: str) -> list[tuple[list[str], str]]:
    """The README's `<!-- walkthrough: NAME -->` block as (argv after `radio`, expected output) pairs."""
    import shlex
    text = readme.read_text(encoding="utf-8").split(f"<!-- walkthrough: {name} -->\n```\n", 1)[1].split("\n```", 1)[0]
    steps: list[tuple[list[str], str]] = []
    for line in text.splitlines():
        if line.startswith("$ radio "):
            steps.append((shlex.split(line[len("$ radio "):]), ""))
        else:
            argv, out = steps[-1]
            steps[-1] = (argv, out + line + "\n")
    return steps


def dkim_key_pair(folder: Path) -> tuple[bytes, bytes]:
    """An RSA key for DKIM, and the TXT record that would publish its public half."""
    import base64
    key = folder / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"], check=True,
                         capture_output=True).stdout
    return key.read_bytes(), b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)
