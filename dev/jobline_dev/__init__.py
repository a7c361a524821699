"""Jobline's development kit: the local stack, development tokens, scratch databases and the
helpers the tests and benchmarks share. Installed in the development environment only; the
Lambda layer (`layers/shared`) never ships it."""
