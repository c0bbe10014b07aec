"""What each command does, one module per command, as plain functions that know nothing of
Click. Each takes its options as values and an `Outcome` that prints its lines as they
happen; `cli.py` only wires Click to them."""
