"""Tests of Peach State Provisions: HTTP journeys plus checks of the decomposition files."""
