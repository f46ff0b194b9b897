"""An HTTP server answering a small Stripe-like PaymentIntents API, for credit purchases."""
