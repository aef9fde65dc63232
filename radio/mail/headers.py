"""How our messages are written out: SMTP line endings, and List-Unsubscribe kept readable as links.

The email package folds any header word longer than a line into an RFC 2047 encoded-word. A mailto link with
its token is longer than that, so `List-Unsubscribe: <mailto:...>` came out as `=?utf-8?q?=3Cmailto...?=`,
which no mail client reads as a link. Here the header is written as it was given, one link a line (RFC 2369
allows folding between them; a line stays far under the 998 characters RFC 5322 permits).
"""

from __future__ import annotations

from email.policy import EmailPolicy

_RAW = ("list-unsubscribe", "list-unsubscribe-post", "list-id", "list-help", "list-subscribe")


class _Policy(EmailPolicy):
    def fold_binary(self, name, value):  # type: ignore[override]
        if name.lower() in _RAW:
            text = str(value)
            if all(ord(c) < 128 for c in text) and "\n" not in text and "\r" not in text:
                links = [p.strip() for p in text.split(",")] if text.lstrip().startswith("<") else [text.strip()]
                return (f"{name}: " + f",{self.linesep} ".join(links) + self.linesep).encode("ascii")
        return super().fold_binary(name, value)


SMTP = _Policy(linesep="\r\n")


def is_dsn(msg) -> bool:
    """A delivery status notification (RFC 3464): a report that a message could not be delivered."""
    return msg.get_content_type() == "multipart/report" and msg.get_param("report-type") == "delivery-status"
