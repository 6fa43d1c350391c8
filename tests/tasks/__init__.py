"""Tests of the tasks stage."""
