"""Question sets, metrics, TREC runs, reports and the one evaluation runner (``policyqa eval``, 评测 tab)."""
