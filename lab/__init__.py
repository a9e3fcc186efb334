"""zerodrop's lab: bring the stack up and down, roll replicas, probe and report (`python -m lab`)."""
