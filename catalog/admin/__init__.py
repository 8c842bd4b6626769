"""Admin of the catalog: suppliers (with the sync actions), categories, products, variants
and media.

The feed owns categories, products, variants, price tiers and media: a manual edit would be
overwritten by the next sync, so those pages are read-only. Suppliers can be renamed,
activated and deactivated, and synced by users who may operate syncs.

Every changelist costs a constant number of queries whatever its length, and stays fast on
100,000 products: related rows come through ``list_select_related``; counts and thumbnails
are read for the page's rows only (``common.PageAnnotatedAdmin``); the big tables skip the
unfiltered full count (``show_full_result_count = False``).
"""

from catalog.admin import media, products, rules, suppliers  # noqa: F401  (register the admins)
