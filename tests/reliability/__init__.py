"""The reliability suite (docs/reliability.md): bad inputs, faults during training, hostile
files and fuzzed parsers."""
