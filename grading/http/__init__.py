"""What the two Flask blueprints (api/ and web/) share: the request's database handle and model
state (request.py), the list pages' query schemas (list_args.py) and lead ids in URLs
(lead_urls.py). Nothing here decides anything: it reads a request and calls services."""
