"""The world behind `ServicePlatform`: Docker's SDK and CLI, compose, and Traefik's API."""
