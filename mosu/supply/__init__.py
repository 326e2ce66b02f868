"""Key-element supply (要素供给): compute pools, corpus and model offers, voucher ledger."""
