"""Who sent a message: one plain From address, looked up in the correspondents' register, and whether the sender
is verified: a DKIM signature of the sender's own domain that dkimpy checks, or our own receiving server's word in
its Authentication-Results (authres). What a message says about itself is recorded, and believed by nobody."""

from __future__ import annotations

import email.errors
import re
from email.message import EmailMessage

from radio.station import Station, correspondents


class Quarantined(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = " ".join(reason.split())


def register_by_address(station: Station) -> dict[str, tuple[str, dict]]:
    """Each correspondent's addresses, lower-cased, to (codename, record)."""
    out: dict[str, tuple[str, dict]] = {}
    for pseudonym, rec in correspondents(station).items():
        if not isinstance(rec, dict):
            continue
        addrs = rec.get("email") or []
        for a in [addrs] if isinstance(addrs, str) else addrs:
            if isinstance(a, str) and a.strip():
                out[a.strip().lower()] = (str(pseudonym), rec)
    return out


def _auth_results(msg: EmailMessage, authserv: str | None) -> tuple[dict | None, list[dict]]:
    """(what our own receiving server said, every Authentication-Results header as recorded).

    Only the topmost header counts, and only when its authserv-id is ours: our server adds its header on top
    of what the message brought (RFC 8601), so one of ours further down was written by the sender."""
    import authres
    out = []
    ours = None
    for n, value in enumerate(msg.get_all("Authentication-Results") or []):
        text = " ".join(str(value).split())
        try:
            parsed = authres.AuthenticationResultsHeader.parse_value(text)
            server = str(parsed.authserv_id or "")
            results = {str(r.method).lower(): str(r.result).lower() for r in reversed(parsed.results)}
            props = {f"{r.method}.{p.type}.{p.name}".lower(): str(p.value).lower()
                     for r in parsed.results for p in r.properties}
        except Exception:  # noqa: BLE001 (authres raises its own syntax errors and more: unreadable is untrusted)
            server, results, props = (text.split(";", 1)[0].split() or [""])[0], {}, {}
        claims_ours = bool(authserv) and server.lower() == (authserv or "").lower()
        entry: dict = {"server": server, "trusted": claims_ours and n == 0}
        if claims_ours and n > 0:
            entry["forged"] = "claims our server's name below the top: not added by our server"
        entry.update({m: results[m] for m in ("dkim", "spf", "dmarc") if m in results})
        out.append(entry)
        if entry["trusted"]:
            ours = {**results, **props}
    return ours, out


def dkim_result(raw: bytes, dnsfunc=None) -> str:
    """dkimpy's verdict on the message's own DKIM-Signature: pass, fail or error (no key, no DNS)."""
    return _dkim(raw, dnsfunc)[0]


def _dkim(raw: bytes, dnsfunc=None) -> tuple[str, str | None]:
    """(pass | fail | error (...), the signing domain)."""
    import dkim
    try:
        d = dkim.DKIM(raw)
        ok = d.verify(dnsfunc=dnsfunc) if dnsfunc else d.verify()
        domain = d.domain.decode("ascii", "replace").lower() if isinstance(d.domain, bytes) else d.domain
    except dkim.ValidationError:  # the body or a signed header changed after signing
        return "fail", None
    except Exception as e:  # noqa: BLE001 (dkimpy raises many kinds; any of them means "not verified")
        return f"error ({type(e).__name__})", None
    return ("pass" if ok else "fail"), domain


def _aligned(domain: str | None, sender_domain: str) -> bool:
    return bool(domain) and (sender_domain == domain or sender_domain.endswith("." + str(domain)))


def sender_verdict(msg: EmailMessage, raw: bytes | None, address: str, authserv: str | None,
                   dnsfunc=None) -> tuple[str | None, dict]:
    """(why the sender is not verified, or None; what was found, for the private block).

    Verified means a DKIM signature of the sender's own domain that dkimpy checks against the published key,
    or our own receiving server's word (its topmost Authentication-Results) that DMARC, or an aligned DKIM or
    SPF, passed. Anything else a message says about itself is recorded and believed by nobody."""
    sender_domain = address.rsplit("@", 1)[1]
    ours, recorded = _auth_results(msg, authserv)
    auth: dict[str, object] = {"results": recorded,
                               "note": "recorded for the desk; never counts as a verification check"}
    why: list[str] = []
    verified = False
    if msg.get("DKIM-Signature"):
        if raw is None:
            verdict, domain = "not checked (message too large)", None
        else:
            verdict, domain = _dkim(raw, dnsfunc)
        if verdict == "pass" and not _aligned(domain, sender_domain):
            verdict = f"pass for another domain ({domain})"
        auth["dkim_verify"] = verdict
        verified = verdict == "pass"
        if not verified:
            why.append(f"dkim {verdict}")
    else:
        why.append("no dkim signature")
    if ours is not None:
        if ours.get("dmarc") == "fail":
            verified = False
            why.insert(0, "dmarc fail")
        elif ours.get("dmarc") == "pass" \
                or (ours.get("dkim") == "pass" and _aligned(ours.get("dkim.header.d"), sender_domain)) \
                or (ours.get("spf") == "pass" and _aligned((ours.get("spf.smtp.mailfrom") or "").rsplit("@", 1)[-1],
                                                           sender_domain)):
            verified = verified or True
        else:
            why += [f"{m} {ours[m]}" for m in ("dkim", "spf", "dmarc") if m in ours and ours[m] != "pass"] \
                or ["our server did not pass it"]
    elif authserv:
        why.append("no result from our server")
    if any(e.get("forged") for e in recorded):
        verified = False
        why.insert(0, "forged Authentication-Results")
    return (None if verified else ", ".join(why)), auth


def sender_of(msg: EmailMessage) -> tuple[str, str]:
    """(address, display name) of a From that parses strictly to exactly one address; else Quarantined.

    The lenient reading of `a@b.example <c@d.example>` or `<a@b.example>@d.example` is one of the two addresses
    (which one depends on the parser): a message whose From is not plainly one address is nobody's."""
    froms = msg.get_all("From") or []
    if len(froms) != 1:
        raise Quarantined("no From header" if not froms else f"{len(froms)} From headers")
    try:
        sender = msg["From"]
        addresses = list(sender.addresses)
        defects = [d for d in sender.defects if not isinstance(d, email.errors.NonASCIILocalPartDefect)]
    except (email.errors.HeaderParseError, AttributeError, IndexError, ValueError, TypeError):
        raise Quarantined("unreadable From header") from None
    if defects:
        raise Quarantined(f"ambiguous From header ({str(defects[0]).rstrip('.')})")
    if len(addresses) != 1 or not addresses[0].addr_spec or "@" not in addresses[0].addr_spec:
        raise Quarantined("no single sender address")
    address = addresses[0].addr_spec.strip().lower()
    name = " ".join(addresses[0].display_name.split())
    local, _, domain = address.rpartition("@")
    if not local or not re.fullmatch(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+",
                                     domain):
        raise Quarantined("the From address has no plain domain")
    if "@" in name or re.search(r"[<>]", name):
        raise Quarantined("the From name holds an address: the sender is not plain")
    return address, name
