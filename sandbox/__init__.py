"""Local stand-ins for Townhall's outside world (Twilio, SMTP) that speak the real protocols."""
