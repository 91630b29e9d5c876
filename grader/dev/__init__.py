"""Author tools: ``verify`` (stubs not started, solutions pass, every mutant diagnosed),
``bench`` (speed figures, never pass/fail) and ``demo`` (the reference against transformers on
the real weights)."""
