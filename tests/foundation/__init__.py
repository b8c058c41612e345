"""The plugin system (ifan.plugins, ifan.contract, ifan.scaffold) and what every command
shares (ifan.progress)."""
