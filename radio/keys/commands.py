"""`radio keys`: the station's editors and their keys (thin click layer over radio.keys)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from radio.keys.age import KeysError


def _station():
    root = click.get_current_context().find_root().obj
    return root.station


def _say(text: str = "") -> None:
    if not click.get_current_context().find_root().obj.quiet:
        click.echo(text)


def _done(what: str, sealed) -> None:
    _say(f"{what}: {len(sealed.files)} private files, {len(sealed.journals)} journals, "
         f"{len(sealed.reports)} reports' private blocks")
    if sealed.without_digests:
        click.echo(f"warning: {sealed.without_digests} reports' private blocks have no leak-check digests yet: "
                   "an editor runs `radio --identity FILE keys digests`", err=True)


@click.group()
def keys() -> None:
    """The station's editors and their keys: everything private is encrypted to each of them.

    \b
    Example:
      radio keys new ~/.config/radio/elena.key
      radio keys init elena age1...
      radio keys add marek "ssh-ed25519 AAAA... marek@laptop"
      radio keys list
    """


@keys.command("new")
@click.argument("file", type=click.Path(dir_okay=False))
def keys_new(file: str) -> None:
    """Make a new age identity in FILE (0600; keep it outside the station) and print its public key.

    \b
    Example:
      radio keys new ~/.config/radio/elena.key
    """
    from radio import fsutil
    from radio.keys.age import new_identity
    path = Path(file).expanduser()
    if path.exists():
        raise KeysError("the file exists already", where=path, fix="name a new file; never overwrite an identity")
    secret, public = new_identity()
    fsutil.write_text(path, f"# public key: {public}\n{secret}\n", private=True)
    click.echo(public)


def _readers(station) -> None:
    """The readers' list to its sealed form (addresses sealed, hashes plain for the desk's public routes)."""
    from radio.station import Station
    from radio.subscriptions import store
    n = store.migrate(station if isinstance(station, Station) else Station.open(station))
    if n:
        _say(f"readers' list: {n} addresses sealed apart")


@keys.command("init")
@click.argument("name")
@click.argument("public_key", metavar="PUBLIC-KEY")
@click.option("--demo", is_flag=True, hidden=True, help="Mark a demo station (its identity is published).")
def keys_init(name: str, public_key: str, demo: bool) -> None:
    """Seal the station: NAME is its first editor; everything private is encrypted in place to PUBLIC-KEY.

    \b
    Example:
      radio keys init elena age1...
    """
    from radio.keys import audit, rotate
    s = _station()
    sealed = rotate.init(s, name, public_key, demo=demo, prepare=_readers)
    _done("encrypted", sealed)
    paths, leaky = audit.history(s)
    if paths or leaky:
        _say(f"git history still holds the old plain text ({len(paths)} private/ files, {len(leaky)} versions of "
             "reports): it is NOT clean until you purge it. After a backup, run in the repository:")
        for cmd in audit.purge_commands(paths, leaky):
            _say(f"  {cmd}")
    _say("add a second editor now (`radio keys add NAME PUBLIC-KEY`): with one key, a lost key loses the sources")


@keys.command("add")
@click.argument("name")
@click.argument("public_key", metavar="PUBLIC-KEY")
def keys_add(name: str, public_key: str) -> None:
    """Add an editor and re-encrypt everything to include them (needs your identity).

    \b
    Example:
      radio keys add marek "ssh-ed25519 AAAA... marek@laptop"
    """
    from radio.keys import rotate
    _done(f"{name} added; re-encrypted", rotate.add(_station(), name, public_key))


@keys.command("remove")
@click.argument("name")
def keys_remove(name: str) -> None:
    """Remove an editor and re-encrypt everything to those who remain (needs your identity).

    \b
    Example:
      radio keys remove marek
    """
    from radio.keys import rotate
    sealed = rotate.remove(_station(), name)
    _done(f"{name} removed; re-encrypted", sealed)
    _say(f"{name} cannot read anything written from now on. What cannot be revoked: copies they already had "
         "(clones, backups, files they opened). Change what can be changed (meeting places, numbers).")
    if sealed.new_leak_key:
        _say("the leak-check key is new (they knew the old one): give each build host its new copy with "
             "`radio keys leak-check-key FILE`")


@keys.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt everything to the editors as they are (finishes an interrupted add or remove).

    \b
    Example:
      radio keys rotate
    """
    from radio.keys import rotate
    _done("re-encrypted", rotate.rotate(_station()))


@keys.command("seal")
def keys_seal() -> None:
    """Encrypt whatever private data is in plain text (a private block written by hand, a file put in private/).

    \b
    Example:
      radio keys seal
    """
    from radio.keys import editors, rotate
    s = _station()
    if not editors.sealed(s):
        raise KeysError("the station is not sealed", where=editors.path(s), fix="run `radio keys init NAME PUBLIC-KEY`")
    with rotate._lock(s):
        _done("encrypted", rotate.seal(s, prepare=_readers))


