"""radio serve and studio: the two servers, the feed preview and the recording studio."""

from __future__ import annotations

import click

from radio.cli.base import Ctx, cli, pass_ctx
from radio.station import Week


@cli.command()
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option("--bind", default="127.0.0.1", show_default=True, help="Address to listen on.")
@pass_ctx
def serve(c: Ctx, port: int, bind: str) -> None:
    """Preview feeds/: byte ranges, CORS; on a loopback address, URLs name this server. Ctrl-C stops it.

    \b
    Example:
      radio serve --port 8000
    """
    from radio.publish.serve import server
    root = c.station.feeds_dir
    root.mkdir(exist_ok=True)
    httpd = server(root, bind, port, quiet=not c.verbose, published=c.station.config.podcast.base_url)
    host = f"[{bind}]" if ":" in bind else bind
    c.say(f"serving {root} on http://{host}:{httpd.server_address[1]}/ (Ctrl-C to stop; addresses in feeds and "
          + ("pages name this address)" if httpd.served_base else f"pages stay {c.station.config.podcast.base_url})"))
    for s in c.station.editions():
        c.say(f"feed: http://{host}:{httpd.server_address[1]}/{s.config.show.slug}/feed.xml"
              + (f" ({s.language})" if s.full_config.editions else ""))
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


@cli.command()
@click.argument("week", required=False, callback=lambda ctx, param, v: Week(v) if v else None)
@click.option("--port", default=8300, show_default=True, help="Port to listen on (0: any free port).")
@click.option("--bind", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--host", "names", multiple=True, metavar="NAME",
              help="A host name the studio is reached by (needed, and the only ones accepted, off this machine).")
@click.option("--certfile", type=click.Path(dir_okay=False), help="TLS certificate (PEM): needed off this machine.")
@click.option("--keyfile", type=click.Path(dir_okay=False), help="TLS private key (PEM) for --certfile.")
@click.option("--edition", metavar="ID", help="The edition to record (e.g. fr); default: the station's own.")
@pass_ctx
def studio(c: Ctx, week: str | None, port: int, bind: str, names: tuple[str, ...], certfile: str | None,
           keyfile: str | None, edition: str | None) -> None:
    """The studio in the browser: prompter, recorder, takes and live timing for WEEK (default: the newest
    week with a rundown). It is the desk (`radio desk`) opened at its studio: the same app, accounts and
    protections; hosts and producers log in with their desk accounts. Prints the address to open.

    \b
    Example:
      radio studio 2026-W47
    """
    from radio.web.serve import run
    station = c.station.for_edition(edition)[0] if edition else c.station
    run(c.station, bind=bind, port=port, certfile=certfile, keyfile=keyfile, names=names, say=click.echo,
        week=week, studio=station)
