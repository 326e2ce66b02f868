"""The English catalogue, one module per area of the site; :mod:`mosu.i18n` merges them."""
