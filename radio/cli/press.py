"""radio press, digest and subscribers: the press service, the monthly digest and the readers who sign up."""

from __future__ import annotations

from pathlib import Path

import click

from radio.cli.base import (Ctx, RadioGroup, announce, cli, each_edition, edition_option, leak_checked, pass_ctx,
                            week_arg)


@cli.command()
@week_arg
@click.option("--embargo", metavar="TIME", help='Hold the new items off every public page and feed until TIME '
                                               '("2026-11-20 18:00", the show\'s time zone unless one is given).')
@edition_option
@pass_ctx
@leak_checked
def press(c: Ctx, week: str, embargo: str | None, edition: str | None) -> None:
    """Write WEEK's publishable reports as IPTC ninjs 2.2 items into feeds/<show>/press/ (JSON, a page per item,
    index.json, an Atom feed); corrections are new versions, retractions cancel, a hold withholds.

    \b
    Example:
      radio press 2026-W47
      radio press 2026-W47 --edition fr --embargo "2026-11-20 18:00"
    """
    from radio.press.site import publish as press_publish
    for s in each_edition(c, edition):
        announce(c, s)
        for line in press_publish(s, week, embargo=embargo).lines(c.station.root):
            c.say(line)


@cli.command()
@click.argument("month")
@edition_option
@pass_ctx
@leak_checked
def digest(c: Ctx, month: str, edition: str | None) -> None:
    """Write MONTH's digest (the weeks whose Monday falls in it): HTML, 72-column text and PDF into
    digests/MONTH/EDITION/, and its page in the archive on the edition's site.

    \b
    Example:
      radio digest 2026-11
      radio digest 2026-11 --edition fr
    """
    from radio.mail.digest import check_month, enabled, make
    check_month(month)
    for s in each_edition(c, edition):
        announce(c, s)
        if not enabled(s):
            c.say(f"no digest in {s.language} (digest = false for edition {s.edition_id})")
            continue
        d = make(s, month, required=edition is not None or not s.edition)
        if d is None:
            c.say(f"no verified report in {s.language} in {month}: no {s.edition_id} digest")
            continue
        for line in d.lines:
            c.say(line)
        for p in (d.html, d.text, d.pdf):
            c.say(f"wrote {p.relative_to(c.station.root)}")
        c.say(f"{d.count} reports in the {d.language} digest")


@cli.group(cls=RadioGroup)
def subscribers() -> None:
    """Readers who subscribe themselves (bulletin, digest, press; by edition): list, add, remove, import, bounces.

    \b
    Example:
      radio subscribers list
      radio subscribers add reader@example.org --edition en --list digest
      radio subscribers import readers.csv
      radio subscribers bounces --maildir ~/Maildir/bounces
    """


@subscribers.command("list")
@pass_ctx
def subscribers_list(c: Ctx) -> None:
    """Every address with its state (pending, active, suspended, left), editions, lists and bounces; requests
    never confirmed in time are dropped first.

    \b
    Example:
      radio subscribers list
    """
    from radio.subscriptions import store
    for addr in store.expire(c.station):
        c.say(f"expired: {addr} (never confirmed)")
    rows = sorted(store.load(c.station, "listing the readers").values(), key=lambda e: e.address.lower())
    width = max([len("ADDRESS"), *(len(e.address) for e in rows)])
    click.echo(f"{'ADDRESS':{width}}  {'STATE':9}  {'EDITIONS':9}  {'LISTS':21}  BOUNCES")
    for e in rows:
        click.echo(f"{e.address:{width}}  {e.state:9}  {','.join(e.editions):9}  {','.join(e.lists):21}  {e.bounces}")
    states = [e.state for e in rows]
    click.echo(f"{len(rows)} addresses: " + ", ".join(f"{states.count(s)} {s}" for s in ("active", "pending",
                                                                                       "suspended", "left")))


def _split(values: tuple[str, ...]) -> list[str]:
    return [v for x in values for v in x.replace(",", " ").split()]


@subscribers.command("add")
@click.argument("address")
@click.option("--edition", "editions", multiple=True, required=True, help="An edition id (repeat for more).")
@click.option("--list", "lists", multiple=True, required=True, help="bulletin, digest or press (repeat for more).")
@pass_ctx
def subscribers_add(c: Ctx, address: str, editions: tuple[str, ...], lists: tuple[str, ...]) -> None:
    """Add a reader who asked the desk in person: active at once (no confirmation mail).

    \b
    Example:
      radio subscribers add reader@example.org --edition en --edition fr --list digest
    """
    from radio.subscriptions import store
    e = store.add(c.station, address, _split(editions), _split(lists))
    c.say(f"added {e.address}: {','.join(e.lists)} in {','.join(e.editions)}")


@subscribers.command("remove")
@click.argument("address")
@pass_ctx
def subscribers_remove(c: Ctx, address: str) -> None:
    """Remove an address from the list altogether.

    \b
    Example:
      radio subscribers remove reader@example.org
    """
    from radio.subscriptions import store
    store.remove(c.station, address)
    c.say(f"removed {address}")


@subscribers.command("import")
@click.argument("csv_file", type=click.Path(dir_okay=False))
@pass_ctx
def subscribers_import(c: Ctx, csv_file: str) -> None:
    """Add the readers of a CSV file (columns address,editions,lists; several values separated by spaces), all
    active; the whole file is checked first, and nothing is added if one row is wrong.

    \b
    Example:
      radio subscribers import readers.csv
    """
    from radio.subscriptions.imports import import_csv
    n = import_csv(c.station, Path(csv_file))
    c.say(f"imported {n} addresses")


@subscribers.command("bounces")
@click.option("--maildir", required=True, type=click.Path(file_okay=False), help="The Maildir bounces arrive in.")
@pass_ctx
def subscribers_bounces(c: Ctx, maildir: str) -> None:
    """Count the delivery failures (DSNs) in a Maildir; an address bounced [subscriptions] max_bounces times is
    suspended and sent nothing more.

    \b
    Example:
      radio subscribers bounces --maildir ~/Maildir/bounces
    """
    from radio.subscriptions.bounces import scan
    rows = scan(c.station, maildir)
    for addr, n, state in rows:
        c.say(f"{addr}: {n} bounce(s), {state}")
    c.say(f"{len(rows)} address(es) bounced")


@subscribers.command("serve", hidden=True)
@click.option("--port", default=8400, show_default=True, help="Port to listen on (0: any free port).")
@click.option("--bind", default="127.0.0.1", show_default=True, help="Address to listen on.")
@pass_ctx
def subscribers_serve(c: Ctx, port: int, bind: str) -> None:
    """The subscribe pages are public routes of the desk now: this starts `radio desk`.

    \b
    Example:
      radio desk --port 8400
    """
    from radio.web.serve import run
    click.echo("warning: `radio subscribers serve` is now `radio desk`: the subscribe, confirm and unsubscribe "
               "pages are its public routes", err=True)
    run(c.station, bind=bind, port=port, say=click.echo)
