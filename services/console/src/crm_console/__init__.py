"""The CRM admin console: the platform's flows in a browser, over the services' public v1 APIs."""
