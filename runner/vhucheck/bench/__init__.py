"""vhucheck bench (docs/bench.md, docs/fuzzing.md), one module per
benchmark: suite, targets, fuzz, against; cli is the subcommand that
offers them. Nothing is imported here: each module imports what it uses.
"""
