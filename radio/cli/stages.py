"""radio plan, script, status, assemble, build and publish: the week's stages."""

from __future__ import annotations

import click

from radio.station import Week
from radio.cli.base import (Ctx, ProgressView, announce, audio_options, cli, each_edition, edition_option,
                            leak_checked, pass_ctx, renamed, say_dropped, week_arg)


@cli.command()
@week_arg
@click.option("--force", is_flag=True, help="Merge new reports into a hand-edited rundown, keeping the edits.")
@edition_option
@pass_ctx
@leak_checked
def plan(c: Ctx, week: str, force: bool, edition: str | None) -> None:
    """Build WEEK's rundown.yaml from the show format and the verified reports.

    \b
    Example:
      radio plan 2026-W47
      radio plan 2026-W47 --edition fr
    """
    from radio.rundown.plan import plan as make_plan
    for s in each_edition(c, edition):
        announce(c, s)
        path, changes = make_plan(s, week, force=force)
        for line in changes:
            c.say(line)
        c.say(f"wrote {path.relative_to(c.station.root)}")
    from radio.threads import follow_ups
    for line in follow_ups(c.station, week):
        c.say(line)


@cli.command()
@week_arg
@edition_option
@pass_ctx
@leak_checked
def script(c: Ctx, week: str, edition: str | None) -> None:
    """Write the script and run sheet for WEEK (HTML, Markdown, CSV) into episodes/WEEK/out/.

    \b
    Example:
      radio script 2026-W47
      radio script 2026-W47 --edition ru
    """
    from radio.build import run_stage
    for s in each_edition(c, edition):
        announce(c, s)
        say_dropped(c, s, week)
        for path in [*run_stage(s, week, "script"), *run_stage(s, week, "runsheet")]:
            c.say(f"wrote {path.relative_to(c.station.root)}")


@cli.command()
@week_arg
@edition_option
@pass_ctx
def status(c: Ctx, week: str, edition: str | None) -> None:
    """Each item's state and times, the show against its slot, and what to do next.

    \b
    Example:
      radio status 2026-W47
    """
    from radio.build import status_text
    for s in each_edition(c, edition):
        announce(c, s)
        say_dropped(c, s, week)
        click.echo(status_text(s, week))



@cli.command()
@week_arg
@audio_options("Fill missing recordings with espeak-ng read-throughs of the script.")
@edition_option
@pass_ctx
@leak_checked
def assemble(c: Ctx, week: str, draft: bool, allow_over: bool, allow_under: bool, allow_clipped: bool,
             allow_stale_take: bool,
             edition: str | None) -> None:
    """Assemble WEEK's recordings into onair.wav (exactly the slot) and podcast.mp3, tagged.

    The MP3 carries ID3v2.3 with chapters and the cover, the WAV BWF bext and LIST/INFO.

    \b
    Example:
      radio assemble 2026-W47 --draft
      radio assemble 2026-W47 --draft --edition fr
    """
    from radio.asrun import read
    from radio.build import run_stage
    from radio.stages import Options
    from radio.summary import loudness_lines
    for s in each_edition(c, edition):
        announce(c, s)
        say_dropped(c, s, week)
        run_stage(s, week, "assemble", Options(draft=draft, allow_over=allow_over, allow_under=allow_under,
                                               allow_clipped=allow_clipped, allow_stale_take=allow_stale_take,
                                               progress=ProgressView(c).item))
        for line in loudness_lines(s, read(s, week)):  # type: ignore[arg-type]
            c.say(line)


