"""The three-node Swarm: Engine-26 node containers, their swarm, updates and node faults under
the probe."""
