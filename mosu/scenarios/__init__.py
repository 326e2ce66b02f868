"""Application scenarios (应用场景): what demand organisations need solved."""
