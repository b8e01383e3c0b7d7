"""What every `vso` command that works on a project shares: the refusal outside one, its Dagster
instance, and the one way slices are named on the command line."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from ..core.base.errors import VSOError
from ..core.base.project import Project
from ..core.base.state import load_state
from .tables import out

if TYPE_CHECKING:
    import dagster as dg

USER_ERROR = 2


class ProjectCommand(click.Command):
    """A command that works on a project: refused, before anything is written, where there is none."""

    def invoke(self, ctx: click.Context):
        project = ctx.find_object(Project)
        project.require()
        load_state(project)  # a broken state.json is refused here, before a Dagster run would fail on it
        return super().invoke(ctx)


class VSOGroup(click.Group):
    """A user's mistake (a VSOError) is printed as its message and exits 2, never as a traceback."""
    command_class = ProjectCommand
    group_class = type  # subgroups (`vso hooks`) are VSOGroups too

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except VSOError as error:
            click.echo(str(error), err=True)
            ctx.exit(USER_ERROR)


def project_command(**settings) -> Callable[[Callable], click.Command]:
    """A stage's command, declared in its own module and added to `vso` by main."""
    return click.command(cls=ProjectCommand, **settings)


@contextmanager
def project_instance(project: Project) -> Iterator[dg.DagsterInstance]:
    """The project's Dagster instance. Dagster is imported here, by the commands that run work:
    its import is most of the time of a command that has nothing to do. Where runs execute on other
    machines, this machine's state.json first takes what they recorded there."""
    from ..core.base.config import load_config
    from ..lib.instance import open_instance
    from ..lib.naming import Naming
    from ..lib.run_records import catch_up

    with open_instance(project) as instance:
        if load_config(project).runs_in_clones:
            catch_up(project, instance, Naming())
        yield instance


class SliceID(click.ParamType):
    """A slice as a person names it (its ID, the name after its number, or its number), turned into
    its ID; a miss says which slice was meant. Completes slice IDs in the shell."""

    name = "slice"

    def convert(self, value, param, ctx) -> str:
        from ..core.base.slice_selection import resolve_slice_id

        return resolve_slice_id(load_state(_project_of(ctx))["slices"], value)

    def shell_complete(self, ctx, param, incomplete: str) -> list:
        from click.shell_completion import CompletionItem

        from ..core.base.names import short_name
        from ..core.base.slice_selection import in_id_order

        try:
            known = load_state(_project_of(ctx))["slices"]
        except VSOError:
            return []
        return [CompletionItem(sid) for sid in in_id_order(known)
                if sid.startswith(incomplete) or short_name(sid).startswith(incomplete)]


def _project_of(ctx: click.Context) -> Project:
    """The command's project; while the shell completes a word no command runs, so it is found here."""
    if (project := ctx.find_object(Project)) is not None:
        return project
    given = ctx.find_root().params.get("project_root")
    return Project.at(given) if given else (Project.find(".") or Project.at("."))


SLICE = SliceID()


verbose_option = click.option("--verbose", "-v", is_flag=True, help="Show Dagster's run logs.")


def _json_only(_ctx: click.Context, _param: click.Parameter, as_json: bool) -> bool:
    out.quiet = as_json
    return as_json


json_option = click.option("--json", "as_json", is_flag=True, callback=_json_only, is_eager=True,
                           help="Print the result as JSON on stdout, and nothing else there (progress and "
                                "warnings go to stderr).")


def slice_selection(verb: str, all_help: str) -> Callable[[Callable], Callable]:
    """`--slice-id SLICE` (repeatable) or `--all`, exactly one of them: the same on every command
    that works on several slices. A slice may be named short (SliceID)."""
    def check(ctx: click.Context, _param: click.Parameter, all_slices: bool) -> bool:
        if bool(ctx.params.get("slice_ids")) == all_slices:
            raise click.UsageError("give --slice-id SLICE (one or more) or --all")
        return all_slices

    def decorate(command: Callable) -> Callable:
        command = click.option("--all", "all_slices", is_flag=True, callback=check, help=f"{all_help.capitalize()}.")(
            command)
        return click.option("--slice-id", "slice_ids", type=SLICE, metavar="SLICE", multiple=True, is_eager=True,
                            help=f"A slice to {verb} (repeatable).")(command)

    return decorate


def one_slice(verb: str) -> Callable[[Callable], Callable]:
    """One slice, as `--slice-id SLICE` (the option every command that takes slices has) or, for
    short, as the command's argument."""
    def decorate(command: Callable) -> Callable:
        @functools.wraps(command)
        def given_once(*args, slice_arg: str | None, slice_id: str | None, **kwargs):
            given = {s for s in (slice_arg, slice_id) if s is not None}
            if len(given) != 1:
                raise click.UsageError("give one slice: --slice-id SLICE (or SLICE)")
            return command(*args, slice_id=given.pop(), **kwargs)

        given_once = click.argument("slice_arg", type=SLICE, metavar="[SLICE]", required=False)(given_once)
        return click.option("--slice-id", type=SLICE, metavar="SLICE", default=None,
                            help=f"The slice to {verb}: its ID, or the name or number in it (`auth`, `1`).")(given_once)

    return decorate
