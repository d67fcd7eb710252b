"""新人入门: the responsibility map, the glossary and the document overviews, extracted from
the indexed chunks, and the aggregation answers ``PolicyQA.ask`` gives from them."""
