"""Unit tests of zerodrop.lint."""
