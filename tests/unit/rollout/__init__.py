"""Unit tests of zerodrop.rollout."""
