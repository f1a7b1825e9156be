"""Open311 GeoReport v2: the same reports, taken in and shown through the international standard.

`clients` (API keys), `services` (categories as service definitions), `statuses` (the workflow in
Open311 words), `query` (dates, the 90-day window, paging), `submit` (POST requests through the
ordinary intake), `comments` (POST servicerequestupdates), `idempotency` (retries), `media`
(fetching media_url safely), `service_requests` and `updates` (the read side), `formats` (JSON and
XML). The HTTP layer is `gusp.api.open311`. `outbound`: GUSP as the client of partners' servers.
"""
