"""A click group whose subcommands are imported only when used, so a Pi without the cloud extra still works."""

import importlib

import click

# Which optional dependency group each top-level package (or composition module) needs; named in the error when it is
# missing.
_EXTRA_FOR = {"cloud": "cloud", "edge": "edge", "simulators": "edge", "eldercare.serve": "cloud",
              "eldercare.demo": "cloud"}


class LazyGroup(click.Group):
    """Subcommands given as `name -> ("module:attribute", short help)`, imported on first use."""

    def __init__(self, *args: object, lazy: dict[str, tuple[str, str]] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = dict(lazy or {})

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help from the table, so `--help` imports nothing heavy and works without optional extras.
        rows = [(name, self.lazy[name][1]) for name in sorted(self.lazy)]
        rows += [(name, cmd.get_short_help_str()) for name, cmd in sorted(self.commands.items())]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        module_name, attribute = self.lazy[cmd_name][0].split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            package = module_name.split(".")[0]
            if exc.name and exc.name.split(".")[0] == package:
                raise click.ClickException(f"'{cmd_name}' is not available in this version") from None
            extra = _EXTRA_FOR.get(module_name) or _EXTRA_FOR.get(package, package)
            raise click.ClickException(
                f"'{cmd_name}' needs the {extra} extra ({exc.name} is not installed): "
                f"pip install 'eldercare-monitor[{extra}]'"
            ) from None
        command = getattr(module, attribute)
        assert isinstance(command, click.Command)
        return command
