"""What a rollout did to traffic: the probe and its records, the write check, reports and the
timeline picture."""
