"""The ``ifan`` command's own subcommands over plugins and manifests (ifan.cli): tasks, plugins,
validate, schema, --version, --strict."""
