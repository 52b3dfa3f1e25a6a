"""The benchmarks ``scripts/bench`` runs: a harness and one module per benchmark."""