@keys.command("list")
def keys_list() -> None:
    """The editors and their public keys.

    \b
    Example:
      radio keys list
    """
    from radio.keys import editors, rotate
    s = _station()
    eds = editors.load(s)
    if not eds:
        click.echo("the station is not sealed: its private data is in plain text (`radio keys init NAME PUBLIC-KEY`)")
        return
    for e in eds:
        kind = "ssh-ed25519" if e.recipient.startswith("ssh-") else "age"
        click.echo(f"{e.name:<16} {kind:<12} {e.recipient}")
    if len(eds) == 1:
        click.echo("warning: one editor: if the key is lost, the sources are lost", err=True)
    if rotate.unfinished(s):
        click.echo("warning: a change of editors was interrupted: run `radio keys rotate`", err=True)


@keys.command("passphrase")
@click.argument("name")
def keys_passphrase(name: str) -> None:
    """Keep NAME's identity in the station under a passphrase, so they can unlock the desk in the browser.

    The identity comes from --identity / RADIO_IDENTITY; the passphrase from RADIO_PASSPHRASE or a prompt.

    \b
    Example:
      radio --identity ~/.config/radio/elena.key keys passphrase elena
    """
    from radio.keys import editors, keyring
    s = _station()
    if not any(e.name == name for e in editors.load(s)):
        raise KeysError(f"{name!r} is not an editor", where=editors.path(s), fix="see `radio keys list`")
    source = keyring._pending.get() or os.environ.get("RADIO_IDENTITY")
    if not source:
        raise KeysError("no identity to keep", fix="pass --identity FILE or set RADIO_IDENTITY")
    phrase = os.environ.get("RADIO_PASSPHRASE") or click.prompt("new passphrase", hide_input=True,
                                                                confirmation_prompt=True, err=True)
    out = keyring.keep_identity(s, name, source, phrase)
    _say(f"kept {name}'s identity under their passphrase in {out.relative_to(s.root)}")


@keys.command("leak-check-key")
@click.argument("file", type=click.Path(dir_okay=False))
def keys_leak_check_key(file: str) -> None:
    """Write the station's leak-check key for a build host, outside the station (needs your identity).

    A host with it (RADIO_LEAK_CHECK_KEY=FILE) checks every output against the keyed digests of the withheld
    details without any editor's key.

    \b
    Example:
      radio --identity ~/elena.key keys leak-check-key /etc/radio/leak-check.key
    """
    from radio.keys import digests
    _say(f"wrote {digests.export_key(_station(), Path(file))} (keep it like a key: 0600, off the station)")


@keys.command("digests")
def keys_digests() -> None:
    """Bring the leak-check digests up to date (needs your identity), so a build host with only the leak-check
    key checks every output against what the desk knows about the sources.

    The desk writes them whenever an editor seals a report; this is for what changed without one (a register
    sealed with `radio keys seal`, a report written elsewhere).

    \b
    Example:
      radio --identity ~/elena.key keys digests
    """
    from radio.keys import digests, editors, keyring, rotate
    s = _station()
    if not editors.sealed(s):
        raise KeysError("the station is not sealed", where=editors.path(s), fix="run `radio keys init NAME PUBLIC-KEY`")
    keyring.current("writing the leak-check digests")
    with rotate._lock(s):
        left = rotate.digest_all(s)
    data = digests.load(s) or {"blocks": {}}
    if left:
        raise KeysError(f"{left} reports' private blocks could not be opened for their digests",
                        where=digests.digests_path(s), fix="run it with an identity of one of the editors who sealed "
                                                           "them (radio keys list)")
    _say(f"leak-check digests: {len(data['blocks'])} reports' private blocks")


@keys.command("purge-list")
def keys_purge_list() -> None:
    """Print, for `git filter-repo --replace-text`, every private value git history holds in plain text.

    The rules empty every plain private block; they hold no private value.

    \b
    Example:
      git filter-repo --force --replace-text <(radio keys purge-list)
    """
    from radio.keys import audit
    for line in audit.purge_list(_station()):
        click.echo(line)


@click.command("attachment")
@click.argument("report_id", metavar="REPORT-ID")
@click.argument("name", required=False)
@click.option("--to", "to", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Folder to write the stripped file into.")
def report_attachment(report_id: str, name: str | None, to: str) -> None:
    """Export a file a correspondent sent, stripped of its metadata (mat2); without NAME, list them.

    The file is decrypted only in memory; what is written has no EXIF GPS, camera serials or document authors,
    and the command names the fields it removed (never their values).

    \b
    Example:
      radio report attachment dockers-at-port-alder photo.jpg --to ~/bulletin-pictures
    """
    from radio.keys import export
    from radio.reports.files import find_report
    s = _station()
    rf = find_report(s, report_id)
    folder = f"intake/{report_id}"
    if rf.report.private.sealed is False and isinstance((rf.report.private.model_extra or {}).get("intake"), dict):
        folder = str(rf.report.private.model_extra["intake"].get("folder") or folder).removeprefix("private/")
    if not name:
        for n in export.attachment_names(s, folder):
            click.echo(n)
        return
    out = export.export(s, folder, name, Path(to))
    click.echo(f"wrote {out.path} without its metadata; removed: {', '.join(out.removed) or 'nothing found'}")
