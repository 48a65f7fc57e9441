"""The demo company: a deterministic, realistic department for the first run and the benchmark."""
