"""One module per command group; each exposes ``COMMANDS``, collected by :func:`stormcheck.cli.build_cli`."""
