"""The benchmarks' own logic (bench/): the experiments' recipes and commands, the arithmetic and
words of their reports, on made-up results; nothing is trained or measured."""
