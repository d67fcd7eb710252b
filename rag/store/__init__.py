"""The index on disk: Chroma (only ``index`` touches it), the BM25 side, embedders and the writer lock."""
