"""Manifests (ifan.manifest): loading, validation errors, overrides, paths, YAML."""
