"""Industry words the ledger and the policies name (新能源, 生物医药), from ``data/industries.txt``.

The project ledger reads them as condition words and follow-up rewriting as a slot type;
the lists say nothing about how either uses them.
"""

from __future__ import annotations

from rag.lexicon import word_list

INDUSTRIES = word_list("industries")
# one alternation, longest first, so 新能源汽车 wins over 新能源: "新能源汽车|汽车零部件|…"
KNOWN_INDUSTRY = "|".join(sorted(INDUSTRIES, key=lambda w: (-len(w), w)))
