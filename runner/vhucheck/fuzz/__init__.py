"""vhucheck fuzz (docs/fuzzing.md), one module per part:

    cli       the subcommand: options, and which mode runs
    engines   the fuzzers, the engines' builds, running libFuzzer or AFL++
    campaign  one campaign: build, run, triage, coverage, report
    triage    crashing inputs replayed, grouped by signature, minimized,
              each with its reproducer
    report    report.json, report.md, coverage.csv, edges.csv
    coverage  edges over time: the corpus replayed through afl-showmap
    emit      inputs as .vhu cases, by asking the C (vhu-fuzzcase)
    cases     --to-cases: a corpus as a suite of cases
    against   --against: black-box fuzzing of a real target through cases

Nothing is imported here: each module imports what it uses.
"""
