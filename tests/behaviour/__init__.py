"""The behaviour suite: the samples' generated workflows run under nektos/act (issue 13)."""
