"""The open vocabulary: every descriptor word of the data sets, and any other word or phrase placed in
the EQ space by a sentence-embedding model grounded in them (docs/vocabulary.md)."""
