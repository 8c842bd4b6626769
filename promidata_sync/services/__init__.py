"""Services: the sync's logic. Actors, admin and commands call these."""
