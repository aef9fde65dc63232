"""The newsroom's commands: `radio desk` and `radio users add|remove|passwd|list`."""

from __future__ import annotations

import sys

import click

from radio.errors import RadioError


def _password(confirm: bool = True) -> str:
    """From a prompt on a terminal; otherwise the first line of standard input, so scripts can make accounts."""
    if sys.stdin.isatty():
        return click.prompt("password", hide_input=True, confirmation_prompt=confirm)
    line = sys.stdin.readline()
    if not line.strip():
        raise RadioError("no password on standard input", fix="pipe the password in, one line")
    return line.rstrip("\r\n")


@click.group()
def users() -> None:
    """The desk's accounts: who may log in to `radio desk`, and in which role.

    \b
    Example:
      radio users add maria --role editor
      radio users list
    """


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, help="editor, producer, host, translator or correspondent.")
@click.pass_obj
def users_add(c, name: str, role: str) -> None:
    """Add an account; the password comes from a prompt (or standard input). Editors and producers also get a
    TOTP secret for their authenticator app, printed once.

    \b
    Example:
      radio users add maria --role editor
    """
    from radio.web import accounts
    account = accounts.add(c.station, name, role, _password())
    c.say(f"added {account.name} ({account.role})")
    uri = accounts.otp_uri(account)
    if uri:
        click.echo(f"second factor (add it to an authenticator app now; it is not shown again): {account.totp}")
        click.echo(f"  {uri}")


@users.command("remove")
@click.argument("name")
@click.pass_obj
def users_remove(c, name: str) -> None:
    """Remove an account (its sessions end when the desk next sees them).

    \b
    Example:
      radio users remove maria
    """
    from radio.web import accounts
    accounts.remove(c.station, name)
    c.say(f"removed {name}")


@users.command("passwd")
@click.argument("name")
@click.pass_obj
def users_passwd(c, name: str) -> None:
    """Set a new password for an account (from a prompt, or standard input).

    \b
    Example:
      radio users passwd maria
    """
    from radio.web import accounts
    accounts.passwd(c.station, name, _password())
    c.say(f"new password for {name}")


@users.command("list")
@click.pass_obj
def users_list(c) -> None:
    """Every account, its role and whether it has a second factor.

    \b
    Example:
      radio users list
    """
    from radio.text import table
    from radio.web import accounts
    rows = [[a.name, a.role, accounts.factors(a)] for a in accounts.load(c.station).values()]
    click.echo(table(["NAME", "ROLE", "2FA"], rows) if rows else "no accounts yet (radio users add NAME --role ROLE)")


@click.command()
@click.option("--port", default=8400, show_default=True, help="Port to listen on (0: any free port).")
@click.option("--bind", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--host", "names", multiple=True, metavar="NAME",
              help="A host name the desk is reached by (needed, and the only ones accepted, off this machine).")
@click.option("--certfile", type=click.Path(dir_okay=False), help="TLS certificate (PEM): needed off this machine.")
@click.option("--keyfile", type=click.Path(dir_okay=False), help="TLS private key (PEM) for --certfile.")
@click.pass_obj
def desk(c, port: int, bind: str, names: tuple[str, ...], certfile: str | None, keyfile: str | None) -> None:
    """The newsroom in the browser: the desk, translations, the rundown, the studio and the submission form,
    behind accounts and roles (`radio users`). Prints the address to open.

    \b
    Example:
      radio desk --port 8400
    """
    from radio.web.serve import run
    run(c.station, bind=bind, port=port, certfile=certfile, keyfile=keyfile, names=names, say=click.echo)
