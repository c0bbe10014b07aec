"""The HTTP service (`handoff-brief serve`)."""
