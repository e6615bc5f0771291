"""Browser glue: DOM, routing and start-up. Thin on purpose; the logic lives in app.channel."""
