"""SEC EDGAR XBRL: company facts, the ticker-to-CIK map, and the fundamentals mart built from them."""
