"""The corpus catalogue (语料): data set cards, immutable versions, checked imports,
stored splits with a hidden test split, and contamination checks."""
