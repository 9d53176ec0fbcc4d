"""The notices of each area: who is told what about its domain events (domain/notifications.py
puts them together)."""
