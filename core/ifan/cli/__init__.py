"""The ``ifan`` command: one module per subcommand, assembled in :mod:`ifan.cli.main`."""
