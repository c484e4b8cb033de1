"""The coordinator: REST API, auth, rate limits and error mapping over the domain and store."""
