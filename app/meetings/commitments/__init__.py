"""Commitments followed up: progress status, dated updates with evidence, reminders and the public tracker."""
