"""An HTTP server answering the part of Twilio's REST API 2010-04-01 that Townhall calls."""
