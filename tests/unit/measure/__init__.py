"""Unit tests of zerodrop.measure."""
