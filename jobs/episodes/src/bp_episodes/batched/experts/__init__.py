"""Batched experts by task kind (one module each) and their registry."""
