"""The demo community: fictional organisations, models and filings written for mosu."""
