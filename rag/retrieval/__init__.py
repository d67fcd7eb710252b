"""From a question to ranked chunks: query normalisation and expansion, follow-up rewriting, retrievers."""
