"""Unit tests of zerodrop.cli."""
