"""What several benchmarks share: paths, options, the machine, result files, Markdown, timing,
the real datasets, and the ``ifan`` commands the experiment benchmarks run."""
