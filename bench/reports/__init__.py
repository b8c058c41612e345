"""Each benchmark's report: its findings and its Markdown, functions of its results alone, so
that ``--report-only`` rewrites a report from a results file and tests read one made up."""