@cli.command(hidden=True)
@week_arg
@edition_option
@pass_ctx
def tag(c: Ctx, week: str, edition: str | None) -> None:
    """Tagging is the last step of `radio assemble`: this says what the masters carry, and changes nothing.

    \b
    Example:
      radio tag 2026-W47
    """
    from radio.asrun import read
    from radio.errors import RadioError
    from radio.tags import written
    click.echo("warning: `radio tag` is part of `radio assemble` now; the old command will go", err=True)
    for s in each_edition(c, edition):
        announce(c, s)
        built = read(s, week)
        if built is None:
            raise RadioError(f"no masters for {week} yet", where=s.out_dir(week),
                             fix=f"run `radio assemble {week}` (it tags them)")
        ep = written(s, week)
        c.say(f"tagged {built.podcast.relative_to(c.station.root)}: {ep.title}, {len(ep.chapters)} chapters")
        c.say(f"tagged {built.onair.relative_to(c.station.root)}: bext and LIST/INFO")


@cli.command()
@week_arg
@audio_options("Fill missing recordings with read-throughs, and publish the draft.")
@edition_option
@pass_ctx
@leak_checked
def build(c: Ctx, week: str, draft: bool, allow_over: bool, allow_under: bool, allow_clipped: bool,
          allow_stale_take: bool, edition: str | None) -> None:
    """Run WEEK's stages in order (script, assemble, run sheet, publish), skipping what has not changed.

    Without --edition every edition is built, each on its own and each incremental.

    \b
    Example:
      radio build 2026-W47 --draft
      radio build 2026-W47 --draft --edition fr
    """
    from radio.stages import Options
    from radio.build import build as run_build
    from radio.rundown.model import rundown_path
    for s in each_edition(c, edition):
        announce(c, s)
        say_dropped(c, s, week)
        view = ProgressView(c)
        result = run_build(s, week, Options(draft=draft, allow_over=allow_over, allow_under=allow_under,
                                            allow_clipped=allow_clipped, allow_stale_take=allow_stale_take,
                                            progress=view.item), view.stage)
        if result.planned:
            c.say(f"planned {rundown_path(s, week).relative_to(s.root)} from the verified reports")
        for line in result.summary:
            c.say(line)


# --- publish -----------------------------------------------------------------------------------------

@cli.command()
@click.argument("week", required=False, callback=lambda ctx, param, v: Week(v) if v else None)
@click.option("--draft", is_flag=True, help="Publish a draft build (synthesized voices).")
@renamed("--allow-draft", "draft", "--draft", flag=True)
@click.option("--all", "every", is_flag=True,
              help="Publish every published week again and make every page anew (the same bytes).")
@click.option("--to", "to", multiple=True, metavar="TARGET",
              help="Then upload feeds/ there: a target named in [publish] or s3://bucket/prefix, sftp://host/path, "
                   "/a/directory (repeatable; default: every target in [publish], if any).")
@edition_option
@pass_ctx
@leak_checked
def publish(c: Ctx, week: str | None, draft: bool, every: bool, to: tuple[str, ...], edition: str | None
            ) -> None:
    """Publish WEEK into feeds/<show>/: media, transcript, chapters, episode page, and the feeds and pages that
    list it (nothing else is rewritten); then upload feeds/ to each hosting target (media first, feeds last,
    only what changed).

    \b
    Example:
      radio publish 2026-W47
      radio publish --all
      radio publish 2026-W47 --to s3://radio-feeds/podcast
    """
    if not week and not every:
        raise click.UsageError("name a WEEK (e.g. 2026-W47), or pass --all")
    from radio.build import run_stage
    from radio.cli.hosting import upload_all
    from radio.publish import publish_all
    from radio.publish.archive import one_scan
    from radio.stages import Options
    with one_scan():  # the editions share the desk's files: each week's are looked at once
        for s in each_edition(c, edition):
            announce(c, s)
            if every:
                result = publish_all(s, allow_draft=draft)
                if result is None:
                    c.say(f"nothing published yet in {s.config.show.slug}")
                    continue
            else:
                say_dropped(c, s, week)
                result = run_stage(s, week, "publish", Options(draft=draft))
                c.say(f"published {result.page.relative_to(c.station.root)}")
            c.say(f"feed {result.feed.relative_to(c.station.root)}: {s.feed_url}")
    if to or c.station.full_config.publish.targets:
        upload_all(c, c.station, to)
