"""The Swarm lab: docker-stack.yml on one node (this engine), Swarm's rolling update under the
probe, and what Traefik's swarm provider routes."""
